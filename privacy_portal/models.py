"""Cross-cutting models: staff accounts and the record of scheduled job runs."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
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

    # Passwords and sign-in times are not history: they would only add secrets and noise.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        permissions = [
            ("use_portal", "Can sign in to the portal"),
            ("manage_staff", "Can manage staff accounts and roles"),
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
