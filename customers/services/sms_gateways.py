"""The SMS gateways' own inbound formats: thin adapters in front of sms.sms_inbound_record.

Each adapter checks what its gateway signs or sends as a secret, and reads the gateway's own
field names into sms.InboundMessage (with sms.inbound_message, so the rules for ids, numbers and
NUL bytes are the same for every receiver). The keyword rule, the once-only record by message
id and the opt-out itself are the one service's (sms.py). Nothing here logs or keeps a number
or a text.

- Twilio: form-encoded (MessageSid, From, To, Body, OptOutType), X-Twilio-Signature = base64
  HMAC-SHA1, keyed by the auth token, of the full URL Twilio called followed by every POST
  parameter name and value in sorted order. Twilio signs the URL sometimes with the port and
  sometimes without, so both are tried (as Twilio's own RequestValidator does).
- Vonage: form-encoded or JSON (msisdn, to, messageId, text, keyword, timestamp, nonce, sig),
  sig = over "&key=value" for every parameter but sig in sorted order ("&" and "=" in values
  replaced by "_"): MD5 of that string followed by the secret ("md5hash"), or an HMAC of it
  keyed by the secret (md5, sha1, sha256, sha512). A timestamp more than VONAGE_MAX_SKEW from
  now is refused: a captured request cannot be replayed later.
- Esendex: an XML push (InboundMessage, or OptOut: the gateway's own opt-out list), with no
  signature: authenticated by a secret path segment and HTTP basic auth, both set in the
  push URL configured at Esendex (https://user:password@host/p/sms/esendex/<secret>/).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit, urlunsplit

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict

from .sms import ERR_FIELD_MISSING, InboundMessage, concat_parse, inbound_message

# Generous for one SMS (a 10-part concatenated message is under 2,000 characters of text) and
# small enough that no request can make a worker parse megabytes.
MAX_BODY_BYTES = 16 * 1024
VONAGE_MAX_SKEW_MINUTES = 5
VONAGE_MAX_SKEW = datetime.timedelta(minutes=VONAGE_MAX_SKEW_MINUTES)
VONAGE_METHODS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}

ERR_TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES} bytes."
ERR_SIGNATURE = "Missing or invalid signature."
ERR_SECRET = "Missing or wrong credentials."  # noqa: S105 (a message, not a password)
ERR_TIMESTAMP = f"Field 'timestamp' is missing, not a time, or more than {VONAGE_MAX_SKEW_MINUTES} minutes from now."
ERR_FORM = "The body must be form-encoded."
ERR_FORM_REPEATED = "Field '{field}' is given more than once."
ERR_VONAGE_JSON = "The body must be a JSON object of strings."
ERR_XML = "The body must be an Esendex InboundMessage or OptOut XML document."

# Twilio's answer to a message it should not reply to: empty TwiML.
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def body_too_large(request: HttpRequest, *, limit: int = MAX_BODY_BYTES) -> bool:
    """Whether the request announces or carries more than `limit` bytes (checked before parsing)."""
    try:
        announced = int(request.headers.get("content-length") or 0)
    except ValueError:
        return True
    return announced > limit or len(request.body) > limit


def public_url(request: HttpRequest) -> str:
    """The URL the gateway called: settings.PUBLIC_BASE_URL (the address outside the proxy) with
    the request's path and query; without that setting, the URL of the request as it arrived."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()


