"""Inbound SMS from the gateway: "STOP" withdraws SMS marketing.

The gateway signs each request: HMAC-SHA256 over the raw body with the shared secret
settings.SMS_WEBHOOK_SECRET, hex in the X-Signature header (optionally "sha256=<hex>").
Each message is recorded once by the gateway's message id (models.InboundSms, which keeps
the outcome and the customer id, never the number or the text), so a replay changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from privacy_portal import bounds

from ..models import Channel, Customer, InboundSms, PreferenceChange, Purpose, SuppressionEntry
from .normalise import normalise_phone
from .preferences import preference_record
from .suppression import suppression_add

ERR_SIGNATURE = "Missing or invalid signature."
ERR_JSON = "The body must be a JSON object."
ERR_FIELD_MISSING = "Field '{field}' is missing."
ERR_FIELD_TYPE = "Field '{field}' must be a non-empty string."
ERR_MESSAGE_ID_LENGTH = "Field 'message_id' must be at most {max} characters."
ERR_FROM = "Field 'from' is not a valid phone number."
ERR_FIELD_NUL = "Field '{field}' holds a NUL character (\\u0000), which cannot be stored."

SIGNATURE_PREFIX = "sha256="
MESSAGE_ID_MAX_LENGTH = InboundSms._meta.get_field("message_id").max_length

# The opt-out keywords the privacy notice promises ("Text STOP"), plus the usual variants.
# Compared word by word after upper-casing (anything but a letter separates words), so
# " stop ", "Stop.", "STOP ALL", "Please stop" and "stop!!! no more" all match: a keyword as any
# word of the message is an opt-out. When in doubt, a person asking to stop is honoured.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE"})


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender: str  # E.164
    text: str


def signature_valid(*, body: bytes, header: str | None) -> bool:
    """Whether `header` is the HMAC-SHA256 of `body` under the shared secret (constant time)."""
    secret = settings.SMS_WEBHOOK_SECRET
    if not secret or not header:
        return False
    given = header.strip()
    if given.lower().startswith(SIGNATURE_PREFIX):
        given = given[len(SIGNATURE_PREFIX) :]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def is_stop(text: str) -> bool:
    """Whether an SMS asks to stop marketing: STOP, STOPALL or UNSUBSCRIBE as any word, in any
    case, or as the whole message spelt out with spaces ("S T O P")."""
    words = re.sub(r"[^A-Z]+", " ", (text or "").upper()).split()
    if not words:
        return False
    return "".join(words) in STOP_KEYWORDS or any(word in STOP_KEYWORDS for word in words)


def inbound_parse(body: bytes) -> InboundMessage:
    """Parse the gateway's JSON. Raises ValidationError naming the first bad field."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(ERR_JSON) from None
    if not isinstance(data, dict):
        raise ValidationError(ERR_JSON)
    for field in ("message_id", "from", "body"):
        if field not in data:
            raise ValidationError(ERR_FIELD_MISSING.format(field=field))
    for field in ("message_id", "from"):
        if not isinstance(data[field], str) or not data[field].strip():
            raise ValidationError(ERR_FIELD_TYPE.format(field=field))
    if not isinstance(data["body"], str):
        raise ValidationError(ERR_FIELD_TYPE.format(field="body"))
    for field in ("message_id", "from"):
        try:
            bounds.check_text(data[field])
        except ValidationError:
            raise ValidationError(ERR_FIELD_NUL.format(field=field)) from None
    message_id = data["message_id"].strip()
    if len(message_id) > MESSAGE_ID_MAX_LENGTH:
        raise ValidationError(ERR_MESSAGE_ID_LENGTH.format(max=MESSAGE_ID_MAX_LENGTH))
    try:
        sender = normalise_phone(data["from"])
    except ValidationError:
        raise ValidationError(ERR_FROM) from None
    # The text is only read, never stored: a NUL in it is dropped, so a STOP is still a STOP.
    return InboundMessage(message_id=message_id, sender=sender, text=data["body"].replace("\x00", ""))


@transaction.atomic
def sms_inbound_record(*, message: InboundMessage) -> tuple[InboundSms, bool]:
    """Act on one inbound SMS, once. Returns (record, created).

    A STOP withdraws SMS direct marketing for every customer with that number (several
    customers may share one) and suppresses the number on SMS even when no customer has
    it, so marketing never texts it again. The record is inserted before anything else is
    written: a concurrent delivery of the same message id waits on the unique index, then
    fails there and is treated as the replay it is, so the work is done once.
    """
    existing = InboundSms.objects.filter(message_id=message.message_id).first()
    if existing is not None:
        return existing, False

    customers: list[Customer] = []
    if is_stop(message.text):
        customers = list(
            Customer.objects.select_for_update().filter(phone=message.sender, erased_at__isnull=True).order_by("pk")
        )
        outcome = InboundSms.Outcome.OPTED_OUT if customers else InboundSms.Outcome.UNKNOWN_NUMBER
    else:
        outcome = InboundSms.Outcome.NOT_A_STOP

    record = InboundSms(
        message_id=message.message_id,
        outcome=outcome,
        # The model holds one id; with several customers on the number, the first (all are opted out).
        customer_id=customers[0].pk if customers else None,
    )
    record._change_reason = "Inbound SMS"
    record._history_user = None  # the gateway, not whoever might be signed in
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        return InboundSms.objects.get(message_id=message.message_id), False

    if outcome == InboundSms.Outcome.NOT_A_STOP:
        return record, True
    for customer in customers:
        preference_record(
            actor=None,
            customer=customer,
            purpose=Purpose.DIRECT_MARKETING,
            channel=Channel.SMS,
            granted=False,
            source=PreferenceChange.Source.SMS_STOP,
            evidence=f"Inbound SMS {message.message_id}",
        )
    suppression_add(channel=Channel.SMS, identifier=message.sender, reason=SuppressionEntry.Reason.OPTED_OUT)
    return record, True
