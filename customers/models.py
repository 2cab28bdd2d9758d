"""Customers, their marketing preferences, the suppression list, calls and correspondence,
purchases, recipients and the disclosure log. Every model is tracked by django-simple-history."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Lower, Upper
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from privacy_portal.bounds import parse_id
from privacy_portal.models import LawfulBasis, SpecialCategoryCondition

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
    # PECR reg 21(4): a TPS-listed subscriber told us they do not, for the time being, object
    # to our marketing calls (withdrawable, reg 21(5)). Phone only, so not tied to a channel.
    CALLS_DESPITE_TPS = "calls_despite_tps", "Marketing calls despite the TPS (reg 21(4))"


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
    # The email provider reported a hard bounce (the address does not exist): set by the event
    # webhook (services/email_events.py), cleared when the email address is changed.
    email_bounced_at = models.DateTimeField("email hard-bounced", null=True, blank=True)

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
            # The public request's candidate matches by full name (customers_matching: iexact on both).
            models.Index(Upper("last_name"), Upper("first_name"), name="customer_upper_name"),
            # The trigram index on search_name is created in a PostgreSQL-only migration.
            # The promise report's customers under 18: the youngest few, not every customer.
            models.Index(fields=["date_of_birth"], name="customer_date_of_birth"),
            # The promise report's objections and restrictions of a period: the few customers concerned.
            models.Index(
                fields=["objected_at"], name="customer_objected_at", condition=models.Q(marketing_objected=True)
            ),
            models.Index(
                fields=["restricted_at"], name="customer_restricted_at", condition=models.Q(processing_restricted=True)
            ),
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
            # Codename kept from before the page was renamed "Missed opt-out deadlines".
            ("view_breaches", "Can see opt-outs that missed their deadline"),
            # Checked on the customer (a handler's case) or model-wide (DPO, auditors).
            ("view_disclosure", "Can see disclosures of customer data"),
            # The email platform's List-Unsubscribe headers: every recipient's email (the DPO).
            ("export_list_unsubscribe", "Can export the List-Unsubscribe headers for an email campaign"),
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
        return parse_id(ref, high=10**12 - 1)

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
        ONE_CLICK = "one_click", "One-click unsubscribe"
        EMAIL_PROVIDER = "email_provider", "Email provider report"
        ACCOUNT_PAGE = "account_page", "Account page"
        IMPORT = "import", "Import"
        RIGHTS_REQUEST = "rights_request", "Rights request"
        MPS_FILE = "mps_file", "MPS file"
        BEREAVEMENT = "bereavement", "Bereavement"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="preference_changes")
    purpose = models.CharField(max_length=32, choices=Purpose)
    # Blank for purposes not tied to a channel.
    channel = models.CharField(max_length=10, choices=Channel, blank=True)
    granted = models.BooleanField(help_text="True: opted in. False: opted out.")
    source = models.CharField(max_length=20, choices=Source.choices)
    evidence = models.CharField(max_length=500, blank=True, help_text="Evidence or note (no more personal data).")
    notice_version = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    received_at = models.DateTimeField(help_text="When the customer told us.")
    takes_effect_by = models.DateField(help_text="The date by which it must be in effect.")
    # When an opt-out took effect: first carried by its channel's feed (the suppression feed for
    # direct marketing, the ad audiences' removal feed for personalised ads), or at once for a
    # withdrawal of sensitive sharing (a guard the portal applies to every later disclosure).
    actioned_at = models.DateTimeField(null=True, blank=True)
    # Days after its take-effect date that an opt-out was actioned, set once when it was late:
    # a missed deadline stays on record (and in the DPO's list) after it is put right.
    late_by_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "purpose", "channel", "-received_at"], name="prefchange_current"),
            # Opt-outs waiting for their feed (missed deadlines still open, the feed run).
            models.Index(
                fields=["takes_effect_by"],
                name="prefchange_unactioned",
                condition=models.Q(granted=False, actioned_at__isnull=True),
            ),
            # The promise report: the opt-outs due in a period, per channel (not every preference change).
            models.Index(fields=["takes_effect_by"], name="prefchange_optout_due", condition=models.Q(granted=False)),
            # Opt-outs actioned after their take-effect date (missed deadlines put right late).
            models.Index(
                fields=["takes_effect_by"],
                name="prefchange_actioned_late",
                condition=models.Q(late_by_days__isnull=False),
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


class AdRemovalEntry(models.Model):
    """An email or phone number of an erased person who may be in an advertising audience,
    as the ad platforms match it: the SHA-256 of its platform normalisation (Google's and
    Meta's, customers.services.ad_feed), never the value. Written by erasure, carried in every
    later removal file so that a platform (or an audience re-uploaded from an old list) drops
    them; no link to the customer.

    A keyed hash (as the suppression list holds) cannot be used: the platforms match only the
    plain SHA-256 of the normalised value.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    google_hash = models.CharField(max_length=64)
    meta_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "google_hash"], name="ad_removal_unique"),
        ]
        verbose_name_plural = "ad removal entries"

    def __str__(self) -> str:
        return f"{self.kind}:{self.google_hash[:12]}…"


