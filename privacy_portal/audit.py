"""The access log: recording reads of personal data (ids and field names only), chaining
each entry to the one before, and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import GENESIS_HASH, AccessEvent, AccessEventText, free_text_commitment

Action = AccessEvent.Action

# The chainer's lock: one chainer at a time, so each entry gets exactly one predecessor. Only
# the chainer takes it; requests that write entries never do.
CHAIN_LOCK_ID = 0x5050_4C4F47  # "PPLOG"
CHAIN_BATCH_SIZE = 5000


def entry_hash(prev_hash: str, content: dict) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON content."""
    payload = prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_pending(*, wait: bool = True, batch_size: int = CHAIN_BATCH_SIZE) -> int:
    """Chain every entry committed so far but not yet chained; return how many it chained.

    The one writer of the chain. Under its lock it reads the chain's head *in a statement after
    the lock* (so, under READ COMMITTED, a snapshot taken after the previous chainer committed),
    then gives the pending entries, in id order, the next positions (`chain_seq`) and their
    hashes. Pending entries are found by `hash IS NULL`, never by "id above the last chained
    id": ids are drawn before commit, so an entry can commit after one with a higher id; it
    is simply chained later, at a later position. Verification walks positions, not ids.

    `wait=False` (the every-few-seconds beat task) returns 0 at once when another chainer holds
    the lock, so chainer runs never queue up behind each other.
    """
    total = 0
    while True:
        with transaction.atomic():
            if not _take_chain_lock(wait):
                return total
            head = (
                AccessEvent.objects.filter(chain_seq__isnull=False)
                .order_by("-chain_seq")
                .values_list("chain_seq", "hash")
                .first()
            )
            seq, prev = head or (0, GENESIS_HASH)
            pending = AccessEvent.objects.filter(hash__isnull=True, chain_seq__isnull=True)
            batch = list(pending.order_by("pk")[:batch_size])
            for event in batch:
                seq += 1
                event.chain_seq, event.prev_hash = seq, prev
                event.hash = prev = entry_hash(prev, event.content())
            _write_chain_columns(batch)
        total += len(batch)
        if len(batch) < batch_size:
            return total


