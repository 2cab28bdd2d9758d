"""Customers, their marketing preferences, the suppression list, calls and correspondence,
purchases. Every model is tracked by django-simple-history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Lower
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

REFERENCE_PREFIX = "C-"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone"
    POST = "post", "Post"


class Purpose(models.TextChoices):
    DIRECT_MARKETING = "direct_marketing", "Direct marketing"
    PERSONALISED_ADS = "personalised_ads", "Personalised online advertising"
    SENSITIVE_SHARING = "sensitive_sharing", "Sharing sensitive data with partners"


# Direct marketing is per channel; the other purposes are not tied to a channel.
CHANNEL_PURPOSES = {Purpose.DIRECT_MARKETING}


def preference_label(purpose: str, channel: str) -> str:
    """'Direct marketing by post', 'Direct marketing by SMS', 'Personalised online advertising'."""
    if not channel:
        return Purpose(purpose).label
    return f"{Purpose(purpose).label} by {Channel(channel).label if channel == Channel.SMS else channel}"


class Customer(models.Model):
    title = models.CharField(max_length=20, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    # Stored lower-cased (normalised by the service); blank when we have none.
    email = models.EmailField(max_length=254, blank=True)
    # E.164 (+447700900123), parsed with phonenumbers; blank when we have none.
    phone = models.CharField(max_length=20, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True)
    # Normalised UK postcode: upper case, one space before the inward code ("SW1A 1AA").
    postcode = models.CharField(max_length=8, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)

    account_opened_on = models.DateField(default=timezone.localdate)
    last_order_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # State flags set by rights-request work.
    processing_restricted = models.BooleanField(default=False, help_text="UK GDPR Art 18")
    restricted_at = models.DateTimeField(null=True, blank=True)
    marketing_objected = models.BooleanField(default=False, help_text="UK GDPR Art 21(2)")
    objected_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    # Optimistic locking: each save of contact details increments it; a stale form is refused.
    version = models.PositiveIntegerField(default=1)

    # Lower-cased "first last" for name search (trigram index on PostgreSQL).
    search_name = models.GeneratedField(
        expression=Lower(Concat("first_name", models.Value(" "), "last_name")),
        output_field=models.CharField(max_length=201),
        db_persist=True,
    )

    history = HistoricalRecords(excluded_fields=["search_name", "updated_at"])

    class Meta:
        indexes = [
            # varchar_pattern_ops serves both exact and prefix (LIKE 'x%') lookups on PostgreSQL.
            models.Index(fields=["email"], name="customer_email", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["phone"], name="customer_phone"),
            models.Index(fields=["postcode"], name="customer_postcode", opclasses=["varchar_pattern_ops"]),
            # The trigram index on search_name is created in a PostgreSQL-only migration.
        ]
        constraints = [
            models.CheckConstraint(
                name="customer_restricted_has_date",
                condition=models.Q(processing_restricted=False) | models.Q(restricted_at__isnull=False),
            ),
            models.CheckConstraint(
                name="customer_objected_has_date",
                condition=models.Q(marketing_objected=False) | models.Q(objected_at__isnull=False),
            ),
        ]
        permissions = [
            ("view_transcript", "Can read call transcripts"),
            ("import_preferences", "Can import marketing preference changes in bulk"),
            ("view_breaches", "Can see opt-outs that missed their deadline"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.pk:06d}" if self.pk else ""

    @staticmethod
    def pk_from_reference(reference: str) -> int | None:
        ref = reference.strip().upper().replace(" ", "")
        if ref.startswith(REFERENCE_PREFIX):
            ref = ref[len(REFERENCE_PREFIX) :]
        return int(ref) if ref.isdigit() and len(ref) <= 12 else None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def postal_address(self) -> str:
        parts = (self.address_line1, self.address_line2, self.town, self.county, self.postcode)
        return ", ".join(p for p in parts if p)


class PreferenceChange(models.Model):
    """One recorded change of a marketing preference: the evidence trail.

    The current preference for (customer, purpose, channel) is the latest change.
    Absent any change, nothing is consented to (sensitive sharing is opt-in only).
    """

    class Source(models.TextChoices):
        PHONE_CALL = "phone_call", "Phone call"
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
        SMS_STOP = "sms_stop", "SMS STOP"
        ACCOUNT_PAGE = "account_page", "Account page"
        IMPORT = "import", "Import"
        RIGHTS_REQUEST = "rights_request", "Rights request"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="preference_changes")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    # Blank for purposes not tied to a channel.
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    granted = models.BooleanField(help_text="True: opted in. False: opted out.")
    source = models.CharField(max_length=20, choices=Source.choices)
    evidence = models.CharField(max_length=500, blank=True, help_text="Evidence or note (no more personal data).")
    notice_version = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    received_at = models.DateTimeField(help_text="When the customer told us.")
    takes_effect_by = models.DateField(help_text="The date by which it must be in effect.")
    # When an opt-out was first included in the suppression feed: when it was actioned.
    actioned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "purpose", "channel", "-received_at"], name="prefchange_current"),
            # Opt-outs waiting for the feed (breach list, feed run).
            models.Index(
                fields=["takes_effect_by"],
                name="prefchange_unactioned",
                condition=models.Q(granted=False, actioned_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="prefchange_channel_matches_purpose",
                condition=(models.Q(purpose="direct_marketing") & ~models.Q(channel=""))
                | (~models.Q(purpose="direct_marketing") & models.Q(channel="")),
            ),
        ]

    def __str__(self) -> str:
        verb = "opt-in" if self.granted else "opt-out"
        return f"{verb} {self.purpose}/{self.channel or '-'} for customer {self.customer_id}"


class SuppressionEntry(models.Model):
    """Never contact this identifier on this channel again.

    Only a keyed one-way hash (HMAC-SHA256) of the normalised email, phone or address:
    the minimum needed, with no link to the customer, so it survives erasure.
    """

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out"
        OBJECTED = "objected", "Objected to direct marketing (Art 21)"
        ERASED = "erased", "Erased (Art 17)"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    identifier_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # When the entry first went out in the suppression feed.
    first_included_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "identifier_hash"], name="suppression_unique"),
        ]
        verbose_name_plural = "suppression entries"

    def __str__(self) -> str:
        return f"{self.channel}:{self.identifier_hash[:12]}…"


class InboundSms(models.Model):
    """An inbound SMS from the gateway, kept only to make replays change nothing.

    Holds the gateway's message id and the outcome, never the number or the text.
    """

    class Outcome(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out of SMS marketing"
        UNKNOWN_NUMBER = "unknown_number", "Number not known"
        NOT_A_STOP = "not_a_stop", "Not a stop keyword"

    message_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"SMS {self.message_id}: {self.outcome}"


class Call(models.Model):
    """A recorded call, with its AI transcript. Kept 6 months (legal.CALL_RETENTION_MONTHS)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Purpose(models.TextChoices):
        # The privacy notice's list of what recorded calls are about.
        SALES = "sales", "Sales inquiry"
        CREDIT = "credit", "Credit inquiry"
        FINANCE = "finance", "Third-party finance agreement"
        CUSTOMER_SERVICE = "customer_service", "Customer service"
        COMPLAINT = "complaint", "Complaint handling"

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    customer_number = models.CharField(max_length=20, help_text="E.164")
    our_number = models.CharField(max_length=20, help_text="E.164")
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField()
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    recording_ref = models.CharField(max_length=200, help_text="Where the recording is stored (not the audio).")
    transcript = models.TextField(blank=True)
    transcript_provider = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-started_at"], name="call_customer_started"),
            models.Index(fields=["started_at"], name="call_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"


class Correspondence(models.Model):
    """A brief record of a letter, email or call with a customer (customer service).

    Kept 6 months (legal.CORRESPONDENCE_RETENTION_MONTHS). Case files on rights requests
    and complaints are kept separately, under the register's case-file retention.
    """

    class Direction(models.TextChoices):
        INBOUND = "inbound", "From the customer"
        OUTBOUND = "outbound", "To the customer"

    class Medium(models.TextChoices):
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="correspondence")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    medium = models.CharField(max_length=10, choices=Medium.choices)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=1000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "correspondence"
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="corresp_customer_at"),
            models.Index(fields=["occurred_at"], name="corresp_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_medium_display()} {self.get_direction_display().lower()} {self.occurred_at:%Y-%m-%d}"


class Purchase(models.Model):
    """What a customer bought, and any instalment plan. Kept 6 years for guarantees and tax;
    erasure detaches it from the person (customer set to NULL) rather than deleting it."""

    class PaymentMethod(models.TextChoices):
        CARD = "card", "Debit/credit card"
        INVOICE = "invoice", "Monthly on invoice"
        INSTALMENTS = "instalments", "Instalment plan"
        FINANCE = "finance", "Third-party finance"

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchases")
    order_ref = models.CharField(max_length=40, unique=True)
    ordered_on = models.DateField()
    description = models.CharField(max_length=300)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    payment_method = models.CharField(max_length=12, choices=PaymentMethod.choices)
    instalments = models.PositiveSmallIntegerField(null=True, blank=True)
    instalment_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    guarantee_until = models.DateField(null=True, blank=True)
    detached_at = models.DateTimeField(null=True, blank=True, help_text="When erasure detached it from the person.")

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["customer", "-ordered_on"], name="purchase_customer_ordered")]
        constraints = [
            models.CheckConstraint(
                name="purchase_plan_complete",
                condition=~models.Q(payment_method="instalments")
                | (models.Q(instalments__gte=2) & models.Q(instalment_amount__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return self.order_ref