class SuppressionEntry(models.Model):
    """Never contact this identifier on this channel again.

    Only a keyed one-way hash (HMAC-SHA256) of the normalised email, phone or address:
    the minimum needed, with no link to the customer, so it survives erasure.
    """

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out"
        OBJECTED = "objected", "Objected to direct marketing (Art 21)"
        ERASED = "erased", "Erased (Art 17)"
        DECEASED = "deceased", "Deceased"

    channel = models.CharField(max_length=10, choices=Channel)
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


# The reason on every history row an erasure writes (requests.services.erasure.REASON): pages that
# show what erasure removed tell it by this.
ERASURE_REASON = "Erased (Art 17)"


class InboundSms(models.Model):
    """An inbound SMS from the gateway, recorded once by the gateway's message id (a replay
    changes nothing).

    A stop keeps only the id, the outcome and the customer id. A message that is not a stop
    ("please call me about my order", "I've changed my number") is someone expecting a reply: its
    text and the number it came from are kept for an agent to read and mark handled, linked to the
    customer when exactly one holds the number. Deleted after legal.INBOUND_SMS_RETENTION_MONTHS
    (privacy_portal.retention); blanked by an erasure of that customer.
    """

    class Outcome(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out of SMS marketing"
        UNKNOWN_NUMBER = "unknown_number", "Number not known"
        NOT_A_STOP = "not_a_stop", "Not a stop keyword"
        # One part of a concatenated (multipart) text: kept until every part has come, then the
        # whole text is recorded as one message (its own outcome) and the part's text blanked.
        PART = "part", "Part of a longer text"

    message_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)
    # Only for a message that is not a stop (blank otherwise).
    sender = models.CharField("from", max_length=20, blank=True)
    text = models.CharField(max_length=1600, blank=True)  # the gateways' limit for one concatenated SMS
    # A part of a concatenated text: the gateway's reference shared by its parts, how many there
    # are and which this is (Vonage's concat-ref, concat-total, concat-part).
    concat_ref = models.CharField(max_length=64, blank=True)
    concat_total = models.PositiveSmallIntegerField(null=True, blank=True)
    concat_part = models.PositiveSmallIntegerField(null=True, blank=True)
    # The whole message a part was assembled into (its InboundSms id), once it was: a part not yet
    # assembled is waiting for the others (a reference comes back for a later text).
    assembled_into_id = models.BigIntegerField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        indexes = [
            # The agents' list: messages to read, newest first (keyset-paged).
            models.Index(
                fields=["-received_at", "-id"], condition=models.Q(outcome="not_a_stop"), name="inboundsms_to_read"
            ),
        ]

    def __str__(self) -> str:
        return f"SMS {self.message_id}: {self.outcome}"


class EmailEvent(models.Model):
    """An event from the email provider's webhook that the portal acted on (unsubscribe, spam
    complaint, hard bounce), kept only so a redelivered event changes nothing.

    Holds the provider's event id, the kind and the outcome, never the address.
    """

    class Kind(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
        SPAM_REPORT = "spamreport", "Spam complaint"
        HARD_BOUNCE = "bounce", "Hard bounce"
        MESSAGE_UNDELIVERED = "undelivered", "A case message bounced or was dropped"

    class Outcome(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out of email marketing"
        BOUNCE_FLAGGED = "bounce_flagged", "Hard bounce flagged on the customer"
        UNKNOWN_ADDRESS = "unknown_address", "Address not known"
        MESSAGE_BOUNCED = "message_bounced", "Case message marked bounced"
        UNKNOWN_MESSAGE = "unknown_message", "Case message not known"

    event_id = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["received_at"], name="emailevent_received"),  # the retention purge
            models.Index(fields=["customer_id"], name="emailevent_customer"),  # the subject graph
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.event_id}: {self.outcome}"


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
    purpose = models.CharField(max_length=20, choices=Purpose)
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


# --- Third parties and the disclosure log ----------------------------------------------------

# The United Kingdom as an ISO 3166-1 alpha-2 code: a recipient here makes no international transfer.
UK_COUNTRY_CODE = "GB"


