"""Inbound SMS: "STOP" withdraws SMS marketing. The one service every SMS receiver calls.

The gateways' own formats (Twilio, Vonage, Esendex) are thin adapters in sms_gateways.py that
check the gateway's signature or secret, then build an InboundMessage with inbound_message()
and hand it to sms_inbound_record().

The original receiver speaks our own JSON: the gateway signs each request: HMAC-SHA256 over the
raw body with the shared secret settings.SMS_WEBHOOK_SECRET, hex in the X-Signature header
(optionally "sha256=<hex>").
Each message is recorded once by the gateway's message id (models.InboundSms), so a replay
changes nothing. A stop keeps the outcome and the customer id, never the number or the text; a
message that is not a stop keeps its text and number for an agent to read and mark handled
(sms_inbound_mark_handled), linked to the customer when exactly one holds the number.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from privacy_portal import bounds
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Channel, Customer, InboundSms, PreferenceChange, Purpose, SuppressionEntry
from .normalise import normalise_phone
from .preferences import preference_record
from .suppression import suppression_add

ERR_SIGNATURE = "Missing or invalid signature."
ERR_JSON = "The body must be a JSON object."
ERR_FIELD_MISSING = "Field '{field}' is missing."
ERR_FIELD_TYPE = "Field '{field}' must be a non-empty string."
ERR_FIELD_LENGTH = "Field '{field}' must be at most {max} characters."
ERR_SENDER = "Field '{field}' is not a valid phone number."
ERR_FROM = ERR_SENDER.format(field="from")
ERR_FIELD_NUL = "Field '{field}' holds a NUL character (\\u0000), which cannot be stored."

SIGNATURE_PREFIX = "sha256="
MESSAGE_ID_MAX_LENGTH = bounds.max_length(InboundSms, "message_id")
TEXT_MAX_LENGTH = bounds.max_length(InboundSms, "text")  # longer is cut: a gateway's message is never refused
ERR_CONCAT = "Fields 'concat-ref', 'concat-total' and 'concat-part' must name one part of at most {max} parts."
# The most parts a concatenated text has (the GSM UDH's one-byte count).
CONCAT_MAX_PARTS = 255
# A text's parts come within seconds of each other; a part waiting this long lost its others
# (sms_inbound_parts_flush acts on what came). Operational, not legal: long enough for a gateway's
# retries (Vonage retries a failed delivery for up to 24 hours).
CONCAT_WAIT_HOURS = 25
# Where a part of a text never came, in the text the agents read.
CONCAT_GAP = "[part {part} did not arrive]"
CONCAT_REF_MAX_LENGTH = bounds.max_length(InboundSms, "concat_ref")
ERR_NOT_TO_HANDLE = "Only a message that is not a stop is handled by an agent."

# The opt-out keywords: what the privacy notice promises ("Text STOP") and what the gateways treat
# as opt-outs themselves (Twilio's and Vonage's standard list). One rule for every receiver, ours
# and the gateways' (is_stop), as the lead decided it:
#
#   "STOP, STOPALL, UNSUBSCRIBE, OPTOUT, REVOKE opt out as any word of the message ("Please stop"
#   is honoured); END, QUIT, CANCEL opt out only when the message is that keyword alone
#   (optionally with punctuation/whitespace), so "cancel my order" is NOT an opt-out (it goes to
#   the inbound list for an agent)."
#
# Words are compared after upper-casing, anything but a letter separating them: " stop ", "Stop.",
# "STOP ALL", "Please stop", "opt out" and "stop!!! no more" opt out; "End.", " quit! " and
# "CANCEL" alone opt out; "cancel my order", "the end" and "quit sending" do not.
STOP_ANY_WORD = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "OPTOUT", "REVOKE"})
STOP_ALONE = frozenset({"END", "QUIT", "CANCEL"})
STOP_KEYWORDS = STOP_ANY_WORD | STOP_ALONE


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender: str  # E.164
    text: str
    # The gateway itself reports an opt-out (Twilio's OptOutType=STOP, an Esendex OptOut push).
    opt_out: bool = False
    # One part of a concatenated text: (the gateway's reference, how many parts, which part).
    concat: tuple[str, int, int] | None = None


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
    """Whether an SMS asks to stop marketing (the rule above): one of STOP_ANY_WORD as any word, in
    any case; one of STOP_ALONE as the whole message; or a keyword as the whole message spelt out
    with spaces ("S T O P", "OPT OUT", "Q U I T")."""
    # NFKC first: full-width letters (East Asian keyboards) and ligatures are the letters typed.
    words = re.sub(r"[^A-Z]+", " ", unicodedata.normalize("NFKC", text or "").upper()).split()
    if not words:
        return False
    return "".join(words) in STOP_KEYWORDS or any(word in STOP_ANY_WORD for word in words)


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
    assert isinstance(message_id, str) and isinstance(sender, str)  # checked just above
    if not isinstance(text, str):
        raise ValidationError(ERR_FIELD_TYPE.format(field=text_field))
    for field, value in ((id_field, message_id), (sender_field, sender)):
        try:
            bounds.check_text(str(value))
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
    # A NUL in the text is dropped (PostgreSQL cannot store it), so a STOP is still a STOP.
    return InboundMessage(message_id=message_id, sender=e164, text=text.replace("\x00", ""), opt_out=opt_out)


def concat_parse(ref: object, total: object, part: object) -> tuple[str, int, int]:
    """A part's (reference, total, part) as a gateway sends them. Raises ValidationError naming
    the three fields when they do not name one part of 2 to CONCAT_MAX_PARTS."""
    error = ValidationError(ERR_CONCAT.format(max=CONCAT_MAX_PARTS))
    if not all(isinstance(v, str) for v in (ref, total, part)):
        raise error
    assert isinstance(ref, str) and isinstance(total, str) and isinstance(part, str)  # checked just above
    ref = ref.strip()
    if not ref or len(ref) > CONCAT_REF_MAX_LENGTH or "\x00" in ref:
        raise error
    count, number = bounds.parse_id(total, high=CONCAT_MAX_PARTS), bounds.parse_id(part, high=CONCAT_MAX_PARTS)
    if count is None or number is None or not 1 <= number <= count:
        raise error
    return ref, count, number


def _lock_concat(sender: str, ref: str) -> None:
    """Serialise the parts of one text (the last two parts arriving at once must not each see the
    other missing): a transaction-scoped advisory lock on PostgreSQL; SQLite (the demo) writes one
    transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"sms-concat:{sender}:{ref}".encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _waiting_parts(sender: str, ref: str, total: int) -> dict[int | None, list[InboundSms]]:
    """The parts of (sender, ref, total) not yet assembled, by part number, first come first."""
    parts: dict[int | None, list[InboundSms]] = {}
    for part in InboundSms.objects.filter(outcome=InboundSms.Outcome.PART, sender=sender, concat_ref=ref,
                                          concat_total=total, assembled_into_id__isnull=True
                                          ).order_by("concat_part", "pk"):  # fmt: skip
        parts.setdefault(part.concat_part, []).append(part)
    return parts


