"""Cross-cutting models: staff accounts, the record of scheduled job runs, the access log,
the register of processing activities and the archive of privacy notice versions."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """A member of staff. Each has at most one role; the role's group carries its permissions."""

    class Role(models.TextChoices):
        AGENT = "agent", "Customer-care agent"
        HANDLER = "handler", "Privacy case handler"
        DPO = "dpo", "Data protection officer"
        AUDITOR = "auditor", "Auditor"
        ITADMIN = "itadmin", "IT administrator"

    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    access_ends_on = models.DateField(
        null=True,
        blank=True,
        help_text="Last day this account may sign in (required for auditors: the end of the engagement).",
    )

    # Four eyes: an account that can see customer data signs in only once a DPO other than the
    # IT administrator who set it up has approved it (separation of duties).
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="approved_accounts"
    )

    # Passwords and sign-in times are not history: they would only add secrets and noise.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        permissions = [
            ("use_portal", "Can sign in to the portal"),
            ("manage_staff", "Can manage staff accounts and roles"),
            ("break_glass", "Can open a customer outside own cases, giving a reason (flagged)"),
            ("search_history", "Can search the change history of every record"),
            ("approve_staff", "Can approve staff accounts that see customer data"),
            ("review_break_glass", "Can record the review of a break-glass opening"),
            # "view_" so the auditor's read-everything role includes it.
            ("view_promise_report", "Can read and download the promise report"),
            # Not "view_": the DPO's alone, not the auditor's.
            ("summarise_promises", "Can have the promise report summarised now"),
        ]
        constraints = [
            models.CheckConstraint(
                name="auditor_has_end_date",
                condition=~models.Q(role="auditor") | models.Q(access_ends_on__isnull=False),
                violation_error_message="An auditor account needs the end date of its engagement.",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # Roles whose holders see customer data: their accounts need a DPO's approval.
    DATA_ROLES = ("agent", "handler", "dpo", "auditor")

    @property
    def awaiting_approval(self) -> bool:
        return self.role in self.DATA_ROLES and self.approved_at is None

    @property
    def access_has_ended(self) -> bool:
        return self.access_ends_on is not None and timezone.localdate() > self.access_ends_on

    def days_of_access_left(self, today: datetime.date | None = None) -> int | None:
        if self.access_ends_on is None:
            return None
        return (self.access_ends_on - (today or timezone.localdate())).days


class JobRun(models.Model):
    """One run of a scheduled or background job: what ran, when, and what it reported.

    Append-only operational record (no personal data), so the DPO can see that the
    nightly jobs actually ran.
    """

    class Outcome(models.TextChoices):
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name", "-started_at"], name="jobrun_name_started")]

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M}"


GENESIS_HASH = "0" * 64


def free_text_commitment(salt: bytes, text: str) -> str:
    """SHA-256 over a 32-byte random salt and the text: what the chain covers instead of it."""
    return hashlib.sha256(salt + text.encode()).hexdigest()


class AccessEventQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if any(getattr(o, "_new_reason", "") for o in objs):
            # bulk_create skips save(), which is what sends free text to its side table.
            raise ValueError("Access events with free text are created one at a time, not in bulk.")
        return super().bulk_create(objs, *args, **kwargs)


class AccessEvent(models.Model):
    """One read of personal data (or one scrub of it): who, when, what, from where, and why.

    Append-only and tamper-evident: it holds ids and field names, never personal values, so
    erasure never needs to touch it. A request inserts its entry unchained (`hash` null), as
    fast as any insert; the single chainer (`audit.chain_pending`, every few seconds) gives
    each new entry its place in the chain (`chain_seq`) and a SHA-256 hash over the entry
    before it and its own content (verify with `manage.py verify_audit_log`). On PostgreSQL a
    trigger refuses every UPDATE and DELETE except the chainer filling in the three chain
    columns of a not-yet-chained entry. Not a tracked (history) model for that reason.
    """

    class Action(models.TextChoices):
        VIEW_CUSTOMER = "view_customer", "Opened a customer record"
        SEARCH = "search", "Searched customers"
        VIEW_TRANSCRIPT = "view_transcript", "Read a call transcript"
        VIEW_CALLS = "view_calls", "Listed a customer's calls"
        VIEW_PURCHASES = "view_purchases", "Listed a customer's purchases"
        EDIT_FORM = "edit_form", "Opened a customer's edit form"
        EXPORT = "export", "Downloaded an export"
        VIEW_DISCLOSURES = "view_disclosures", "Listed disclosures of customer data"
        VIEW_CASE = "view_case", "Opened a case or complaint"
        VIEW_CORRESPONDENCE = "view_correspondence", "Listed a customer's correspondence"
        VIEW_HISTORY = "view_history", "Read a record's change history"
        BREAK_GLASS = "break_glass", "Opened a customer outside own cases (break-glass)"
        SCRUB = "scrub", "Scrubbed personal values (erasure or retention)"
        VIEW_BREACH_AFFECTED = "view_breach_affected", "Listed a breach's affected customers"
        VIEW_BREACH_REPORT = "view_breach_report", "Read a breach's ICO report"
        # No personal data read: the entry records the SHA-256 of a promise report handed out
        # (details: sha256, format, period), so the report can later be shown unaltered.
        PROMISE_REPORT = "promise_report", "Generated a promise report"
        # The requester's own reads through the secure page (no member of staff: `user` is
        # null and details["actor"] is REQUESTER_ACTOR).
        REQUESTER_VIEW = "requester_view", "The requester opened their secure page"
        REQUESTER_DOWNLOAD = "requester_download", "The requester downloaded their export"
        # The dialler's pre-dial check of a number (no member of staff: `user` is null,
        # details["actor"] is "dialler", the object the token that asked; result_ids the
        # customers holding the number, whose records were read; never the number).
        DIALLER_SCREEN = "dialler_screen", "The dialler screened a number before a call"
        # The list of inbound text messages to answer (result_ids: the customers they are linked to).
        VIEW_INBOUND_SMS = "view_inbound_sms", "Listed inbound text messages"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Null for the system's own entries (nightly retention scrubbing).
    user = models.ForeignKey(
        "privacy_portal.User", null=True, blank=True, on_delete=models.PROTECT, related_name="access_events"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    # For searches: the ids of the customers the search returned (never the search words).
    result_ids = models.JSONField(default=list, blank=True)
    search_kind = models.CharField(max_length=16, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Free text (the break-glass reason) never lives in this append-only row: it sits in
    # AccessEventText, which erasure can redact; the row keeps only its salted SHA-256
    # commitment, and the chain covers that. Empty when the entry has no free text.
    reason_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Break-glass and other accesses the DPO must look at.
    flagged = models.BooleanField(default=False)
    # Scrub entries: which tables and fields, and how many rows (never the values).
    details = models.JSONField(default=dict, blank=True)
    # Filled in by the chainer, never by the request that writes the entry: its position in
    # the chain (in the order the chainer saw entries committed, which is not always id order),
    # the hash of the entry before it and its own hash. Null while the entry is pending.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # The free text given to a new entry (the `reason` setter), until save() sends it to the side
    # table. An annotation only, not a field: unset on entries read from the database.
    _new_reason: str

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        indexes = [
            # The chainer's work list: entries not chained yet, oldest id first.
            models.Index(fields=["id"], name="access_pending", condition=models.Q(hash__isnull=True)),
            models.Index(fields=["customer_id", "-at"], name="access_customer_at"),
            models.Index(fields=["user", "-at"], name="access_user_at"),
            models.Index(fields=["-at"], name="access_flagged_at", condition=models.Q(flagged=True)),
            # The promise report's break-glass check and its "verify a report" look-up.
            models.Index(fields=["at"], name="access_break_glass_at", condition=models.Q(action="break_glass")),
            models.Index(fields=["at"], name="access_promise_report", condition=models.Q(action="promise_report")),
            # The dialler tokens page's "last used": each token's latest pre-dial check.
            models.Index(
                fields=["object_id", "-at"], name="access_dialler_token_at", condition=models.Q(action="dialler_screen")
            ),
            # The GIN index on result_ids (searches that returned a customer) is PostgreSQL-only:
            # created in migration 0006.
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.customer_id or ''} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Access events are append-only.")
        # A plain insert: no lock, no read of the chain's head (the chainer links it later).
        text = getattr(self, "_new_reason", "")
        if not text:
            super().save(*args, **kwargs)
            return
        # Free text never enters this row: its salted commitment does, the text goes beside it.
        salt = secrets.token_bytes(32)
        self.reason_digest = free_text_commitment(salt, text)
        with transaction.atomic():
            super().save(*args, **kwargs)
            AccessEventText.objects.create(event=self, text=text, salt=salt.hex())
        self._new_reason = ""

    def delete(self, *args, **kwargs):
        raise ValueError("Access events are append-only.")

    def content(self) -> dict:
        """What the hash covers: every field but the id and the hashes, in a canonical form."""
        at = self.at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
        return {
            "at": at,
            "user_id": self.user_id,
            "action": self.action,
            "customer_id": self.customer_id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "result_ids": list(self.result_ids or []),
            "search_kind": self.search_kind,
            "ip_address": self.ip_address,
            # The commitment to the free text, never the text (the key predates the side table:
            # an entry without free text hashes exactly as it did before).
            "reason": self.reason_digest,
            "flagged": self.flagged,
            "details": self.details or {},
        }

    @property
    def reason(self) -> str:
        """The free text given with this entry (the break-glass reason), from the side table;
        empty when there was none or once erasure has redacted it. Lists that show it
        select_related("free_text")."""
        if self.pk is None:
            return getattr(self, "_new_reason", "")
        text = self._free_text()
        return text.text if text is not None else ""

    @reason.setter
    def reason(self, text: str) -> None:
        # AccessEvent(reason=...) works as a field would; save() sends it to the side table.
        self._new_reason = text or ""

    @property
    def reason_redacted(self) -> bool:
        text = self._free_text()
        return text is not None and text.redacted_at is not None

    def _free_text(self) -> AccessEventText | None:
        if not self.reason_digest:
            return None  # no query for the entries that never had free text
        try:
            return self.free_text
        except AccessEventText.DoesNotExist:
            return None


class AccessEventText(models.Model):
    """The free text of one access-log entry (today: the reason given for a break-glass
    opening), kept outside the append-only, hash-chained row so that erasure can redact it.

    The entry holds `reason_digest = SHA-256(salt ‖ text)` and the chain covers that digest, so
    while the text is here it is bound to the entry (change one word and verification reports
    it). The salt is 32 random bytes per entry, stored here and destroyed when the text is
    redacted: afterwards the digest in the chain is a commitment nobody can open, so a guessed
    surname cannot be confirmed by hashing it (it would take guessing the 256-bit salt too). A
    keyed hash (one server secret) was not chosen: the key outlives every erasure, so whoever
    holds it could confirm guesses forever.

    Not a tracked (history) model on purpose: a history table would keep the very text that
    erasure must remove. Redaction is recorded instead by a chained scrub entry
    (`redaction_entry`, ids only). On PostgreSQL a trigger refuses every DELETE and every UPDATE
    but redaction, once (text changed or blanked, salt destroyed, the scrub entry named).
    """

    event = models.OneToOneField(AccessEvent, primary_key=True, on_delete=models.PROTECT, related_name="free_text")
    text = models.TextField(blank=True)
    # Hex of 32 random bytes (secrets.token_bytes); empty once redacted.
    salt = models.CharField(max_length=64, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    redaction_entry = models.ForeignKey(
        AccessEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    def __str__(self) -> str:
        return f"free text of access entry {self.event_id}"


class BreakGlassReview(models.Model):
    """The DPO's review of one break-glass opening (a handler opening a customer outside its
    own cases). The access-log entry is append-only, so its review lives here; the promise
    report's "every break-glass opening reviewed" check reads it. Ids only, no free text."""

    class Outcome(models.TextChoices):
        JUSTIFIED = "justified", "Justified"
        NOT_JUSTIFIED = "not_justified", "Not justified (taken up with the member of staff)"

    event = models.OneToOneField(AccessEvent, on_delete=models.PROTECT, related_name="review")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reviewed_by = models.ForeignKey("privacy_portal.User", on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"review of access entry {self.event_id}: {self.outcome}"


# --- Register of processing activities (UK GDPR Art 30) and the privacy notice archive ----


class LawfulBasis(models.TextChoices):
    """The six lawful bases of UK GDPR Art 6(1)."""

    CONSENT = "consent", "Consent (Art 6(1)(a))"
    CONTRACT = "contract", "Contract (Art 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art 6(1)(c))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art 6(1)(e))"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art 6(1)(f))"


class SpecialCategoryCondition(models.TextChoices):
    """The UK GDPR Art 9(2) conditions a mail-order business can rely on for sensitive data."""

    EXPLICIT_CONSENT = "explicit_consent", "Explicit consent (Art 9(2)(a))"
    VITAL_INTERESTS = "vital_interests", "Vital interests, consent impossible (Art 9(2)(c))"
    MADE_PUBLIC = "made_public", "Made public by the customer (Art 9(2)(e))"
    LEGAL_CLAIMS = "legal_claims", "Legal claims (Art 9(2)(f))"
    SUBSTANTIAL_PUBLIC_INTEREST = (
        "substantial_public_interest",
        "Substantial public interest, DPA 2018 Sch 1 Part 2 (Art 9(2)(g))",
    )


class ProcessingActivity(models.Model):
    """One entry of the register of processing activities (UK GDPR Art 30(1)).

    The single source of the "supplementary information" of every access response
    (Art 15(1)-(2)): see privacy_portal.services.register.supplementary_information.
    """

    name = models.CharField(max_length=200, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the register page.")
    purpose = models.TextField()
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis)
    lawful_basis_detail = models.TextField(
        blank=True, help_text="Why the basis applies (the legitimate interest, the law, the contract)."
    )
    special_category_condition = models.CharField(
        max_length=32, choices=SpecialCategoryCondition, blank=True, help_text="Only if sensitive data."
    )
    data_subjects = models.TextField("categories of people")
    data_categories = models.TextField("categories of personal data")
    source = models.TextField(help_text="Where the data comes from (Art 14(2)(f), Art 15(1)(g)).")
    recipients = models.ManyToManyField("customers.Recipient", blank=True, related_name="processing_activities")
    recipients_detail = models.TextField(blank=True, help_text="Other recipients or categories of recipient.")
    retention_period = models.CharField(max_length=200)
    retention_trigger = models.CharField(max_length=300, help_text="What starts the retention period.")
    transfers = models.TextField("international transfers", blank=True, help_text="Countries outside the UK, if any.")
    transfer_safeguards = models.TextField(blank=True, help_text="Adequacy, UK IDTA, or EU SCCs with the UK Addendum.")
    security_measures = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[recipients], excluded_fields=["updated_at"])

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "processing activities"
        constraints = [
            models.CheckConstraint(
                name="activity_transfers_have_safeguards",
                condition=models.Q(transfers="") | ~models.Q(transfer_safeguards=""),
                violation_error_message="Name the safeguards for the international transfers.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("register_activity", args=[self.pk])


class PrivacyNoticeVersion(models.Model):
    """A published version of the privacy notice, kept as the notice promises ("We will also
    keep prior versions of this Privacy Notice in an archive for review"). Preference
    changes name the version the customer was shown (PreferenceChange.notice_version)."""

    label = models.CharField(max_length=40, unique=True, help_text="As recorded with preference changes, e.g. 2026-06.")
    effective_on = models.DateField(unique=True, help_text="The day this version took effect.")
    text = models.TextField()
    summary_of_changes = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_on"]

    def __str__(self) -> str:
        return f"Privacy notice {self.label}"

    def get_absolute_url(self) -> str:
        return reverse("notice_version", args=[self.pk])