def _take_chain_lock(wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (the local demo) serialises writers itself.
    # Its own statement: every later statement of this transaction sees what was committed
    # before the lock was granted.
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
        return cursor.fetchone()[0]


def _write_chain_columns(events: list[AccessEvent]) -> None:
    """Fill in the three chain columns (the only update the append-only trigger allows)."""
    if not events:
        return
    if connection.vendor != "postgresql":
        AccessEvent.objects.bulk_update(events, ["chain_seq", "prev_hash", "hash"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE privacy_portal_accessevent AS e SET chain_seq = v.seq, prev_hash = v.prev, hash = v.hash "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[]) AS v(id, seq, prev, hash) "
            "WHERE e.id = v.id AND e.hash IS NULL",
            [
                [e.pk for e in events],
                [e.chain_seq for e in events],
                [e.prev_hash for e in events],
                [e.hash for e in events],
            ],
        )
        if cursor.rowcount != len(events):  # only this chainer writes these columns, under its lock
            raise RuntimeError("Access log chainer: an entry was chained by someone else meanwhile.")


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
    """Record that `request.user` read personal data. Never pass personal values here.

    A `reason` (free text) goes to the side table, never into the append-only entry: the entry
    keeps its salted commitment (see AccessEventText)."""
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


REDACTED_OWN = ""  # a reason given for opening the erased person's own record: removed whole


@transaction.atomic
def redact_free_text(*, customer_id: int, actor, redact: Callable[[str], str] | None = None) -> int:
    """Erasure's part in the access log: redact the free text kept beside the person's entries.

    The text of every entry about the customer (a break-glass reason for opening them) is
    removed whole; with `redact` (erasure's redactor for the person), any other entry's text
    that names them is redacted in place. Either way the salt is destroyed, so the digest the
    chain covers can no longer be opened or confirmed by guessing, and the chain itself is
    untouched: `verify_audit_log` still verifies. One chained scrub entry records which entries'
    text was redacted (ids only); returns how many. Running it again changes nothing.
    """
    open_texts = AccessEventText.objects.select_for_update().filter(redacted_at__isnull=True).order_by("pk")
    changed: list[AccessEventText] = []
    for row in open_texts.filter(event__customer_id=customer_id):
        row.text = REDACTED_OWN
        changed.append(row)
    if redact is not None:
        for row in open_texts.exclude(event__customer_id=customer_id):
            redacted = redact(row.text)
            if redacted != row.text:
                row.text = redacted
                changed.append(row)
    if not changed:
        return 0
    entry = audit_scrub(
        actor=actor,
        what=AccessEventText._meta.label,
        customer_id=customer_id,
        details={"field": "text", "rows": len(changed), "redacted_entries": sorted(r.pk for r in changed)},
    )
    now = timezone.now()
    for row in changed:
        row.salt, row.redacted_at, row.redaction_entry = "", now, entry
    AccessEventText.objects.bulk_update(changed, ["text", "salt", "redacted_at", "redaction_entry"])
    return len(changed)


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    chain_seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id}" + (f" (position {self.chain_seq})" if self.chain_seq else "")
        return f"{where}: {self.problem}"


BROKEN_LINK = "does not point at the entry before it (an entry removed, inserted or reordered)"
ALTERED = "its content no longer matches its hash (the entry was altered)"
HALF_CHAINED = "has only part of its chain columns (the chain was edited by hand)"
TEXT_ALTERED = "its free text no longer matches the commitment the chain covers (the text was altered)"
TEXT_MISSING = "its free text is missing (removed from the side table)"
TEXT_UNEXPECTED = "has free text beside it that it never committed to"
TEXT_REDACTED_UNRECORDED = "its free text was redacted without a chained scrub entry recording it"


@dataclass
class ChainReport:
    """What verification found: every break (not only the first), and how many entries are
    pending (written, not chained yet: normal for the last few seconds, not a break)."""

    checked: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    pending: int = 0
    oldest_pending_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_broken_id(self) -> int | None:
        return self.breaks[0].entry_id if self.breaks else None

    def summary(self) -> str:
        pending = f"; {self.pending} pending (not chained yet, not a break)" if self.pending else ""
        if self.ok:
            return f"Audit log chain intact: {self.checked} entries checked{pending}."
        return f"Audit log chain broken in {len(self.breaks)} places ({self.checked} entries checked{pending}):"


def verify_chain(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chained entries in chain order, recomputing every hash, and report every break.

    After a break the walk goes on from the entry as it stands (its stored hash is what the
    next entry points at), so one altered or removed entry is reported once and a second break
    further on is reported too. Entries not chained yet are counted as pending, not broken.
    """
    report = ChainReport()
    expected_prev = GENESIS_HASH
    chained = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("chain_seq")
    for event in chained.iterator(chunk_size=batch_size):
        report.checked += 1
        if event.hash is None or event.prev_hash is None:
            report.breaks.append(ChainBreak(event.pk, event.chain_seq, HALF_CHAINED))
            continue
        if event.prev_hash != expected_prev:
            report.breaks.append(ChainBreak(event.pk, event.chain_seq, BROKEN_LINK))
        if entry_hash(event.prev_hash, event.content()) != event.hash:
            report.breaks.append(ChainBreak(event.pk, event.chain_seq, ALTERED))
        expected_prev = event.hash
    report.breaks += _free_text_breaks()
    unchained = AccessEvent.objects.filter(chain_seq__isnull=True)
    for pk in unchained.exclude(hash__isnull=True).values_list("pk", flat=True):
        report.breaks.append(ChainBreak(pk, None, HALF_CHAINED))
    pending = unchained.filter(hash__isnull=True)
    report.pending = pending.count()
    report.oldest_pending_id = pending.order_by("pk").values_list("pk", flat=True).first()
    return report


def _free_text_breaks() -> list[ChainBreak]:
    """The side table against the commitments in the chain: unredacted text must open its
    entry's digest; redacted text must be named by the chained scrub entry that redacted it."""
    breaks = []
    missing = AccessEvent.objects.exclude(reason_digest="").filter(free_text__isnull=True)
    for pk, seq in missing.values_list("pk", "chain_seq"):
        breaks.append(ChainBreak(pk, seq, TEXT_MISSING))
    rows = AccessEventText.objects.select_related("event", "redaction_entry").order_by("pk")
    for row in rows.iterator(chunk_size=2000):
        event = row.event
        if not event.reason_digest:
            problem = TEXT_UNEXPECTED
        elif row.redacted_at is None:
            problem = None if _opens(row.salt, row.text, event.reason_digest) else TEXT_ALTERED
        else:
            scrub = row.redaction_entry
            named = scrub is not None and row.pk in (scrub.details or {}).get("redacted_entries", [])
            problem = None if named and scrub.action == AccessEvent.Action.SCRUB else TEXT_REDACTED_UNRECORDED
        if problem:
            breaks.append(ChainBreak(event.pk, event.chain_seq, problem))
    return breaks


def _opens(salt_hex: str, text: str, digest: str) -> bool:
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return len(salt) == 32 and free_text_commitment(salt, text) == digest