def _assemble(*, sender: str, ref: str, total: int, parts: dict[int | None, list[InboundSms]], opt_out: bool,
              gap: str = "") -> InboundSms:  # fmt: skip
    """Act on the parts as one message (sms_inbound_record: the STOP rule on the text in part
    order; a missing part written as `gap`), then blank every part's text and mark it assembled.
    The whole's id names its first part's row, so a reference used again is a new text."""
    first = min(part.pk for same in parts.values() for part in same)
    text = "".join(parts[n][0].text if n in parts else gap.format(part=n) for n in range(1, total + 1))
    whole_id = f"concat:{sender}:{ref}:{total}:{first}"[:MESSAGE_ID_MAX_LENGTH]
    whole, _created = sms_inbound_record(
        message=InboundMessage(message_id=whole_id, sender=sender, text=text, opt_out=opt_out)
    )
    for part in (part for same in parts.values() for part in same):
        part.text, part.assembled_into_id = "", whole.pk
        save_tracked(part, actor=None, reason=f"Inbound SMS: assembled into message {whole.pk}")
    return whole


@transaction.atomic
def sms_inbound_part_record(*, message: InboundMessage) -> InboundSms | None:
    """Keep one part of a concatenated text; once every part has come, act on the whole text as
    one message (sms_inbound_record: the STOP rule applied to the text reassembled in part order,
    so a STOP split across parts, or said in a long text, is a STOP) and blank the parts' text.
    Idempotent: a part delivered again (by its id) is kept once and changes nothing, and the whole
    text is recorded once. A part that comes after its text was assembled (a reference used again
    for a later text, as a phone's one-byte reference is) starts a new text. Returns the whole
    message's record, or None while parts are missing (sms_inbound_parts_flush acts on them after
    CONCAT_WAIT_HOURS)."""
    assert message.concat is not None
    ref, total, number = message.concat
    _lock_concat(message.sender, ref)
    known = InboundSms.objects.filter(message_id=message.message_id).first()
    if known is not None and known.assembled_into_id is not None:
        return InboundSms.objects.filter(pk=known.assembled_into_id).first()
    if known is None:
        part = InboundSms(message_id=message.message_id, outcome=InboundSms.Outcome.PART, sender=message.sender,
                          text=message.text[:TEXT_MAX_LENGTH], concat_ref=ref, concat_total=total,
                          concat_part=number)  # fmt: skip
        save_tracked(part, actor=None, reason=f"Inbound SMS: part {number} of {total}")
    parts = _waiting_parts(message.sender, ref, total)
    if set(parts) != set(range(1, total + 1)):
        return None
    return _assemble(sender=message.sender, ref=ref, total=total, parts=parts, opt_out=message.opt_out)


