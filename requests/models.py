"""Rights requests (DSAR cases): intake, identity, the clock, assignment and outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords


class ReferenceCounter(models.Model):
    """The last number issued per prefix and year (R-2026-00042). Not personal data."""

    prefix = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="refcounter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class Case(models.Model):
    class Right(models.TextChoices):
        INFORMED = "informed", "Be informed (Art 13-14)"
        ACCESS = "access", "Access (Art 15)"
        RECTIFICATION = "rectification", "Rectification (Art 16)"
        ERASURE = "erasure", "Erasure (Art 17)"
        RESTRICTION = "restriction", "Restriction (Art 18)"
        PORTABILITY = "portability", "Portability (Art 20)"
        OBJECTION = "objection", "Objection (Art 21)"

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        POST = "post", "Post"
        WEB_FORM = "web_form", "Web form"
        IN_PERSON = "in_person", "In person"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        AWAITING_IDENTITY = "awaiting_identity", "Awaiting identity"
        IN_PROGRESS = "in_progress", "In progress"
        AWAITING_CLARIFICATION = "awaiting_clarification", "Awaiting clarification"
        AWAITING_SIGNOFF = "awaiting_signoff", "Awaiting DPO sign-off"
        COMPLETED = "completed", "Completed"
        REFUSED = "refused", "Refused"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Identity(models.TextChoices):
        NOT_REQUESTED = "not_requested", "Not requested"
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Evidence received"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"

    class Signoff(models.TextChoices):
        REFUSAL = "refusal", "Refusal"
        ERASURE = "erasure", "Erasure"
        EXTENSION = "extension", "Extension"

    class RefusalGround(models.TextChoices):
        UNFOUNDED = "unfounded", "Manifestly unfounded"
        EXCESSIVE = "excessive", "Manifestly excessive"
        EXEMPTION = "exemption", "Exemption (DPA 2018 Sch 2-4)"
        IDENTITY = "identity", "Identity could not be confirmed"

    OPEN_STATUSES = (
        Status.RECEIVED,
        Status.AWAITING_IDENTITY,
        Status.IN_PROGRESS,
        Status.AWAITING_CLARIFICATION,
        Status.AWAITING_SIGNOFF,
    )

    reference = models.CharField(max_length=16, unique=True, editable=False)
    right = models.CharField(max_length=16, choices=Right.choices)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    received_on = models.DateField()
    # Cases from one letter asking for several rights share a letter id.
    letter_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    # The requester's details when no customer matches (or when someone acts for the customer).
    requester_name = models.CharField(max_length=200, blank=True)
    requester_email = models.EmailField(blank=True)
    requester_phone = models.CharField(max_length=20, blank=True)
    requester_address = models.CharField(max_length=400, blank=True)
    acting_for_other = models.BooleanField(default=False)
    representative_relationship = models.CharField(max_length=100, blank=True, help_text="Solicitor, relative…")
    authority_note = models.CharField(max_length=500, blank=True, help_text="Evidence of authority received")
    description = models.TextField(blank=True, help_text="What the requester asked for, in brief.")

    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    identity = models.CharField(max_length=16, choices=Identity.choices, default=Identity.NOT_REQUESTED)
    identity_requested_on = models.DateField(null=True, blank=True)
    identity_received_on = models.DateField(null=True, blank=True)
    identity_decided_at = models.DateTimeField(null=True, blank=True)
    identity_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # The clock: the start, the days stopped, and the due date derived from them.
    clock_started_on = models.DateField(null=True, blank=True)
    stopped_days = models.PositiveIntegerField(default=0)
    extended = models.BooleanField(default=False)
    extension_reason = models.TextField(blank=True)
    extension_notified_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, help_text="Derived by the service; never typed by hand.")
    original_due_on = models.DateField(null=True, blank=True)

    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="handled_cases"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="logged_cases"
    )

    pending_signoff = models.CharField(max_length=12, choices=Signoff.choices, blank=True)
    signoff_reason = models.TextField(blank=True)
    signoff_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refusal_ground = models.CharField(max_length=12, choices=RefusalGround.choices, blank=True)
    outcome = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["due_on", "id"], name="case_open_due", condition=models.Q(closed_on__isnull=True)),
            models.Index(fields=["handler", "due_on", "id"], name="case_handler_due"),
            models.Index(fields=["status", "due_on"], name="case_status_due"),
            models.Index(fields=["logged_by", "-received_on"], name="case_logged_by"),
        ]
        constraints = [
            models.CheckConstraint(
                name="case_customer_or_requester",
                condition=models.Q(customer__isnull=False) | ~models.Q(requester_name=""),
                violation_error_message="A case needs a customer or the requester's name.",
            ),
            models.CheckConstraint(
                name="case_refused_has_ground",
                condition=~models.Q(status="refused") | ~models.Q(refusal_ground=""),
            ),
        ]
        permissions = [
            ("assign_case", "Can assign cases to handlers"),
            ("signoff_case", "Can sign off refusals, erasures and extensions"),
            ("work_case", "Can work a case (identity, clarification, fulfilment)"),
            ("view_case_status", "Can see the status of cases it logged"),
            ("view_queue", "Can see a queue of cases (its own, or all with view_case)"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("requests:case", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def clock_stopped(self) -> bool:
        return self.status == self.Status.AWAITING_CLARIFICATION

    def days_left(self, today=None) -> int | None:
        if self.due_on is None:
            return None
        return (self.due_on - (today or timezone.localdate())).days

    @property
    def requester_display(self) -> str:
        return self.requester_name or (self.customer.full_name if self.customer_id else "")


class CaseUserObjectPermission(UserObjectPermissionBase):
    """guardian's direct foreign-key permission table for cases (the generic one is slow at volume)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class ClockStop(models.Model):
    """A period when the clock stood still (waiting for the requester to clarify)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stops")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    question = models.CharField(max_length=1000, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(ended_on__isnull=True), name="clockstop_one_open_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.started_on} to {self.ended_on or 'now'}"

    @property
    def days(self) -> int | None:
        return (self.ended_on - self.started_on).days if self.ended_on else None


class CaseDocument(models.Model):
    """A document on a case, kept in private storage (never under a public URL)."""

    class Kind(models.TextChoices):
        IDENTITY = "identity", "Identity evidence"
        AUTHORITY = "authority", "Evidence of authority"
        CORRESPONDENCE = "correspondence", "Correspondence"
        EXPORT = "export", "Access export"
        CERTIFICATE = "certificate", "Certificate of erasure"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Path relative to PRIVATE_STORAGE_ROOT; blank once the file is deleted.
    path = models.CharField(max_length=300, blank=True)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deletion_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.case_id}"


class CaseTask(models.Model):
    """A piece of work on a case, e.g. telling a recipient about a rectification (Art 19)."""

    class Kind(models.TextChoices):
        ART19_NOTIFY = "art19", "Tell a recipient (Art 19)"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(max_length=300)
    recipient_id = models.BigIntegerField(null=True, blank=True, help_text="customers.Recipient id for Art 19")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.title


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Note on {self.case_id} by {self.author_id}"


class ReminderSent(models.Model):
    """One reminder per case per threshold, however often the job runs."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reminders")
    threshold = models.CharField(max_length=20)
    sent_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "threshold"], name="reminder_once")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.threshold}"
