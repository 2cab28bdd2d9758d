"""Retention's own records: the DPO's legal holds, and the deletion tasks sent to the stores
outside the portal. Registered through customers.models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class LegalHold(models.Model):
    """A manual legal hold, placed by the DPO: the customer's calls, correspondence and case
    files are not purged while it is in force (from its placing until it is released or its end
    date passes). Automatic holds (an open request, complaint or breach) need no row."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="legal_holds")
    reason = models.CharField(max_length=500, help_text="Why the records must be kept (a claim, an investigation).")
    ends_on = models.DateField(help_text="The hold ends after this day unless released earlier.")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "ends_on"], name="legalhold_in_force", condition=models.Q(released_at=None)
            )
        ]
        constraints = [
            models.CheckConstraint(
                name="legalhold_released_by_someone",
                condition=models.Q(released_at=None, released_by=None)
                | (models.Q(released_at__isnull=False) & models.Q(released_by__isnull=False)),
                violation_error_message="A released hold names who released it.",
            )
        ]

    def __str__(self) -> str:
        return f"Legal hold {self.pk} on customer {self.customer_id}"

    def in_force(self, today) -> bool:
        return self.released_at is None and self.ends_on >= today
