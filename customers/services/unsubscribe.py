"""Unsubscribe links: a signed, non-guessable token per customer and channel.

Marketing emails embed :func:`unsubscribe_url`; the public page behind it records the
withdrawal with source "unsubscribe link". The token is the only authenticator: a
TimestampSigner signature (HMAC under SECRET_KEY, with a salt of its own so no other
signed value can be replayed as a link), over a payload holding the customer id and the
channel. It carries no personal value, and it expires after
legal.UNSUBSCRIBE_LINK_MAX_AGE_DAYS.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.urls import reverse

from privacy_portal import legal

from ..models import Channel, Customer, PreferenceChange, Purpose
from .preferences import preference_record

SALT = "customers.unsubscribe"
MAX_AGE = datetime.timedelta(days=legal.UNSUBSCRIBE_LINK_MAX_AGE_DAYS)

ERR_INVALID = "This unsubscribe link is not complete or has been changed."
ERR_EXPIRED = "This unsubscribe link has expired."
ERR_GONE = "This unsubscribe link no longer works."

# RFC 8058 section 3.1: the one-click POST's body is exactly this key and value.
ONE_CLICK_KEY, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"

# What the confirmation promises, from the legal figures (the privacy notice's "within 7 days").
PROMISE = {
    Channel.EMAIL: f"within {legal.OPT_OUT_DAYS_EMAIL} days",
    Channel.SMS: f"within {legal.OPT_OUT_DAYS_SMS} days",
    Channel.PHONE: f"within {legal.OPT_OUT_DAYS_PHONE} days",
    Channel.POST: f"within {legal.OPT_OUT_WEEKS_POST} weeks",
}

# How the page names the channel ("Unsubscribe from marketing by email").
CHANNEL_PHRASE = {
    Channel.EMAIL: "email",
    Channel.SMS: "text message",
    Channel.PHONE: "phone",
    Channel.POST: "post",
}


class UnsubscribeLinkError(Exception):
    """The token cannot be used. `message` is safe to show; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class UnsubscribeTarget:
    customer: Customer
    channel: str

    @property
    def channel_phrase(self) -> str:
        return CHANNEL_PHRASE[Channel(self.channel)]

    @property
    def promise(self) -> str:
        return PROMISE[Channel(self.channel)]


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def unsubscribe_token(customer: Customer, channel: str) -> str:
    """The signed token for `customer` leaving marketing on `channel`."""
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if customer.pk is None:
        raise ValueError("the customer must be saved first")
    return _signer().sign_object([customer.pk, str(channel)])


def unsubscribe_url(customer: Customer, channel: str) -> str:
    """The path of the public unsubscribe page (prefix it with the site's origin in emails)."""
    return reverse("public:unsubscribe", args=[unsubscribe_token(customer, channel)])


def unsubscribe_target(token: str) -> UnsubscribeTarget:
    """Read and check a token. Raises UnsubscribeLinkError for a tampered, malformed or expired
    token (400), or one naming a customer who is no longer there or has been erased (404)."""
    try:
        payload = _signer().unsign_object(token, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise UnsubscribeLinkError(ERR_EXPIRED, 400) from None
    except signing.BadSignature:
        raise UnsubscribeLinkError(ERR_INVALID, 400) from None
    if not (
        isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int) and payload[1] in Channel.values
    ):
        raise UnsubscribeLinkError(ERR_INVALID, 400)
    customer = Customer.objects.filter(pk=payload[0]).first()
    if customer is None or customer.is_erased:
        raise UnsubscribeLinkError(ERR_GONE, 404)
    return UnsubscribeTarget(customer=customer, channel=payload[1])


@transaction.atomic
def unsubscribe_confirm(*, token: str, one_click: bool = False) -> tuple[UnsubscribeTarget, PreferenceChange, bool]:
    """Withdraw direct marketing on the token's channel. Returns (target, change, created).

    `one_click`: the mailbox provider's RFC 8058 POST ("List-Unsubscribe=One-Click"), recorded
    with source "one-click unsubscribe", due within legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK days.

    Idempotent: a second confirmation records nothing and returns the opt-out already in
    place, so its take-effect date never moves. The customer row is locked so two clicks
    at once cannot both record a change. No member of staff acts: actor is None.
    """
    target = unsubscribe_target(token)
    customer = Customer.objects.select_for_update().get(pk=target.customer.pk)
    if customer.is_erased:  # erased between the check and the lock
        raise UnsubscribeLinkError(ERR_GONE, 404)
    change, created = preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=target.channel,
        granted=False,
        source=PreferenceChange.Source.ONE_CLICK if one_click else PreferenceChange.Source.UNSUBSCRIBE_LINK,
    )
    return UnsubscribeTarget(customer=customer, channel=target.channel), change, created