class DataCategory(models.TextChoices):
    """The fixed vocabulary of what a disclosure contains."""

    IDENTITY = "identity", "Identity"
    CONTACT = "contact", "Contact details"
    ORDER = "order", "Orders"
    PAYMENT = "payment", "Payment"
    CREDIT_FINANCE = "credit_finance", "Credit and finance"
    CALL_RECORDING = "call_recording", "Call recording and transcript"
    DEVICE_ONLINE = "device_online", "Device and online identifiers"
    CORRESPONDENCE = "correspondence", "Correspondence"


class Recipient(models.Model):
    """A third party that receives customers' personal data (the privacy notice's list)."""

    class Category(models.TextChoices):
        FINANCE_PROVIDER = "finance_provider", "External credit and finance provider"
        LOGISTICS = "logistics", "Outsourced logistics partner or postal service"
        DEBT_COLLECTION = "debt_collection", "Debt collection service"
        CREDIT_REFERENCE = "credit_reference", "Credit reference agency"
        PAYMENT = "payment", "Payment service provider"
        DIRECT_MARKETING = "direct_marketing", "Direct marketing service"
        IT_SERVICES = "it_services", "IT systems and services"
        LEGAL = "legal", "Legal services"
        AUTHORITIES = "authorities", "The authorities"
        AUDITORS = "auditors", "Auditors"
        CALL_TRANSCRIPTION = "call_transcription", "Call transcription (AI)"

    class Role(models.TextChoices):
        PROCESSOR = "processor", "Processor"
        INDEPENDENT_CONTROLLER = "independent_controller", "Independent controller"
        JOINT_CONTROLLER = "joint_controller", "Joint controller"

    class TransferMechanism(models.TextChoices):
        NONE = "", "None"
        UK_IDTA = "uk_idta", "UK International Data Transfer Agreement (IDTA)"
        EU_SCCS_UK_ADDENDUM = "eu_sccs_uk_addendum", "EU standard contractual clauses with the UK Addendum"

    code = models.SlugField(max_length=50, unique=True, help_text="Short code used in import files.")
    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=24, choices=Category.choices)
    role = models.CharField(max_length=24, choices=Role.choices)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. GB, IE, US.")
    country_adequate = models.BooleanField(
        "country has UK adequacy",
        default=False,
        help_text="UK adequacy regulations (DPA 2018 s17A) cover the country. Not needed in the UK.",
    )
    transfer_mechanism = models.CharField(max_length=24, choices=TransferMechanism.choices, blank=True)
    tra_date = models.DateField("transfer risk assessment date", null=True, blank=True)
    tra_reference = models.CharField("transfer risk assessment reference", max_length=100, blank=True)
    agreement_reference = models.CharField(
        "contract or data-processing agreement",
        max_length=100,
        blank=True,
        help_text="Required for processors (Art 28).",
    )
    agreement_renews_on = models.DateField(
        "agreement renewal date",
        null=True,
        blank=True,
        help_text="The agreement lapses after this day unless renewed (then enter the new date).",
    )
    contact = models.CharField(max_length=300, help_text="Who to tell about a rectification, erasure or restriction.")
    holds_call_data = models.BooleanField(
        "holds call audio or transcripts",
        default=False,
        help_text="Asked to delete its copies whenever calls are purged or erased (a deletion task each time).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="recipient_transfer_has_assessment",
                condition=models.Q(transfer_mechanism="")
                | (models.Q(tra_date__isnull=False) & ~models.Q(tra_reference="")),
                violation_error_message="A transfer mechanism needs the transfer risk assessment's date and reference.",
            ),
            models.CheckConstraint(
                name="recipient_processor_has_agreement",
                condition=~models.Q(role="processor") | ~models.Q(agreement_reference=""),
                violation_error_message="A processor needs a data-processing agreement (Art 28(3)).",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:recipient", args=[self.pk])

    @property
    def outside_uk(self) -> bool:
        return self.country != UK_COUNTRY_CODE

    @property
    def transfer_safeguarded(self) -> bool:
        """No restricted transfer (UK, or an adequate country), or a recorded mechanism (UK GDPR Art 46)."""
        return not self.outside_uk or self.country_adequate or bool(self.transfer_mechanism)

    def agreement_lapsed(self, on: datetime.date) -> bool:
        return self.agreement_renews_on is not None and on > self.agreement_renews_on


class Disclosure(models.Model):
    """One disclosure of a customer's personal data to a recipient. Recorded through
    customers.services.disclosures, which applies the guards; answers Art 19 questions."""

    class Purpose(models.TextChoices):
        ORDER_DELIVERY = "order_delivery", "Delivering an order"
        PAYMENT = "payment", "Taking a payment"
        FINANCE = "finance", "Third-party finance application and agreement"
        CREDIT_CHECK = "credit_check", "Credit check"
        DEBT_RECOVERY = "debt_recovery", "Recovering a debt (a legal claim)"
        LEGAL_CLAIMS = "legal_claims", "Establishing, exercising or defending legal claims"
        LEGAL_REQUIREMENT = "legal_requirement", "A legal requirement or an enforceable request of the authorities"
        FRAUD_PREVENTION = "fraud_prevention", "Preventing fraud"
        DIRECT_MARKETING = "direct_marketing", "Direct marketing"
        CALL_TRANSCRIPTION = "call_transcription", "Transcribing recorded calls"
        IT_SUPPORT = "it_support", "Running and supporting our systems"
        AUDIT = "audit", "Audit"

    class Via(models.TextChoices):
        FORM = "form", "Recorded by hand"
        IMPORT = "import", "Bulk import"
        TRANSCRIPTION = "transcription", "Call sent for transcription (recorded by the system)"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="disclosures")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="disclosures")
    # A list of DataCategory values, validated by the service (JSON, so the SQLite demo works too).
    data_categories = models.JSONField(default=list)
    purpose = models.CharField(max_length=24, choices=Purpose)
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    sensitive = models.BooleanField(
        "includes sensitive data", default=False, help_text="Special category data (UK GDPR Art 9), e.g. health."
    )
    special_category_condition = models.CharField(
        "Art 9 condition", max_length=32, choices=SpecialCategoryCondition.choices, blank=True
    )
    disclosed_at = models.DateTimeField()
    recipient_reference = models.CharField(
        max_length=100, blank=True, help_text="The recipient's own reference: application, consignment or file number."
    )
    # Null only for what the system records itself (a call sent to the transcription provider).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.FORM)
    # The DPO's override of a processing restriction (Art 18(2)): who, and why.
    override_reason = models.CharField(max_length=1000, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        # "customers.view_disclosure" lives on Customer, so a handler can be granted it per customer.
        default_permissions = ("add", "change", "delete")
        permissions = [
            ("override_restriction", "Can record a disclosure for a restricted customer (Art 18(2))"),
            ("import_disclosures", "Can import disclosures in bulk"),
        ]
        indexes = [
            # The customer's tab and the Art 19 list: one customer's rows, newest first (keyset paged).
            models.Index(fields=["customer", "-disclosed_at", "-id"], name="disclosure_customer_at"),
            # The recipient's page (keyset paged) and the counts per recipient and month.
            models.Index(fields=["recipient", "-disclosed_at", "-id"], name="disclosure_recipient_at"),
            # The promise report: a period's disclosures counted (index only), its sensitive ones (the
            # opt-in check) and any without one of the six lawful bases, without reading the year's rows.
            models.Index(fields=["disclosed_at"], name="disclosure_at"),
            models.Index(fields=["disclosed_at"], name="disclosure_sensitive_at", condition=models.Q(sensitive=True)),
            models.Index(
                fields=["disclosed_at"],
                name="disclosure_no_basis_at",
                condition=~models.Q(lawful_basis__in=LawfulBasis.values),
            ),
        ]
        constraints = [
            # Idempotency of imports: a recipient's reference is recorded once.
            models.UniqueConstraint(
                fields=["recipient", "recipient_reference"],
                condition=~models.Q(recipient_reference=""),
                name="disclosure_unique_reference",
                violation_error_message="This recipient's reference is already recorded.",
            ),
            models.CheckConstraint(
                name="disclosure_sensitive_has_condition",
                condition=(models.Q(sensitive=False) & models.Q(special_category_condition=""))
                | (models.Q(sensitive=True) & ~models.Q(special_category_condition="")),
            ),
            models.CheckConstraint(
                name="disclosure_override_complete",
                condition=(models.Q(override_reason="") & models.Q(overridden_by__isnull=True))
                | (~models.Q(override_reason="") & models.Q(overridden_by__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"Disclosure {self.pk} to recipient {self.recipient_id} for customer {self.customer_id}"

    @property
    def data_category_labels(self) -> list[str]:
        return [DataCategory(c).label for c in self.data_categories if c in DataCategory.values]


from .models_retention import DeletionTask, LegalHold  # noqa: E402, F401  (registered through this module)
from .models_screening import (  # noqa: E402, F401  (registered through this module)
    Bereavement,
    CampaignScreening,
    DiallerToken,
    MpsFile,
    MpsMatch,
    TpsFile,
    TpsRegister,
)
