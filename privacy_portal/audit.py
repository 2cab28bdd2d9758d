"""The access log: recording reads of personal data (ids and field names only), chaining
each entry to the one before, and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.http import HttpRequest

from .models import GENESIS_HASH, AccessEvent

Action = AccessEvent.Action

# One advisory lock serialises appends so each entry chains to exactly one predecessor.
CHAIN_LOCK_ID = 0x5050_4C4F47  # "PPLOG"


def entry_hash(prev_hash: str, content: dict) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON content."""
    payload = prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_and_insert(event: AccessEvent, insert: Callable[[], None]) -> None:
    # No savepoint: inside an outer transaction the lock simply lasts until it commits.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            # Take the lock and read the last hash in one round trip (the lock is taken first:
            # the scalar subquery is evaluated after the function in the select list).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s), "
                    "(SELECT hash FROM privacy_portal_accessevent ORDER BY id DESC LIMIT 1)",
                    [CHAIN_LOCK_ID],
                )
                last = cursor.fetchone()[1]
        else:
            last = AccessEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
        event.prev_hash = last or GENESIS_HASH
        event.hash = entry_hash(event.prev_hash, event.content())
        insert()


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def access_record(
    *,
    request: HttpRequest,
    action: str,
    customer_id: int | None = None,
    obj=None,
    result_ids: Iterable[int] = (),
    search_kind: str = "",
    reason: str = "",
    flagged: bool = False,
) -> AccessEvent:
    """Record that `request.user` read personal data. Never pass personal values here."""
    return AccessEvent.objects.create(
        user=request.user,
        action=action,
        customer_id=customer_id,
        object_type=obj._meta.label if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        result_ids=list(result_ids),
        search_kind=search_kind,
        ip_address=_client_ip(request),
        reason=reason,
        flagged=flagged,
    )


def audit_scrub(*, actor, what: str, customer_id: int | None = None, details: dict) -> AccessEvent:
    """A chained entry for erasure or retention scrubbing: which tables and fields, how many
    rows; never the values. `actor` is None for the nightly jobs."""
    return AccessEvent.objects.create(
        user=actor, action=Action.SCRUB, customer_id=customer_id, object_type=what, details=details
    )


@dataclass
class ChainReport:
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(*, batch_size: int = 5000) -> ChainReport:
    """Walk the log in id order, recomputing every hash; name the first broken link."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AccessEvent.objects.order_by("pk").iterator(chunk_size=batch_size):
        checked += 1
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.pk, "does not point at the entry before it (a row removed or inserted)")
        if entry_hash(event.prev_hash, event.content()) != event.hash:
            return ChainReport(checked, event.pk, "its content no longer matches its hash (the row was altered)")
        expected_prev = event.hash
    return ChainReport(checked)
