"""Rights requests (DSAR cases): intake, identity, the clock, assignment and outcome."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from privacy_portal import legal
from privacy_portal.legal import clock_paused_days

from .models_breach import (  # noqa: F401  (the breach models live beside, registered through this module)
    Breach,
    BreachAffected,
    BreachDataCategory,
    BreachNotification,
    BreachPeopleCategory,
    BreachTask,
)
from .models_public import MessageTemplate, PublicSubmission, VerificationCode  # noqa: F401

# Where a case without a due date (clock not started) sorts in the queue: after every real date.
SORT_WITHOUT_DUE_DATE = datetime.date(9999, 12, 31)


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
    # Filed on the public form: when the requester proved the email address is theirs (a code
    # sent to it), and an earlier request of the same right from that address (open, or
    # within legal.DUPLICATE_LOOKBACK_MONTHS) for the handler to weigh.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    possible_repeat_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

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
    # UK GDPR Art 12(4): a requester must be told of a refusal and its reasons before the end of
    # the time limit. The day they were told, and whether the refusal (its approval or that
    # letter) came after the due date: set once, by the service, when the DPO approves it.
    refusal_told_on = models.DateField("requester told of the refusal on", null=True, blank=True)
    refused_late = models.BooleanField(default=False, help_text="Refused after the time limit (Art 12(4))")
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
            # The public form's repeat check: the same verified email asking the same right.
            models.Index(
                fields=["requester_email", "right", "-received_on"],
                name="case_verified_email",
                condition=models.Q(email_verified_at__isnull=False),
            ),
            # The queue's order (soonest due first, cases without a due date last, exactly as
            # requests.selectors.cases.case_queue sorts), one index for open cases and one for closed:
            # a single index over both leads the planner to walk every closed case (they sort
            # first) to find the open ones.
            models.Index(
                Coalesce("due_on", models.Value(SORT_WITHOUT_DUE_DATE), output_field=models.DateField()),
                models.F("id"),
                condition=models.Q(closed_on__isnull=True),
                name="case_sort_open",
            ),
            models.Index(
                Coalesce("due_on", models.Value(SORT_WITHOUT_DUE_DATE), output_field=models.DateField()),
                models.F("id"),
                condition=models.Q(closed_on__isnull=False),
                name="case_sort_closed",
            ),
            # The DPO's dashboard: cases answered in the last twelve months, read from the index alone.
            models.Index(
                fields=["closed_on"],
                include=["id", "due_on", "received_on", "extended", "status"],
                condition=models.Q(status__in=["completed", "refused"]),
                name="case_answered",
            ),
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
            models.CheckConstraint(
                name="case_refused_late_is_a_refusal",
                condition=models.Q(refused_late=False) | models.Q(status="refused"),
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
        return self.requester_name or (self.customer.full_name if self.customer else "")


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
        """The days that do not count towards the time limit, once the answer is in."""
        return clock_paused_days(self.started_on, self.ended_on) if self.ended_on else None


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
    # Downloads by the requester through the secure page (an export: at most
    # legal.EXPORT_PUBLIC_DOWNLOADS); each is also an entry in the access log.
    public_downloads = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.case_id}"


class ExportRequest(models.Model):
    """A request to build a case's export: the transactional outbox of that background work.

    Written in the same transaction as the handler's click and sent to the broker only once
    that commits, so the row exists whenever the work was asked for. A broker outage or a
    worker killed mid-build delays the export but never loses it: the periodic sweep
    (requests.services.export.export_requests_sweep) sends again any request that has not
    started in time, and gives up, saying so on the case page, after EXPORT_MAX_ATTEMPTS.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being built"
        DONE = "done", "Built"
        FAILED = "failed", "Not built"

    PENDING_STATUSES = (Status.QUEUED, Status.RUNNING)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="export_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # When it was last handed to the broker, or tried to be (the sweep's clock).
    sent_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="builds started")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    document = models.ForeignKey(CaseDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why it was not built: a fixed message, never personal data.
    failure = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            # The sweep: pending requests by when they were last sent.
            models.Index(
                fields=["sent_at"], name="exportrequest_pending", condition=models.Q(status__in=["queued", "running"])
            ),
            models.Index(fields=["case", "-requested_at"], name="exportrequest_case"),
        ]
        constraints = [
            # A second click while one is still queued is the same request (it will read the data when it starts).
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status="queued"), name="exportrequest_one_queued_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"Export of {self.case_id} requested {self.requested_at:%Y-%m-%d %H:%M}: {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING_STATUSES


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

    class Meta:
        # The case page's notes, newest first, a keyset page at a time.
        indexes = [models.Index(fields=["case", "-created_at", "-id"], name="casenote_case_newest")]

    def __str__(self) -> str:
        return f"Note on {self.case_id} by {self.author_id}"


class Complaint(models.Model):
    """A complaint about how personal data or a request was handled (DPA 2018 s164A)."""

    class Category(models.TextChoices):
        REQUEST_HANDLING = "request_handling", "Handling of a rights request"
        MARKETING = "marketing", "Marketing after opting out"
        DISCLOSURE = "disclosure", "A disclosure"
        ACCURACY = "accuracy", "Data accuracy"
        SECURITY = "security", "Security or breach"
        CALL_RECORDING = "call_recording", "Call recording"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INVESTIGATING = "investigating", "Investigating"
        RESPONDED = "responded", "Responded"
        REVIEW_REQUESTED = "review_requested", "Internal review requested"
        REVIEW_CONCLUDED = "review_concluded", "Review concluded"
        ESCALATED = "escalated", "Escalated to the ICO"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=16, unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="complaints"
    )
    complainant_name = models.CharField(max_length=200, blank=True)
    complainant_email = models.EmailField(blank=True)
    complainant_phone = models.CharField(max_length=20, blank=True)
    complainant_address = models.CharField(max_length=400, blank=True)
    # Someone complaining for another person (the public form asks): who it is about, and how
    # the complainant is related to them. Blank when people complain for themselves.
    on_behalf_of = models.CharField(max_length=200, blank=True)
    complainant_relationship = models.CharField(max_length=100, blank=True)
    remedy_sought = models.TextField(blank=True, help_text="What the complainant wants us to do.")
    received_on = models.DateField()
    channel = models.CharField(max_length=12, choices=Case.Channel.choices)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField()
    cases = models.ManyToManyField(Case, blank=True, related_name="complaints")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="handled_complaints"
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="logged_complaints"
    )
    acknowledge_by = models.DateField(
        help_text=f"{legal.COMPLAINT_ACKNOWLEDGE_DAYS} days beginning with the day of receipt (s164A)."
    )
    acknowledged_on = models.DateField(null=True, blank=True)
    response_due_on = models.DateField(null=True, blank=True, help_text="Target set by the DPO.")
    responded_on = models.DateField(null=True, blank=True)
    response_summary = models.TextField(blank=True)
    review_requested_on = models.DateField(null=True, blank=True)
    review_concluded_on = models.DateField(null=True, blank=True)
    review_outcome = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(m2m_fields=[cases])

    class Meta:
        indexes = [
            models.Index(
                fields=["acknowledge_by"], name="complaint_ack_due", condition=models.Q(acknowledged_on__isnull=True)
            ),
            models.Index(fields=["handler", "status"], name="complaint_handler_status"),
        ]
        constraints = [
            models.CheckConstraint(
                name="complaint_customer_or_complainant",
                condition=models.Q(customer__isnull=False) | ~models.Q(complainant_name=""),
                violation_error_message="A complaint needs a customer or the complainant's name.",
            ),
        ]
        permissions = [
            ("work_complaint", "Can work a complaint (acknowledge, investigate, respond)"),
            ("escalate_complaint", "Can record the ICO's involvement"),
            ("view_complaint_status", "Can see the status of complaints it logged"),
            ("download_bundle", "Can download a complaint's case bundle"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("requests:complaint", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class ComplaintUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Complaint, on_delete=models.CASCADE)


class ComplaintGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Complaint, on_delete=models.CASCADE)


class IcoCase(models.Model):
    """The ICO's involvement in a complaint: its reference, caseworker, questions and outcome."""

    class Method(models.TextChoices):
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"
        PHONE = "phone", "Phone"
        PORTAL = "portal", "ICO portal"

    class Outcome(models.TextChoices):
        NO_FURTHER_ACTION = "nfa", "No further action"
        RECOMMENDATIONS = "recommendations", "Recommendations"
        REPRIMAND = "reprimand", "Reprimand"
        ENFORCEMENT = "enforcement", "Enforcement"

    complaint = models.OneToOneField(Complaint, on_delete=models.CASCADE, related_name="ico_case")
    ico_reference = models.CharField(max_length=40)
    contacted_on = models.DateField()
    contact_method = models.CharField(max_length=10, choices=Method.choices)
    caseworker = models.CharField(max_length=200, blank=True)
    requested = models.TextField(help_text="What the ICO asked for.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_on = models.DateField(null=True, blank=True)
    outcome_notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "ICO case"

    def __str__(self) -> str:
        return self.ico_reference


class IcoDeadline(models.Model):
    """One deadline the ICO set, and when we answered it."""

    ico_case = models.ForeignKey(IcoCase, on_delete=models.CASCADE, related_name="deadlines")
    what = models.CharField(max_length=500)
    due_on = models.DateField()
    answered_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["due_on"], name="ico_deadline_open", condition=models.Q(answered_on__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.what} by {self.due_on}"


class CaseCorrespondence(models.Model):
    """A letter, email or call in or out on a rights request or a complaint (part of the case
    file, kept under the register's case-file retention, not the 6-month customer-service rule)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "In"
        OUTBOUND = "outbound", "Out"

    class Medium(models.TextChoices):
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"
        SECURE_PAGE = "web", "Secure page"

    class Delivery(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENT = "sent", "Sent"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Not sent"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="correspondence")
    complaint = models.ForeignKey(
        Complaint, null=True, blank=True, on_delete=models.CASCADE, related_name="correspondence"
    )
    occurred_on = models.DateField()
    direction = models.CharField(max_length=10, choices=Direction.choices)
    medium = models.CharField(max_length=10, choices=Medium.choices)
    # Hand-recorded summaries are kept under 2,000 characters by their service; a message the
    # portal sent is recorded whole (subject and body as sent), hence the larger column.
    summary = models.CharField(max_length=20000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    # Attachment in private storage (same upload rules as identity documents); blank if none.
    attachment_path = models.CharField(max_length=300, blank=True)
    attachment_type = models.CharField(max_length=50, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    # Messages the portal sent itself (requests.services.messages): when, from which template
    # version, and what the mail server said. Blank for correspondence recorded by hand.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, blank=True)
    template_key = models.CharField(max_length=32, blank=True)
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # The Message-ID header the portal gave the message (also sent to SendGrid as a custom arg),
    # by which the provider's bounce and drop events find it. Blank for hand-recorded items.
    message_id = models.CharField(max_length=100, blank=True)
    # When it was recorded to be sent (its step committed then): the outbox sweep's age.
    queued_at = models.DateTimeField(null=True, blank=True)
    # Written by the requester on the secure page (not by a member of staff).
    from_requester = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "case correspondence"
        constraints = [
            models.CheckConstraint(
                name="correspondence_one_parent",
                condition=(models.Q(case__isnull=False) & models.Q(complaint__isnull=True))
                | (models.Q(case__isnull=True) & models.Q(complaint__isnull=False)),
            ),
            models.UniqueConstraint(
                fields=["message_id"], condition=~models.Q(message_id=""), name="correspondence_message_id_unique"
            ),
        ]
        indexes = [
            # The outbox sweep: messages still waiting to be sent.
            models.Index(fields=["id"], condition=models.Q(delivery="queued"), name="correspondence_queued"),
        ]

    def __str__(self) -> str:
        return f"{self.get_medium_display()} {self.get_direction_display().lower()} {self.occurred_on}"


class ReminderKey(models.Model):
    """A reminder already sent, by key ("case:7:before2:2026-04-03", "complaint:12:ack:before7:
    2026-04-03", "breach:3:24:..."): the one record behind requests.services.remind.remind_once,
    so each reminder goes once per threshold however often, or however many copies of, a job run.

    A rights request's reminders also point at their case: they are part of its file (the
    person's export lists them, and they go with the case when it is deleted)."""

    key = models.CharField(max_length=100, unique=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    sent_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.key

    @property
    def threshold(self) -> str:
        """A case reminder's threshold and the due date it was about ("before7:2026-04-03")."""
        return self.key.removeprefix(f"case:{self.case_id}:") if self.case_id else self.key
