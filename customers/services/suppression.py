"""The suppression list: keyed one-way hashes of identifiers never to contact again."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import transaction

from privacy_portal.models import User
from privacy_portal.tracked import get_or_create_tracked

from ..models import Channel, Customer, SuppressionEntry
from .normalise import address_key


def identifier_hash(identifier: str) -> str:
    """HMAC-SHA256 of a normalised identifier under the installation's secret key.

    Keyed, so the list cannot be reversed by hashing a dictionary of emails or numbers
    without the key; one-way, so it keeps no personal value.
    """
    key = settings.SUPPRESSION_HASH_KEY.encode()
    return hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()


def channel_identifier(customer: Customer, channel: str) -> str:
    """The normalised identifier a channel reaches the customer by ('' if we have none)."""
    if channel == Channel.EMAIL:
        return customer.email
    if channel in (Channel.SMS, Channel.PHONE):
        return customer.phone
    if channel == Channel.POST:
        return address_key(customer.address_line1, customer.postcode)
    raise ValueError(f"unknown channel {channel!r}")


@transaction.atomic
def suppression_add(*, actor: User | None, channel: str, identifier: str, reason: str) -> SuppressionEntry | None:
    """Suppress `identifier` on `channel`. Idempotent: an existing entry is kept as it is.

    `actor`: who recorded what it follows from (None for a gateway, a provider or a replay)."""
    if not identifier:
        return None
    entry, _ = get_or_create_tracked(
        SuppressionEntry.objects.all(),
        actor=actor,
        reason=suppression_reason(reason),
        channel=channel,
        identifier_hash=identifier_hash(identifier),
        defaults={"reason": reason},
    )
    return entry


def suppression_reason(reason: str) -> str:
    """The history reason of a new suppression entry: its own reason's label."""
    return f"Suppressed: {SuppressionEntry.Reason(reason).label}"


def suppression_add_customer(
    *, actor: User | None, customer: Customer, channels, reason: str
) -> list[SuppressionEntry]:
    """Suppress every identifier the customer has on each of `channels`."""
    entries = []
    for channel in channels:
        entry = suppression_add(
            actor=actor, channel=channel, identifier=channel_identifier(customer, channel), reason=reason
        )
        if entry is not None:
            entries.append(entry)
    return entries


def suppression_add_identifiers(*, actor: User | None, identifiers, reason: str) -> list[SuppressionEntry]:
    """Suppress every identifier the person has ever had on record (customers.subject.Identifiers:
    current and former emails, numbers on SMS and phone, postal addresses): a list holding a
    former one must not reach them either."""
    wanted = [(Channel.EMAIL, email) for email in sorted(identifiers.emails)]
    for phone in sorted(identifiers.phones):
        wanted += [(Channel.SMS, phone), (Channel.PHONE, phone)]
    wanted += [(Channel.POST, key) for key in sorted(identifiers.postal_keys)]
    entries = [
        suppression_add(actor=actor, channel=channel, identifier=value, reason=reason) for channel, value in wanted
    ]
    return [entry for entry in entries if entry is not None]


def is_suppressed(*, channel: str, identifier: str) -> bool:
    if not identifier:
        return False
    return SuppressionEntry.objects.filter(channel=channel, identifier_hash=identifier_hash(identifier)).exists()
