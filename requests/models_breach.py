"""Personal-data breaches (UK GDPR Art 33 and 34): the record every breach goes into (Art 33(5)),
its risk assessment and decision, the ICO notifications in phases, the remedial tasks and the
people affected (and whether they were told). Imported by requests.models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from privacy_portal import legal
from privacy_portal.legal import breach_report_due


class BreachDataCategory(models.TextChoices):
    """The ICO's breach report form: "What categories of personal data have been affected?"."""

    BASIC_IDENTIFIERS = "basic_identifiers", "Basic personal identifiers (e.g. name, contact details)"
    IDENTIFICATION = "identification", "Identification data (e.g. usernames, passwords)"
    ECONOMIC = "economic", "Economic and financial data (e.g. credit card numbers, bank details)"
    OFFICIAL_DOCUMENTS = "official_documents", "Official documents (e.g. driving licences)"
    LOCATION = "location", "Location data (e.g. coordinates)"
    RACIAL_ETHNIC = "racial_ethnic", "Special category: racial or ethnic origin"
    POLITICAL = "political", "Special category: political opinions"
    RELIGIOUS = "religious", "Special category: religious or philosophical beliefs"
    TRADE_UNION = "trade_union", "Special category: trade union membership"
    SEX_LIFE = "sex_life", "Special category: sex life"
    SEXUAL_ORIENTATION = "sexual_orientation", "Special category: sexual orientation"
    GENETIC = "genetic", "Special category: genetic data"
    BIOMETRIC = "biometric", "Special category: biometric data"
    HEALTH = "health", "Special category: health data"
    CRIMINAL = "criminal", "Criminal convictions and offences"
    NOT_YET_KNOWN = "not_yet_known", "Not yet known"
    OTHER = "other", "Other"


class BreachPeopleCategory(models.TextChoices):
    """The ICO's form: "What categories of data subjects have been affected?"."""

    CUSTOMERS = "customers", "Customers"
    PROSPECTIVE_CUSTOMERS = "prospective_customers", "Prospective customers"
    STAFF = "staff", "Employees"
    CHILDREN = "children", "Children"
    VULNERABLE_ADULTS = "vulnerable_adults", "Vulnerable adults"
    USERS = "users", "Users of the website"
    NOT_YET_KNOWN = "not_yet_known", "Not yet known"
    OTHER = "other", "Other"


