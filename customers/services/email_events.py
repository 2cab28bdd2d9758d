"""The email provider's event webhook: SendGrid's signed Event Webhook.

SendGrid POSTs a JSON array of events, signed with ECDSA (P-256, SHA-256) over the timestamp
header followed by the raw body: the base64 DER signature in X-Twilio-Email-Event-Webhook-Signature,
the timestamp in X-Twilio-Email-Event-Webhook-Timestamp, the public key (base64 DER, as SendGrid's
Mail Settings show it) in settings.SENDGRID_WEBHOOK_PUBLIC_KEY.

What the portal acts on, each event once by its sg_event_id (models.EmailEvent keeps the id, the
kind and the outcome, never the address):

- "unsubscribe", "group_unsubscribe" and "spamreport": email direct marketing withdrawn through
  the preference service (source "email provider report", due within
  legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK days) for every customer with the address, and the address
  suppressed on email even when no customer has it;
- "bounce" of type "bounce" (a hard bounce: the address does not exist; "blocked" is a soft
  one): the customer's email_bounced_at is set, with history, and shown on the customer page;
- "bounce" (either type) and "dropped" of a message the portal sent on a request or complaint
  (requests.services.messages): SendGrid copies the message's unique arg `pp_message_id` into
  the event (its smtp-id carries the same Message-ID); that correspondence is marked "bounced",
  with history, and the handler sees it on the case.

Every other event (delivered, open, click, deferred, ...) is ignored and not stored. A batch is
checked whole before anything is written: one bad event refuses the batch (400, naming it), so
SendGrid's retry never finds half of it done.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from privacy_portal import bounds
from privacy_portal.tracked import save_tracked
from requests.services.messages import message_bounced

from ..models import Channel, Customer, EmailEvent, PreferenceChange, Purpose, SuppressionEntry
from .normalise import normalise_email
from .preferences import preference_record
from .suppression import suppression_add

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid batches events (up to a few thousand per POST); a megabyte holds several thousand.
MAX_BODY_BYTES = 1024 * 1024
# SendGrid retries a failed delivery for up to 72 hours; a signed timestamp older than that (with
# a margin), or ahead of now beyond clock skew, is refused: the event records are deleted after
# EMAIL_EVENT_RETENTION_MONTHS, and a batch captured and replayed after that would act again.
MAX_AGE_SECONDS = 4 * 24 * 3600
MAX_AHEAD_SECONDS = 5 * 60
EVENT_ID_MAX_LENGTH = bounds.max_length(EmailEvent, "event_id")

OPT_OUT_EVENTS = {
    "unsubscribe": EmailEvent.Kind.UNSUBSCRIBE,
    "group_unsubscribe": EmailEvent.Kind.UNSUBSCRIBE,
    "spamreport": EmailEvent.Kind.SPAM_REPORT,
}
HARD_BOUNCE_TYPE = "bounce"

ERR_TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES} bytes."
ERR_SIGNATURE = "Missing or invalid signature."
ERR_JSON = "The body must be a JSON array of event objects."
ERR_EVENT = "Event {index}: field '{field}' must be a non-empty string."
ERR_EVENT_NUL = "Event {index}: field '{field}' holds a NUL character (\\u0000), which cannot be stored."
ERR_EVENT_LENGTH = "Event {index}: field 'sg_event_id' must be at most {max} characters."
ERR_EVENT_EMAIL = "Event {index}: field 'email' is not a valid email address."


# The unique arg requests.services.messages puts on every case message (X-SMTPAPI header).
MESSAGE_ID_ARG = "pp_message_id"
MESSAGE_ID_PREFIX = "<pp-"
MESSAGE_ID_MAX_LENGTH = 100
UNDELIVERED_EVENTS = {"bounce", "dropped"}
ERR_EVENT_MESSAGE_ID = "Event {index}: field '{field}' must be at most {max} characters."


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    kind: str  # EmailEvent.Kind
    email: str  # normalised
    message_id: str = ""  # one of our case messages, when the event is about one


def public_key():
    """SENDGRID_WEBHOOK_PUBLIC_KEY as a key, or None when unset or not an EC public key."""
    value = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
    if not value:
        return None
    try:
        key = load_der_public_key(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def signature_valid(*, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    """SendGrid's ECDSA signature over timestamp + body (constant-time in the library)."""
    key = public_key()
    if key is None or not signature or not timestamp or not timestamp_fresh(timestamp):
        return False
    try:
        decoded = base64.b64decode(signature, validate=True)
        key.verify(decoded, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def timestamp_fresh(timestamp: str, *, now: float | None = None) -> bool:
    """Whether the signed timestamp (Unix seconds) is at most MAX_AGE_SECONDS old and not ahead."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    age = (time.time() if now is None else now) - int(timestamp)
    return -MAX_AHEAD_SECONDS <= age <= MAX_AGE_SECONDS


def _text(event: dict, field: str, index: int) -> str:
    value = event.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(ERR_EVENT.format(index=index, field=field))
    try:
        bounds.check_text(value)
    except ValidationError:
        raise ValidationError(ERR_EVENT_NUL.format(index=index, field=field)) from None
    return value.strip()


def events_parse(body: bytes) -> list[ProviderEvent]:
    """The events the portal acts on, checked whole. Raises ValidationError naming the event
    (counted from 1) and the field; events of other kinds are skipped unread."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(ERR_JSON) from None
    if not isinstance(data, list) or not all(isinstance(event, dict) for event in data):
        raise ValidationError(ERR_JSON)
    events = []
    for index, event in enumerate(data, start=1):
        name = event.get("event")
        message_id = _our_message_id(event, index) if name in UNDELIVERED_EVENTS else ""
        if name in OPT_OUT_EVENTS:
            kind = OPT_OUT_EVENTS[name]
        elif name == "bounce" and event.get("type", HARD_BOUNCE_TYPE) == HARD_BOUNCE_TYPE:
            kind = EmailEvent.Kind.HARD_BOUNCE
        elif message_id:
            kind = EmailEvent.Kind.MESSAGE_UNDELIVERED
        else:
            continue
        event_id = _text(event, "sg_event_id", index)
        if len(event_id) > EVENT_ID_MAX_LENGTH:
            raise ValidationError(ERR_EVENT_LENGTH.format(index=index, max=EVENT_ID_MAX_LENGTH))
        try:
            email = normalise_email(_text(event, "email", index))
        except ValidationError as exc:
            if exc.messages[0].startswith("Event "):
                raise
            raise ValidationError(ERR_EVENT_EMAIL.format(index=index)) from None
        events.append(ProviderEvent(event_id=event_id, kind=kind, email=email, message_id=message_id))
    return events


def _our_message_id(event: dict, index: int) -> str:
    """The Message-ID of one of our case messages the event is about, or "": the unique arg we
    set, else SendGrid's smtp-id when it is one of ours."""
    for field in (MESSAGE_ID_ARG, "smtp-id"):
        if field not in event:
            continue
        value = _text(event, field, index)
        if len(value) > MESSAGE_ID_MAX_LENGTH:
            raise ValidationError(ERR_EVENT_MESSAGE_ID.format(index=index, field=field, max=MESSAGE_ID_MAX_LENGTH))
        if value.startswith(MESSAGE_ID_PREFIX):
            return value
    return ""


@transaction.atomic
def email_events_record(*, events: list[ProviderEvent]) -> list[tuple[EmailEvent, bool]]:
    """Act on each event once. Returns (record, created) per event.

    As for inbound SMS, the record is inserted first: a concurrent delivery of the same event id
    waits on the unique index, then finds it done. No member of staff acts: actor is None.
    """
    return [_record_one(event) for event in events]


def _record_one(event: ProviderEvent) -> tuple[EmailEvent, bool]:
    event_id = f"{PROVIDER}:{event.event_id}"
    existing = EmailEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing, False
    bounced = False
    if event.message_id:
        bounced = message_bounced(message_id=event.message_id)
    if event.kind == EmailEvent.Kind.MESSAGE_UNDELIVERED:
        return _record(
            event_id,
            event,
            EmailEvent.Outcome.MESSAGE_BOUNCED if bounced else EmailEvent.Outcome.UNKNOWN_MESSAGE,
            None,
        )
    customers = list(
        Customer.objects.select_for_update().filter(email=event.email, erased_at__isnull=True).order_by("pk")
    )
    if not customers:
        outcome = EmailEvent.Outcome.UNKNOWN_ADDRESS
    elif event.kind == EmailEvent.Kind.HARD_BOUNCE:
        outcome = EmailEvent.Outcome.BOUNCE_FLAGGED
    else:
        outcome = EmailEvent.Outcome.OPTED_OUT
    record, created = _record(event_id, event, outcome, customers[0].pk if customers else None)
    if not created:
        return record, False

    if event.kind == EmailEvent.Kind.HARD_BOUNCE:
        for customer in customers:
            if customer.email_bounced_at is None:
                customer.email_bounced_at = timezone.now()
                save_tracked(
                    customer,
                    actor=None,
                    reason="Hard bounce reported by the email provider",
                    update_fields=["email_bounced_at", "updated_at"],
                )
        return record, True
    for customer in customers:
        preference_record(
            actor=None,
            customer=customer,
            purpose=Purpose.DIRECT_MARKETING,
            channel=Channel.EMAIL,
            granted=False,
            source=PreferenceChange.Source.EMAIL_PROVIDER,
            evidence=f"SendGrid {EmailEvent.Kind(event.kind).label.lower()} {event.event_id}"[:500],
        )
    suppression_add(actor=None, channel=Channel.EMAIL, identifier=event.email, reason=SuppressionEntry.Reason.OPTED_OUT)
    return record, True


def _record(event_id: str, event: ProviderEvent, outcome: str, customer_id: int | None) -> tuple[EmailEvent, bool]:
    record = EmailEvent(
        event_id=event_id,
        provider=PROVIDER,
        kind=event.kind,
        outcome=outcome,
        customer_id=customer_id,
    )
    try:
        save_tracked(
            record, actor=None, reason=f"Email provider event ({EmailEvent.Kind(event.kind).label})", savepoint=True
        )
    except IntegrityError:
        return EmailEvent.objects.get(event_id=event_id), False
    return record, True
