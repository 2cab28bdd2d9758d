"""Telephone and mail preference screening: the TPS/CTPS files loaded, the dialler's tokens,
campaign screenings (the evidence an ICO investigation asks for), the MPS files and their
matches, and bereavements. Registered through customers.models.

The TPS/CTPS numbers themselves are not a Django model: tens of millions of rows in one plain
table per register (`customers_tps_listed_tps`, `customers_tps_listed_ctps`: number as a
bigint of its E.164 digits, first_seen date), replaced by a table loaded beside it and renamed
into place in one transaction (customers.services.tps)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class TpsRegister(models.TextChoices):
    TPS = "tps", "TPS"
    CTPS = "ctps", "CTPS"


class TpsFile(models.Model):
    """One TPS or CTPS file loaded: a full download, or a day's additions or deletions.
    Only files loaded whole are recorded (a refused file leaves no row and the old one in force)."""

    class Kind(models.TextChoices):
        FULL = "full", "Full download"
        ADDITIONS = "additions", "Daily additions"
        DELETIONS = "deletions", "Daily deletions"

    register = models.CharField(max_length=4, choices=TpsRegister.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file_date = models.DateField(help_text="The date the TPS published the file.")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    lines = models.PositiveIntegerField()
    # Numbers the register held after the load, and how many it gained and lost.
    listed = models.PositiveIntegerField()
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["register", "-file_date", "-id"], name="tpsfile_register_date")]
        constraints = [
            # A full file is loaded once; change files of one number are byte-identical from day
            # to day (removed, then listed again), so a change file is the same file only with
            # the same kind and date.
            models.UniqueConstraint(
                fields=["register", "sha256"], condition=models.Q(kind="full"), name="tpsfile_loaded_once"
            ),
            models.UniqueConstraint(
                fields=["register", "kind", "file_date", "sha256"],
                condition=~models.Q(kind="full"),
                name="tpsfile_change_loaded_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_register_display()} {self.get_kind_display().lower()} of {self.file_date:%Y-%m-%d}"


class DiallerToken(models.Model):
    """A bearer token the dialler sends to the pre-dial check. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Refused from this moment on (issued for legal.DIALLER_TOKEN_DEFAULT_DAYS unless the DPO
    # chose otherwise, at most legal.DIALLER_TOKEN_MAX_DAYS).
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="dialler_token_expires_after_issue", condition=models.Q(expires_at__gt=models.F("created_at"))
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def status(self, now: datetime.datetime | None = None) -> str:
        """'active', 'expired' or 'revoked' (revoked first: a revoked token stays revoked)."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class CampaignScreening(models.Model):
    """One call list screened before a campaign: which files were used, the counts, and the
    result file (in private storage) the DPO downloaded."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    screened_at = models.DateTimeField(default=timezone.now)
    source_name = models.CharField(max_length=255)
    source_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.QUEUED)
    tps_file = models.ForeignKey(TpsFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ctps_file = models.ForeignKey(TpsFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rows = models.PositiveIntegerField(help_text="Rows in the list (known at upload): the total to screen.")
    rows_done = models.PositiveIntegerField(default=0)
    allowed = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    # The validated rows waiting for the task (private storage), deleted when it finishes.
    rows_path = models.CharField(max_length=255, blank=True)
    result_path = models.CharField(max_length=255, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["-screened_at", "-id"], name="screening_newest")]
        constraints = [
            models.CheckConstraint(
                name="screening_rows_done_within_rows", condition=models.Q(rows_done__lte=models.F("rows"))
            ),
        ]

    def __str__(self) -> str:
        return f"Screening {self.pk} of {self.screened_at:%Y-%m-%d}"

    @property
    def downloadable(self) -> bool:
        """Its result may be downloaded: screened to the end, and its file still kept."""
        return self.status == self.Status.DONE and bool(self.result_path)

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class MpsFile(models.Model):
    """One MPS Personal file loaded (fixed width or CSV)."""

    class Format(models.TextChoices):
        FIXED = "fixed", "Fixed width"
        CSV = "csv", "CSV"

    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=5, choices=Format.choices)
    lines = models.PositiveIntegerField()
    removals = models.PositiveIntegerField(help_text="P records: remove from mailings.")
    deceased = models.PositiveIntegerField(help_text="X records: deceased.")
    matched = models.PositiveIntegerField(help_text="Records that matched a customer.")
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"MPS file {self.pk} ({self.loaded_at:%Y-%m-%d})"


class MpsMatch(models.Model):
    """An MPS record that matched a customer by normalised name, address and postcode: the
    current address, or (a deceased record only) one the customer held before."""

    class Flag(models.TextChoices):
        REMOVE = "P", "Registered with the MPS (remove from mailings)"
        DECEASED = "X", "Deceased"

    class Review(models.TextChoices):
        """A name matched at an address the customer held before, not the one they live at: as
        likely a namesake, so never a silent decision (issue 16, hostile review)."""

        NONE = "", "No review needed (the current address)"
        APPLIED = "applied", "Deceased at a former address: all marketing stopped; check it is this customer"
        NOT_APPLIED = "not_applied", "Namesake at a former address: nothing applied; check with the customer"

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed: the record is this customer's"
        DISMISSED = "dismissed", "Dismissed: a namesake, not this customer"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="mps_matches")
    mps_file = models.ForeignKey(MpsFile, on_delete=models.PROTECT, related_name="matches")
    line = models.PositiveIntegerField()
    flag = models.CharField(max_length=1, choices=Flag.choices)
    requested_on = models.DateField()
    matched_at = models.DateTimeField(default=timezone.now)
    on_former_address = models.BooleanField(default=False)
    # The customer's history version (history_id) holding the former address that matched: an id,
    # so the address itself stays where erasure scrubs it (the customer's history).
    address_version = models.BigIntegerField(null=True, blank=True)
    # A match at a former address is shown for an agent or the DPO to check (Review).
    review = models.CharField(max_length=12, choices=Review.choices, blank=True, default="")
    # The DPO's check of a match to review (the MPS reviews page): who, when, which way.
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["customer", "-matched_at"], name="mpsmatch_customer")]
        constraints = [models.UniqueConstraint(fields=["customer", "mps_file"], name="mpsmatch_once_per_file")]

    def __str__(self) -> str:
        return f"MPS {self.flag} match for customer {self.customer_id}"


class Bereavement(models.Model):
    """The customer has died: all marketing on every channel is suppressed for good."""

    class Source(models.TextChoices):
        MPS_FILE = "mps_file", "MPS deceased record"
        AGENT = "agent", "Told by family or an executor"

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="bereavement")
    source = models.CharField(max_length=10, choices=Source.choices)
    # The date we were told (the MPS record's request date, or the day the family told us).
    reported_on = models.DateField()
    evidence = models.CharField(max_length=500, blank=True, help_text="Evidence or note (no more personal data).")
    mps_match = models.ForeignKey(MpsMatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Bereavement of customer {self.customer_id}"
