"""Inbound SMS: "STOP" withdraws SMS marketing. The one service every SMS receiver calls.

The gateways' own formats (Twilio, Vonage, Esendex) are thin adapters in sms_gateways.py that
check the gateway's signature or secret, then build an InboundMessage with inbound_message()
and hand it to sms_inbound_record().

The original receiver speaks our own JSON: the gateway signs each request: HMAC-SHA256 over the
raw body with the shared secret settings.SMS_WEBHOOK_SECRET, hex in the X-Signature header
(optionally "sha256=<hex>").
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
ERR_FIELD_LENGTH = "Field '{field}' must be at most {max} characters."
ERR_MESSAGE_ID_LENGTH = ERR_FIELD_LENGTH.replace("{field}", "message_id")
ERR_SENDER = "Field '{field}' is not a valid phone number."
ERR_FROM = ERR_SENDER.format(field="from")
ERR_FIELD_NUL = "Field '{field}' holds a NUL character (\\u0000), which cannot be stored."

SIGNATURE_PREFIX = "sha256="
MESSAGE_ID_MAX_LENGTH = InboundSms._meta.get_field("message_id").max_length

# The opt-out keywords the privacy notice promises ("Text STOP"), plus those the gateways treat
# as opt-outs themselves (Twilio's and Vonage's standard list: STOP, STOPALL, UNSUBSCRIBE, END,
# QUIT, CANCEL, OPTOUT, REVOKE). One rule for every receiver, ours and the gateways': compared
# word by word after upper-casing (anything but a letter separates words), so " stop ", "Stop.",
# "STOP ALL", "Please stop", "opt out" and "stop!!! no more" all match: a keyword as any word of
# the message is an opt-out. When in doubt, a person asking to stop is honoured ("cancel my
# order" is also taken as an opt-out: a missed STOP is a PECR breach, a needless one is not).
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE"})


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender: str  # E.164
    text: str
    # The gateway itself reports an opt-out (Twilio's OptOutType=STOP, an Esendex OptOut push).
    opt_out: bool = False


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
    """Whether an SMS asks to stop marketing: one of STOP_KEYWORDS as any word, in any case, or as
    the whole message spelt out with spaces ("S T O P", "OPT OUT")."""
    words = re.sub(r"[^A-Z]+", " ", (text or "").upper()).split()
    if not words:
        return False
    return "".join(words) in STOP_KEYWORDS or any(word in STOP_KEYWORDS for word in words)


def inbound_message(
    *,
    message_id: object,
    sender: object,
    text: object,
    id_field: str,
    sender_field: str,
    text_field: str,
    id_prefix: str = "",
    opt_out: bool = False,
) -> InboundMessage:
    """Check one inbound message's fields, named as its sender names them. Raises ValidationError
    naming the first bad field. `id_prefix` keeps the gateways' id spaces apart in InboundSms."""
    for field, value in ((id_field, message_id), (sender_field, sender)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(ERR_FIELD_TYPE.format(field=field))
    if not isinstance(text, str):
        raise ValidationError(ERR_FIELD_TYPE.format(field=text_field))
    for field, value in ((id_field, message_id), (sender_field, sender)):
        try:
            bounds.check_text(value)
        except ValidationError:
            raise ValidationError(ERR_FIELD_NUL.format(field=field)) from None
    message_id = id_prefix + message_id.strip()
    if len(message_id) > MESSAGE_ID_MAX_LENGTH:
        limit = MESSAGE_ID_MAX_LENGTH - len(id_prefix)
        raise ValidationError(ERR_FIELD_LENGTH.format(field=id_field, max=limit))
    number = sender.strip()
    if number.isdigit() and not number.startswith("0"):
        number = "+" + number  # Vonage and Esendex send international numbers without the "+"
    try:
        e164 = normalise_phone(number)
    except ValidationError:
        raise ValidationError(ERR_SENDER.format(field=sender_field)) from None
    # The text is only read, never stored: a NUL in it is dropped, so a STOP is still a STOP.
    return InboundMessage(message_id=message_id, sender=e164, text=text.replace("\x00", ""), opt_out=opt_out)


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
    return inbound_message(
        message_id=data["message_id"],
        sender=data["from"],
        text=data["body"],
        id_field="message_id",
        sender_field="from",
        text_field="body",
    )


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
    if message.opt_out or is_stop(message.text):
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