class Breach(models.Model):
    """One personal-data breach, reported or not (Art 33(5): every breach is documented)."""

    class Status(models.TextChoices):
        SUSPECTED = "suspected", "Reported, awaiting the DPO's assessment"
        ASSESSED = "assessed", "Assessed"
        CLOSED = "closed", "Closed"

    class Cause(models.TextChoices):
        HUMAN_ERROR = "human_error", "Human error"
        CYBER = "cyber", "Cyber incident"
        LOST_STOLEN = "lost_stolen", "Lost or stolen (device, paperwork, post)"
        PROCESSOR = "processor", "A processor's incident"
        UNAUTHORISED_ACCESS = "unauthorised_access", "Unauthorised access by staff"
        OTHER = "other", "Other"
        NOT_YET_KNOWN = "not_yet_known", "Not yet known"

    class Scale(models.TextChoices):
        """The ICO's scale for the likelihood and the severity of the consequences."""

        REMOTE = "remote", "Remote / minimal"
        POSSIBLE = "possible", "Possible / significant"
        LIKELY = "likely", "Likely / severe"

    # One scale, two words for each step: a likelihood is remote, possible or likely; a severity
    # minimal, significant or severe. The page, the form and the ICO report show each alone.
    LIKELIHOOD_CHOICES = [(Scale.REMOTE, "Remote"), (Scale.POSSIBLE, "Possible"), (Scale.LIKELY, "Likely")]
    SEVERITY_CHOICES = [(Scale.REMOTE, "Minimal"), (Scale.POSSIBLE, "Significant"), (Scale.LIKELY, "Severe")]

    class Risk(models.TextChoices):
        NONE = "none", "No risk likely"
        RISK = "risk", "Risk"
        HIGH = "high", "High risk"

    class TellPeople(models.TextChoices):
        YES = "yes", "Yes: tell the people affected (Art 34(1))"
        NO_NOT_HIGH = "not_high", "No: the risk to them is not high"
        EXCEPTION_PROTECTED = "art34_3a", "No: Art 34(3)(a) the data was unintelligible (e.g. encrypted)"
        EXCEPTION_MITIGATED = "art34_3b", "No: Art 34(3)(b) later measures mean the high risk is no longer likely"
        EXCEPTION_EFFORT = "art34_3c", "No: Art 34(3)(c) disproportionate effort, a public communication instead"

    OPEN_STATUSES = (Status.SUSPECTED, Status.ASSESSED)

    reference = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUSPECTED)
    summary = models.CharField(max_length=200, help_text="A short title: no customer's name.")
    what_happened = models.TextField()
    how_discovered = models.TextField(blank=True)
    discovered_by = models.CharField(max_length=200, blank=True, help_text="Who found it (a role or team).")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_breaches"
    )
    happened_at = models.DateTimeField(null=True, blank=True, help_text="Blank: not yet known.")
    aware_at = models.DateTimeField(
        help_text=f"When the company became aware: the {legal.BREACH_REPORT_HOURS}-hour clock starts here."
    )
    due_at = models.DateTimeField(editable=False, help_text=f"aware_at + {legal.BREACH_REPORT_HOURS} hours (derived).")
    # A processor's report (Art 33(2)): who told us and when; the company's clock still starts at aware_at.
    processor = models.ForeignKey(
        "customers.Recipient", null=True, blank=True, on_delete=models.PROTECT, related_name="reported_breaches"
    )
    processor_told_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=24, choices=Cause.choices, default=Cause.NOT_YET_KNOWN)
    data_categories = models.JSONField(default=list, blank=True)
    people_categories = models.JSONField(default=list, blank=True)
    # Null: not yet known.
    people_count = models.PositiveIntegerField(null=True, blank=True)
    records_count = models.PositiveIntegerField(null=True, blank=True)
    recipients = models.ManyToManyField("customers.Recipient", blank=True, related_name="breaches")
    cases = models.ManyToManyField("requests.Case", blank=True, related_name="breaches")
    complaints = models.ManyToManyField("requests.Complaint", blank=True, related_name="breaches")
    # Access-log entries attached as evidence (ids only: the log itself is the evidence).
    access_event_ids = models.JSONField(default=list, blank=True)

    # The DPO's risk assessment and decision (Art 33(5) evidence).
    consequences = models.TextField(blank=True, help_text="Potential consequences for the people affected.")
    likelihood = models.CharField(max_length=10, choices=Scale.choices, blank=True)
    severity = models.CharField(max_length=10, choices=Scale.choices, blank=True)
    risk = models.CharField(max_length=8, choices=Risk.choices, blank=True)
    report_to_ico = models.BooleanField(null=True, blank=True)
    ico_decision_reason = models.TextField(blank=True)
    tell_people = models.CharField(max_length=10, choices=TellPeople.choices, blank=True)
    tell_people_reason = models.TextField(blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    late_reason = models.TextField(
        blank=True, help_text=f"Art 33(1): the reasons for a report after {legal.BREACH_REPORT_HOURS} hours."
    )
    containment = models.TextField(blank=True, help_text="Containment and preventative measures, in brief.")
    staff_training = models.TextField(blank=True, help_text="Data-protection training of the staff involved.")
    others_told = models.TextField(blank=True, help_text="Other organisations told (police, bank, processor).")
    lessons_learned = models.TextField(blank=True)
    # The letter or email to the people affected (Art 34(2)); no personal values: it is a template.
    letter = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(m2m_fields=[recipients, cases, complaints])

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="breach_open_due", condition=models.Q(closed_at__isnull=True)),
            models.Index(fields=["-aware_at"], name="breach_aware"),
        ]
        constraints = [
            models.CheckConstraint(
                name="breach_aware_after_happened",
                condition=models.Q(happened_at__isnull=True) | models.Q(aware_at__gte=models.F("happened_at")),
                violation_error_message="The company cannot become aware of a breach before it happened.",
            ),
            models.CheckConstraint(
                name="breach_not_reported_has_reason",
                condition=~models.Q(report_to_ico=False) | ~models.Q(ico_decision_reason=""),
                violation_error_message="A decision not to report needs its reasons (Art 33(5)).",
            ),
        ]
        permissions = [
            ("report_breach", "Can report a suspected personal-data breach"),
            ("assess_breach", "Can assess a breach and decide whether to report it"),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        self.due_at = breach_report_due(self.aware_at)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("requests:breach", args=[self.pk])

    # Replace Django's get_FOO_display: the fields are chosen from LIKELIHOOD/SEVERITY_CHOICES.
    def get_likelihood_display(self) -> str:  # type: ignore[no-redef]
        labels: dict[str, str] = dict(self.LIKELIHOOD_CHOICES)
        return labels.get(self.likelihood, "")

    def get_severity_display(self) -> str:  # type: ignore[no-redef]
        labels: dict[str, str] = dict(self.SEVERITY_CHOICES)
        return labels.get(self.severity, "")

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    def data_category_labels(self) -> list[str]:
        return [BreachDataCategory(c).label for c in self.data_categories if c in BreachDataCategory.values]

    def people_category_labels(self) -> list[str]:
        return [BreachPeopleCategory(c).label for c in self.people_categories if c in BreachPeopleCategory.values]


class BreachNotification(models.Model):
    """One report to the ICO: the initial report, then follow-ups (Art 33(4): in phases)."""

    class Phase(models.TextChoices):
        INITIAL = "initial", "Initial report"
        FOLLOW_UP = "follow_up", "Follow-up report"

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="notifications")
    phase = models.CharField(max_length=10, choices=Phase.choices)
    sent_at = models.DateTimeField()
    ico_reference = models.CharField(max_length=40, blank=True, help_text="The ICO's case reference, once given.")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["breach"], condition=models.Q(phase="initial"), name="breach_one_initial_report"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} of {self.breach_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class BreachTask(models.Model):
    """A containment or remedial action, with its owner and date."""

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="breach_tasks")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.title


class BreachAffected(models.Model):
    """A customer affected by a breach, and whether (when, how) they were told (Art 34)."""

    class Told(models.TextChoices):
        NOT_YET = "not_yet", "Not yet told"
        TOLD = "told", "Told"
        UNDELIVERABLE = "undeliverable", "Undeliverable"

    class Method(models.TextChoices):
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    # No index of its own on breach_id: the unique (breach, customer) and (breach, told) indexes
    # lead with it; nor on linked_by. Each index is written 100,000 times when a file is linked.
    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="affected", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="breaches_affected")
    told = models.CharField(max_length=14, choices=Told.choices, default=Told.NOT_YET)
    told_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    linked_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "breach affected customers"
        constraints = [
            models.UniqueConstraint(fields=["breach", "customer"], name="breach_affected_once"),
            models.CheckConstraint(
                name="breach_affected_told_has_date",
                condition=models.Q(told="not_yet") | models.Q(told_at__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["breach", "told"], name="breach_affected_told")]

    def __str__(self) -> str:
        return f"{self.breach_id}:{self.customer_id}"
