"""Abuse limits of the public forms: rate limits per network address and per email address
(django-ratelimit, counting in the shared cache RATELIMIT_USE_CACHE: Redis in production),
and the honeypot. Every refusal is logged with the form's name and which limit, never with
what was submitted (the address itself is personal data: not logged either)."""

from __future__ import annotations

import hashlib
import logging

from django_ratelimit.core import is_ratelimited

from customers.services.normalise import email_key
from privacy_portal import legal

log = logging.getLogger("portal.security")

ERR_TOO_MANY = (
    "We have had too many submissions from your connection in a short time, so we did not take this one. "
    "Please wait a few minutes and try again, or write to us by post."
)


def _email_key(email: str):
    digest = hashlib.sha256(email_key(email).encode()).hexdigest()
    return lambda group, request: digest


def address_refused(request, *, form: str) -> bool:
    """Count one submission of `form` from the request's address; True once past a limit."""
    for rate in (legal.PUBLIC_FORM_RATE_PER_ADDRESS, legal.PUBLIC_FORM_RATE_PER_ADDRESS_HOUR):
        if is_ratelimited(request, group=f"public:{form}:ip:{rate}", key="ip", rate=rate, increment=True):
            log.warning("public form refused: rate limit form=%s limit=address:%s", form, rate)
            return True
    return False


def email_refused(request, *, form: str, email: str) -> bool:
    """Count one submission of `form` for `email` (any address it comes from)."""
    rate = legal.PUBLIC_FORM_RATE_PER_EMAIL
    if is_ratelimited(request, group=f"public:{form}:email", key=_email_key(email), rate=rate, increment=True):
        log.warning("public form refused: rate limit form=%s limit=email:%s", form, rate)
        return True
    return False


def honeypot_refused(form_obj, *, form: str) -> bool:
    if form_obj.is_bot():
        log.warning("public form refused: honeypot filled form=%s", form)
        return True
    return False
