"""Login-free pages: the unsubscribe link and the SMS gateway's webhook."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from privacy_portal.access import public

from ..services import sms
from ..services.unsubscribe import UnsubscribeLinkError, unsubscribe_confirm, unsubscribe_target

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
            target, change, _created = unsubscribe_confirm(token=token)
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


urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
    path("sms/inbound/", sms_inbound, name="sms_inbound"),
]
