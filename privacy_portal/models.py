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


class AccessEvent(models.Model):
    """One read of personal data: who, when, what, from where, and why when asked.

    Append-only and immutable: it holds ids and field names, never personal values, so
    erasure never needs to touch it. Not a tracked (history) model for that reason.
    """

    class Action(models.TextChoices):
        VIEW_CUSTOMER = "view_customer", "Opened a customer record"
        SEARCH = "search", "Searched customers"
        VIEW_TRANSCRIPT = "view_transcript", "Read a call transcript"
        VIEW_CALLS = "view_calls", "Listed a customer's calls"
        VIEW_PURCHASES = "view_purchases", "Listed a customer's purchases"
        EDIT_FORM = "edit_form", "Opened a customer's edit form"
        EXPORT = "export", "Downloaded an export"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey("privacy_portal.User", on_delete=models.PROTECT, related_name="access_events")
    action = models.CharField(max_length=32, choices=Action.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    # For searches: the ids of the customers the search returned (never the search words).
    result_ids = models.JSONField(default=list, blank=True)
    search_kind = models.CharField(max_length=16, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "-at"], name="access_customer_at"),
            models.Index(fields=["user", "-at"], name="access_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.customer_id or ''} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Access events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Access events are append-only.")
