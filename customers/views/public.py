"""Login-free pages: the unsubscribe link and the SMS gateways' webhooks."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal.access import public

from ..services import dialler, email_events, sms, sms_gateways
from ..services.unsubscribe import (
    ONE_CLICK_KEY,
    ONE_CLICK_VALUE,
    UnsubscribeLinkError,
    unsubscribe_confirm,
    unsubscribe_target,
)

security_log = logging.getLogger("portal.security")

# The gateway gets the same answer for every accepted message, known number or not.
SMS_RECEIVED = {"status": "received"}


# csrf_exempt: mail providers implementing RFC 8058 one-click unsubscribe
# ("List-Unsubscribe-Post: List-Unsubscribe=One-Click") POST to this URL with no cookie and
# no CSRF token. CSRF protects an authenticated session from forged requests; here there
# is no session to ride on: the signed, non-guessable token in the URL is the only
# authenticator, and the only thing a POST can do is an idempotent withdrawal of marketing.
@public
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """Shows no personal data: only the channel, a button, and when the opt-out takes effect."""
    try:
        if request.method == "POST":
            # The whole POST is checked before anything is recorded: the page's button sends no
            # field, a provider's RFC 8058 one-click sends exactly "List-Unsubscribe=One-Click";
            # any other value (or several) is refused with the field named and nothing stored.
            values = request.POST.getlist(ONE_CLICK_KEY)
            if values and values != [ONE_CLICK_VALUE]:
                message = f"{ONE_CLICK_KEY} must be “{ONE_CLICK_VALUE}” or left out."
                return render(request, "customers/unsubscribe_invalid.html", {"message": message}, status=400)
            one_click = values == [ONE_CLICK_VALUE]
            target, change, _created = unsubscribe_confirm(token=token, one_click=one_click)
            context = {"target": target, "change": change}
            return render(request, "customers/unsubscribe_done.html", context)
        target = unsubscribe_target(token)
    except UnsubscribeLinkError as exc:
        return render(request, "customers/unsubscribe_invalid.html", {"message": exc.message}, status=exc.status)
    return render(request, "customers/unsubscribe.html", {"target": target})


# csrf_exempt: a server-to-server webhook with no browser session; each request is
# authenticated by the HMAC signature over its body instead.
@public
@csrf_exempt
@require_POST
def sms_inbound(request):
    """The SMS gateway's inbound messages. 403 unsigned, 400 malformed, otherwise 200."""
    if not sms.signature_valid(body=request.body, header=request.headers.get("X-Signature")):
        security_log.warning("sms webhook refused: bad or missing signature")
        return JsonResponse({"error": sms.ERR_SIGNATURE}, status=403)
    try:
        message = sms.inbound_parse(request.body)
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=400)
    sms.sms_inbound_record(message=message)
    return JsonResponse(SMS_RECEIVED)


def _refused(gateway: str, reason: str, message: str, status: int) -> JsonResponse:
    # The log names the gateway and the reason, never a number, a text or a credential.
    security_log.warning("webhook refused sender=%s reason=%s status=%s", gateway, reason, status)
    response = JsonResponse({"error": message}, status=status)
    # Logged above: stop Django's own "Forbidden: <path>" line, whose path holds Esendex's secret.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's flag: the refusal is logged already
    return response


# The gateways' own formats (customers/services/sms_gateways.py). csrf_exempt as above: no browser
# session, each request is authenticated by the gateway's signature or secret instead.
@public
@csrf_exempt
@require_POST
def sms_twilio(request):
    """Twilio's inbound messages: 413 too large, 403 unsigned, 400 malformed, else empty TwiML."""
    if sms_gateways.body_too_large(request):
        return _refused("twilio", "too_large", sms_gateways.ERR_TOO_LARGE, 413)
    try:
        params = sms_gateways.form_params(request)
    except ValidationError as exc:
        return _refused("twilio", "malformed", exc.messages[0], 400)
    if not sms_gateways.twilio_signature_valid(request=request, params=params):
        return _refused("twilio", "signature", sms_gateways.ERR_SIGNATURE, 403)
    try:
        message = sms_gateways.twilio_parse(params)
    except ValidationError as exc:
        return _refused("twilio", "malformed", exc.messages[0], 400)
    sms.sms_inbound_record(message=message)
    return HttpResponse(sms_gateways.TWIML_EMPTY, content_type="text/xml")