def _with_and_without_port(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    without = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
    # A non-default port is part of the address: only the default one may be left out.
    return [with_port] if port != default else [without, with_port]


def form_params(request: HttpRequest) -> QueryDict:
    """The form-encoded body, parsed strictly (Django's request.POST silently skips bad bytes)."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(ERR_FORM) from None
    return QueryDict(text, encoding="utf-8")


def _single(params: QueryDict, name: str) -> str:
    values = params.getlist(name)
    if not values:
        raise ValidationError(ERR_FIELD_MISSING.format(field=name))
    if len(values) > 1:
        raise ValidationError(ERR_FORM_REPEATED.format(field=name))
    return values[0]


# --- Twilio --------------------------------------------------------------------------------------


def twilio_signature(*, url: str, params: QueryDict, token: str) -> str:
    """Twilio's X-Twilio-Signature for a form POST to `url`."""
    signed = url
    for name in sorted(set(params)):
        for value in sorted(set(params.getlist(name))):
            signed += name + value
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def twilio_signature_valid(*, request: HttpRequest, params: QueryDict) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not given:
        return False
    return any(
        hmac.compare_digest(twilio_signature(url=url, params=params, token=token).encode(), given.encode())
        for url in _with_and_without_port(public_url(request))
    )


def twilio_parse(params: QueryDict) -> InboundMessage:
    """Twilio's inbound message. OptOutType=STOP (Advanced Opt-Out) is an opt-out whatever the text."""
    return inbound_message(
        message_id=_single(params, "MessageSid"),
        sender=_single(params, "From"),
        text=params.get("Body", ""),
        id_field="MessageSid",
        sender_field="From",
        text_field="Body",
        id_prefix="twilio:",
        opt_out=params.get("OptOutType", "").upper() == "STOP",
    )


# --- Vonage --------------------------------------------------------------------------------------


def vonage_params(request: HttpRequest) -> dict[str, str]:
    """Vonage's parameters, from a form-encoded or a JSON body. Raises ValidationError."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(ERR_VONAGE_JSON) from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
            raise ValidationError(ERR_VONAGE_JSON)
        return {key: str(value) for key, value in data.items()}
    form = form_params(request)
    return {key: _single(form, key) for key in form}


def vonage_signature(params: dict[str, str], *, secret: str, method: str) -> str:
    """Vonage's sig over every parameter but sig itself."""
    signed = "".join(
        f"&{key}={str(params[key]).replace('&', '_').replace('=', '_')}" for key in sorted(params) if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((signed + secret).encode()).hexdigest()  # noqa: S324 (Vonage's scheme)
    return hmac.new(secret.encode(), signed.encode(), VONAGE_METHODS[method]).hexdigest()


def vonage_signature_valid(params: dict[str, str]) -> bool:
    secret = settings.VONAGE_SIGNATURE_SECRET
    given = params.get("sig", "").lower()
    if not secret or not given:
        return False
    expected = vonage_signature(params, secret=secret, method=settings.VONAGE_SIGNATURE_METHOD)
    return hmac.compare_digest(expected.encode(), given.encode())


def vonage_timestamp_fresh(params: dict[str, str], *, now: float | None = None) -> bool:
    """Whether the signed timestamp (Unix seconds) is within VONAGE_MAX_SKEW of now."""
    value = params.get("timestamp", "")
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        return False
    now = time.time() if now is None else now
    return abs(now - int(value)) <= VONAGE_MAX_SKEW.total_seconds()


def vonage_parse(params: dict[str, str]) -> InboundMessage:
    for field in ("messageId", "msisdn"):
        if field not in params:
            raise ValidationError(ERR_FIELD_MISSING.format(field=field))
    message = inbound_message(
        message_id=params["messageId"],
        sender=params["msisdn"],
        text=params.get("text", ""),
        id_field="messageId",
        sender_field="msisdn",
        text_field="text",
        id_prefix="vonage:",
    )
    # A text longer than one SMS comes as parts, each its own webhook (Vonage's "concatenated
    # inbound messages": concat=true, concat-ref, concat-total, concat-part).
    if params.get("concat", "").lower() == "true" or "concat-ref" in params:
        concat = concat_parse(params.get("concat-ref"), params.get("concat-total"), params.get("concat-part"))
        return dataclasses.replace(message, concat=concat)
    return message


# --- Esendex -------------------------------------------------------------------------------------


def esendex_credentials_valid(*, request: HttpRequest, secret: str) -> bool:
    """The secret path segment and the basic-auth user and password, all as configured."""
    expected_secret = settings.ESENDEX_PUSH_SECRET
    user, password = settings.ESENDEX_PUSH_USERNAME, settings.ESENDEX_PUSH_PASSWORD
    if not (expected_secret and user and password):
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_user, _, given_password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    checks = [(secret, expected_secret), (given_user, user), (given_password, password)]
    return all([hmac.compare_digest(a.encode(), b.encode()) for a, b in checks])  # all compared, always


def _child_text(element, path: str) -> str | None:
    child = element.find(path)
    return None if child is None else (child.text or "").strip()


def esendex_parse(body: bytes) -> InboundMessage:
    """An InboundMessage push (its MessageId, From, MessageText) or an OptOut push (its Id and
    From/PhoneNumber: an opt-out whatever was texted). Anything else is refused."""
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise ValidationError(ERR_XML) from None
    if root.tag == "InboundMessage":
        fields = {name: _child_text(root, name) for name in ("MessageId", "From", "MessageText")}
        for name in ("MessageId", "From"):
            if fields[name] is None:
                raise ValidationError(ERR_FIELD_MISSING.format(field=name))
        return inbound_message(
            message_id=fields["MessageId"],
            sender=fields["From"],
            text=fields["MessageText"] or "",
            id_field="MessageId",
            sender_field="From",
            text_field="MessageText",
            id_prefix="esendex:",
        )
    if root.tag == "OptOut":
        opt_out_id = _child_text(root, "Id")
        number = _child_text(root, "From/PhoneNumber")
        if opt_out_id is None:
            raise ValidationError(ERR_FIELD_MISSING.format(field="Id"))
        if number is None:
            raise ValidationError(ERR_FIELD_MISSING.format(field="From/PhoneNumber"))
        return inbound_message(
            message_id=opt_out_id,
            sender=number,
            text="",
            id_field="Id",
            sender_field="From/PhoneNumber",
            text_field="MessageText",
            id_prefix="esendex-optout:",
            opt_out=True,
        )
    raise ValidationError(ERR_XML)
