"""The public's own door: a rights request waiting for its email to be verified, the one-time
codes that verify it, and the templates of the messages the portal sends to requesters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class PublicSubmission(models.Model):
    """A rights request sent on the public form, held until its email address is verified.

    Transient by design: once the code is verified its details become the request's cases
    (requests.Case, with their own history) and this row is deleted; one never verified is
    deleted by the nightly sweep after a day (requests.services.public). No history of its
    own for that reason: a history row would keep the details after the row is gone. It points
    at no customer, case or complaint (the handler links customers, never the form).
    """

    rights = models.JSONField(default=list)
    acting_for_other = models.BooleanField(default=False)
    representative_relationship = models.CharField(max_length=100, blank=True)
    requester_name = models.CharField(max_length=200, blank=True)
    subject_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    account_reference = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)
    # The request is received when it is submitted (the clock's rules do not change).
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["submitted_at"], name="publicsubmission_submitted")]

    def __str__(self) -> str:
        return f"Submission {self.pk} of {self.submitted_at:%Y-%m-%d %H:%M}"


class VerificationCode(models.Model):
    """One emailed code for a submission. Only its keyed hash is stored; it is spent by use,
    by VERIFICATION_CODE_ATTEMPTS wrong tries, by a newer code, or by time."""

    submission = models.ForeignKey(PublicSubmission, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    spent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submission"], condition=models.Q(spent_at__isnull=True), name="verificationcode_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"Code for submission {self.submission_id}"


class MessageTemplate(models.Model):
    """The words of one message the portal sends a requester or complainant, which the DPO
    edits. Each edit is a new version (history keeps every earlier one, with who and why)."""

    class Key(models.TextChoices):
        COMPLAINT_ACK = "complaint_ack", "Complaint acknowledgement"
        REQUEST_ACK = "request_ack", "Request acknowledgement"
        VERIFICATION_CODE = "verification_code", "Email verification code"
        SECURE_LINK = "secure_link", "Link to the secure page"
        IDENTITY_REQUEST = "identity_request", "Identity request"
        CLARIFICATION_REQUEST = "clarification_request", "Clarification request"
        EXTENSION = "extension", "Extension"
        REFUSAL = "refusal", "Refusal"
        COMPLETION = "completion", "Completion"
        NEW_MESSAGE = "new_message", "A new message on the secure page"

    key = models.CharField(max_length=32, choices=Key.choices, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=10_000)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.get_key_display()} (version {self.version})"