@public
@csrf_exempt
@require_POST
def sms_vonage(request):
    """Vonage's signed inbound messages: 413, 403 unsigned or stale, 400 malformed, else 200."""
    if sms_gateways.body_too_large(request):
        return _refused("vonage", "too_large", sms_gateways.ERR_TOO_LARGE, 413)
    try:
        params = sms_gateways.vonage_params(request)
    except ValidationError as exc:
        return _refused("vonage", "malformed", exc.messages[0], 400)
    if not sms_gateways.vonage_signature_valid(params):
        return _refused("vonage", "signature", sms_gateways.ERR_SIGNATURE, 403)
    if not sms_gateways.vonage_timestamp_fresh(params):
        return _refused("vonage", "stale", sms_gateways.ERR_TIMESTAMP, 403)
    try:
        message = sms_gateways.vonage_parse(params)
    except ValidationError as exc:
        return _refused("vonage", "malformed", exc.messages[0], 400)
    if message.concat is not None:
        sms.sms_inbound_part_record(message=message)  # acted on once every part has come
    else:
        sms.sms_inbound_record(message=message)
    return HttpResponse(status=200)


@public
@csrf_exempt
@require_POST
def sms_esendex(request, secret: str):
    """Esendex's XML pushes: 413, 403 without the secret and basic auth, 400 malformed, else 200."""
    if sms_gateways.body_too_large(request):
        return _refused("esendex", "too_large", sms_gateways.ERR_TOO_LARGE, 413)
    if not sms_gateways.esendex_credentials_valid(request=request, secret=secret):
        return _refused("esendex", "credentials", sms_gateways.ERR_SECRET, 403)
    try:
        message = sms_gateways.esendex_parse(request.body)
    except ValidationError as exc:
        return _refused("esendex", "malformed", exc.messages[0], 400)
    sms.sms_inbound_record(message=message)
    return HttpResponse(status=200)


ERR_NUMBER_MISSING = "Give the number to screen: ?number=…"


# The dialler's pre-dial check: a server-to-server GET authenticated by a bearer token (stored
# hashed, expiring), not a session; nothing without a valid token. One statement answers any
# number (services/dialler.py), and one more writes the access-log entry.
@public
@never_cache
@require_GET
def dialler_screen(request):
    """May the dialler make a marketing call to ?number= now: allowed, reasons, file dates."""
    number = request.GET.get("number", "").strip()
    header = request.headers.get("Authorization")
    if not number or len(number) > 40:
        if dialler.authenticate(header) is None:
            return _dialler_refused(header)
        return JsonResponse({"error": ERR_NUMBER_MISSING}, status=400)
    check = dialler.pre_dial(header, number)
    if check is None:
        return _dialler_refused(header)
    dialler.pre_dial_record(check, ip_address=request.META.get("REMOTE_ADDR"))
    return JsonResponse(check.screening.as_dict())


def _dialler_refused(header: str | None) -> JsonResponse:
    """401 naming why (RFC 6750: `invalid_token` once a token was sent); logged with the token's id."""
    why = dialler.refusal(header)
    security_log.warning("dialler screen refused: reason=%s token_id=%s", why.reason, why.token_id)
    response = JsonResponse({"error": why.message, "reason": why.reason}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"' if dialler.bearer(header) else "Bearer"
    return response


@public
@csrf_exempt
@require_POST
def email_sendgrid_events(request):
    """SendGrid's signed Event Webhook: 413 too large, 403 unsigned, 400 malformed, else 200."""
    if sms_gateways.body_too_large(request, limit=email_events.MAX_BODY_BYTES):
        return _refused("sendgrid", "too_large", email_events.ERR_TOO_LARGE, 413)
    signature = request.headers.get(email_events.SIGNATURE_HEADER)
    timestamp = request.headers.get(email_events.TIMESTAMP_HEADER)
    if not email_events.signature_valid(body=request.body, signature=signature, timestamp=timestamp):
        return _refused("sendgrid", "signature", email_events.ERR_SIGNATURE, 403)
    try:
        events = email_events.events_parse(request.body)
    except ValidationError as exc:
        return _refused("sendgrid", "malformed", exc.messages[0], 400)
    email_events.email_events_record(events=events)
    return HttpResponse(status=200)