def sms_inbound_parts_flush(*, now: datetime.datetime | None = None) -> dict:
    """Every text with a part waiting more than CONCAT_WAIT_HOURS whose other parts never came
    (lost by the network): acted on as far as it goes, in part order, each missing part marked
    (CONCAT_GAP), so a STOP in what came is honoured and an agent reads the rest. Each text under
    its lock, checked again; run again, nothing is done twice."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=CONCAT_WAIT_HOURS)
    texts = (
        InboundSms.objects.filter(
            outcome=InboundSms.Outcome.PART, assembled_into_id__isnull=True, received_at__lt=cutoff
        )
        .values_list("sender", "concat_ref", "concat_total")
        .distinct()
        .order_by("sender", "concat_ref", "concat_total")
    )
    done = 0
    for sender, ref, total in list(texts):
        if total is None:  # a part always has its total (concat_parse); never a text to act on
            continue
        with transaction.atomic():
            _lock_concat(sender, ref)
            parts = _waiting_parts(sender, ref, total)
            if parts and min(p.received_at for same in parts.values() for p in same) < cutoff:
                _assemble(sender=sender, ref=ref, total=total, parts=parts, opt_out=False, gap=CONCAT_GAP)
                done += 1
    return {"texts": done}


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
    if outcome == InboundSms.Outcome.NOT_A_STOP:
        # Someone expects a reply: keep what they wrote and where from. Linked to a customer only
        # when exactly one holds the number (two sharing a landline: the agent decides who it is).
        holders = list(
            Customer.objects.filter(phone=message.sender, erased_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:2]
        )
        record.customer_id = holders[0] if len(holders) == 1 else None
        record.sender = message.sender
        record.text = message.text.strip()[:TEXT_MAX_LENGTH]
    try:
        # actor None: the gateway, not whoever might be signed in.
        save_tracked(record, actor=None, reason="Inbound SMS", savepoint=True)
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
    suppression_add(
        actor=None, channel=Channel.SMS, identifier=message.sender, reason=SuppressionEntry.Reason.OPTED_OUT
    )
    return record, True


@transaction.atomic
def sms_inbound_mark_handled(*, actor: User, message_pk: int) -> InboundSms:
    """An agent has read and answered (or passed on) a message that is not a stop. Idempotent:
    marked twice (two agents at once), the first keeps it."""
    record = InboundSms.objects.select_for_update().get(pk=message_pk)
    if record.outcome != InboundSms.Outcome.NOT_A_STOP:
        raise ValidationError(ERR_NOT_TO_HANDLE)
    if record.handled_at is None:
        record.handled_at, record.handled_by = timezone.now(), actor
        save_tracked(record, actor=actor, reason="Inbound SMS handled")
    return record
