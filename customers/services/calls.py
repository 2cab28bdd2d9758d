"""The register of recorded calls and brief records of correspondence.

Both are kept six months (privacy_portal.legal) and then removed by the nightly purge
(customers.services.retention).
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from privacy_portal import bounds, legal
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Call, Correspondence, Customer
from .disclosures import disclosure_record_transcription, transcription_recipient
from .normalise import normalise_phone

SUMMARY_MAX_LENGTH = bounds.max_length(Correspondence, "summary")

ERR_DIRECTION = "Choose whether it came from the customer or went to the customer."
ERR_MEDIUM = "Choose how it was sent: letter, email, phone or SMS."
ERR_OCCURRED_FUTURE = "The date cannot be in the future."
ERR_OCCURRED_EXPIRED = (
    f"Records older than {legal.CORRESPONDENCE_RETENTION_MONTHS} months are not kept: "
    "the nightly purge would delete it at once."
)
ERR_SUMMARY_EMPTY = "Write a short summary of what was said."
ERR_SUMMARY_LONG = f"Keep the summary to {SUMMARY_MAX_LENGTH} characters or fewer."
ERR_ERASED = "This customer has been erased; nothing more can be recorded about them."

ERR_CALL_DIRECTION = "Unknown call direction: use inbound or outbound."
ERR_CALL_PURPOSE = "Unknown call purpose: use sales, credit, finance, customer_service or complaint."
ERR_CALL_DURATION = "The call duration must be zero or more seconds."
ERR_CALL_STARTED_FUTURE = "The call cannot start in the future."
ERR_CALL_NUMBER = "Give the phone number."
ERR_CALL_RECORDING = "Give the reference of where the recording is stored."
ERR_TRANSCRIPT_PROVIDER = "Name the provider that made the transcript."

# Clock skew allowed between the telephony platform or the agent's PC and the server.
_FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


@transaction.atomic
def correspondence_record(
    *,
    actor: User,
    customer: Customer,
    direction: str,
    medium: str,
    occurred_at: datetime.datetime,
    summary: str,
) -> Correspondence:
    """Record a brief note of a letter, email, call or SMS with the customer.

    Raises a ValidationError naming each bad field; nothing is saved unless all are good.
    """
    summary = (summary or "").strip()
    errors: dict[str, str] = {}
    if direction not in Correspondence.Direction.values:
        errors["direction"] = ERR_DIRECTION
    if medium not in Correspondence.Medium.values:
        errors["medium"] = ERR_MEDIUM
    now = timezone.now()
    if occurred_at > now + _FUTURE_TOLERANCE:
        errors["occurred_at"] = ERR_OCCURRED_FUTURE
    elif occurred_at < now - relativedelta(months=legal.CORRESPONDENCE_RETENTION_MONTHS):
        errors["occurred_at"] = ERR_OCCURRED_EXPIRED
    if not summary:
        errors["summary"] = ERR_SUMMARY_EMPTY
    elif len(summary) > SUMMARY_MAX_LENGTH:
        errors["summary"] = ERR_SUMMARY_LONG
    if errors:
        raise ValidationError(errors)
    if customer.is_erased:
        raise ValidationError(ERR_ERASED)
    record = Correspondence(
        customer=customer,
        direction=direction,
        medium=medium,
        occurred_at=occurred_at,
        summary=summary,
        recorded_by=actor,
    )
    save_tracked(record, actor=actor, reason="Correspondence recorded")
    return record


@transaction.atomic
def call_register(
    *,
    actor: User | None = None,
    customer: Customer | None,
    direction: str,
    customer_number: str,
    our_number: str,
    started_at: datetime.datetime,
    duration_seconds: int,
    purpose: str,
    recording_ref: str,
    transcript: str = "",
    transcript_provider: str = "",
) -> Call:
    """Register a recorded call, as the telephony integration reports it.

    Numbers are accepted in any UK format or with a country code, and stored in E.164. `customer` may be None when
    the caller was not identified. `actor` is None when the integration itself calls this.
    """
    errors: dict[str, list[str]] = {}

    def _phone(field: str, value: str) -> str:
        try:
            number = normalise_phone(value)
        except ValidationError as exc:
            errors[field] = exc.messages
            return ""
        if not number:
            errors[field] = [ERR_CALL_NUMBER]
        return number

    customer_number = _phone("customer_number", customer_number)
    our_number = _phone("our_number", our_number)
    if direction not in Call.Direction.values:
        errors["direction"] = [ERR_CALL_DIRECTION]
    if purpose not in Call.Purpose.values:
        errors["purpose"] = [ERR_CALL_PURPOSE]
    if duration_seconds is None or duration_seconds < 0:
        errors["duration_seconds"] = [ERR_CALL_DURATION]
    if started_at > timezone.now() + _FUTURE_TOLERANCE:
        errors["started_at"] = [ERR_CALL_STARTED_FUTURE]
    recording_ref = (recording_ref or "").strip()
    if not recording_ref:
        errors["recording_ref"] = [ERR_CALL_RECORDING]
    transcript = (transcript or "").strip()
    transcript_provider = (transcript_provider or "").strip()
    if transcript and not transcript_provider:
        errors["transcript_provider"] = [ERR_TRANSCRIPT_PROVIDER]
    if errors:
        raise ValidationError(errors)
    call = Call(
        customer=customer,
        direction=direction,
        customer_number=customer_number,
        our_number=our_number,
        started_at=started_at,
        duration_seconds=duration_seconds,
        purpose=purpose,
        recording_ref=recording_ref,
        transcript=transcript,
        transcript_provider=transcript_provider,
    )
    if transcript:
        transcription_recipient(transcript_provider)  # refused before anything is saved
    save_tracked(call, actor=actor, reason="Call registered by the telephony integration")
    if transcript:
        disclosure_record_transcription(actor=actor, call=call, provider=transcript_provider)
    return call


@transaction.atomic
def call_attach_transcript(*, actor: User | None = None, call: Call, transcript: str, provider: str) -> Call:
    """Store the AI transcript of a call when the provider delivers it (often after the call)."""
    transcript = (transcript or "").strip()
    provider = (provider or "").strip()
    if not provider:
        raise ValidationError({"transcript_provider": ERR_TRANSCRIPT_PROVIDER})
    transcription_recipient(provider)  # refused before anything is saved
    call.transcript = transcript
    call.transcript_provider = provider
    save_tracked(call, actor=actor, reason="Transcript attached")
    # The transcript came back from the provider: the call went to it (a disclosure, Art 19).
    disclosure_record_transcription(actor=actor, call=call, provider=provider)
    return call
