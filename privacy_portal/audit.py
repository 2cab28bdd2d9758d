"""The access log: recording reads of personal data (ids and field names only), chaining
each entry to the one before, and verifying the chain."""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.sql import InsertQuery
from django.http import HttpRequest
from django.utils import timezone

from customers.services.legal_holds import held_among

from .mail import email_dpo
from .models import GENESIS_HASH, AccessEvent, AccessEventText, BreakGlassReview, free_text_commitment
from .private_storage import file_read_text, file_write_now, private_path
from .services.replay import record_access_log_trim

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
            seq, prev = cast("tuple[int, str]", head or (0, GENESIS_HASH))  # chained rows have both
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
    details: dict | None = None,
) -> AccessEvent:
    """Record that `request.user` read personal data. Never pass personal values here (`details`:
    codes and counts only).

    A `reason` (free text) goes to the side table, never into the append-only entry: the entry
    keeps its salted commitment (see AccessEventText)."""
    # `reason` is a property (saved to the side table) the stubs do not know as an argument.
    return AccessEvent.objects.create(  # type: ignore[misc]
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
        details=details or {},
    )


def access_entry(
    *,
    user,
    action: str,
    customer_id: int | None = None,
    obj=None,
    object_type: str = "",
    object_id: int | None = None,
    result_ids: Iterable[int] = (),
    ip_address: str | None = None,
    details: dict | None = None,
    cursor_factory: Callable | None = None,
) -> AccessEvent:
    """An access-log entry not written for a signed-in member of staff's request (access_record):
    a read with no member of staff (the requester at the public door, the dialler; `user` None,
    the actor named in `details`) or a record of what a member of staff was handed (a promise
    report). Ids and codes only, never personal values; no free text (nothing for the side
    table). `object_type` and `object_id` default to `obj`'s model label and id.

    With `cursor_factory` (the dialler's prepared cursor, on its hot path), on PostgreSQL the row
    the ORM would write is inserted by one prepared statement (the ORM's INSERT, compiled once by
    its own compiler, values converted by each field) and the entry returned has no id;
    elsewhere (SQLite, the demo) the ORM saves it. Unchained either way (the chainer links it)."""
    event = AccessEvent(
        user=user,
        action=action,
        customer_id=customer_id,
        object_type=object_type or (obj._meta.label if obj is not None else ""),
        object_id=obj.pk if obj is not None else object_id,
        result_ids=list(result_ids),
        ip_address=ip_address or None,
        details=details or {},
    )
    if cursor_factory is None or connection.vendor != "postgresql":
        event.save()
        return event
    sql, fields = _insert_statement()
    with cursor_factory() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields])
    return event


@functools.cache
def _insert_statement() -> tuple[str, list]:
    """The INSERT the ORM sends for an AccessEvent (every column but the id), compiled once by the
    ORM's own compiler: the same statement, without compiling it again for every entry."""
    fields = [f for f in AccessEvent._meta.local_concrete_fields if f is not AccessEvent._meta.pk]
    query = InsertQuery(AccessEvent)
    query.insert_values(fields, [AccessEvent(action=AccessEvent.Action.DIALLER_SCREEN)])
    [(sql, _params)] = query.get_compiler(connection=connection).as_sql()
    return sql, fields


def audit_scrub(*, actor, what: str, customer_id: int | None = None, details: dict) -> AccessEvent:
    """A chained entry for erasure or retention scrubbing: which tables and fields, how many
    rows; never the values. `actor` is None for the nightly jobs."""
    return AccessEvent.objects.create(
        user=actor, action=Action.SCRUB, customer_id=customer_id, object_type=what, details=details
    )


REDACTED_OWN = ""  # a reason given for opening the erased person's own record: removed whole


def _mac(purpose: str, payload) -> str:
    """HMAC-SHA256 with the audit key (settings.AUDIT_LOG_KEY, never in the database) over a
    purpose and a canonical JSON payload: what someone with the database alone cannot forge."""
    message = purpose + ":" + json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.AUDIT_LOG_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def kept_commitment(text: str) -> str:
    """The commitment to the text left after redaction, held in the chained scrub entry: keyed,
    so it cannot be used to confirm a guess about what the redacted text says."""
    return _mac("kept", text)


def _scrub_record(rows: list[tuple[int, str, str]]) -> dict:
    """The scrub entry's record of a redaction: per side-table row, the entry, the commitment of
    what was removed (the entry's own digest) and of what is kept; signed with the audit key."""
    redacted = [{"entry": pk, "removed": removed, "kept": kept} for pk, removed, kept in sorted(rows)]
    return {"redacted": redacted, "mac": _mac("scrub", redacted)}


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
    digests = dict(AccessEvent.objects.filter(pk__in=[r.pk for r in changed]).values_list("pk", "reason_digest"))
    record = _scrub_record([(r.pk, digests[r.pk], kept_commitment(r.text)) for r in changed])
    entry = audit_scrub(
        actor=actor,
        what=AccessEventText._meta.label,
        customer_id=customer_id,
        details={"field": "text", "rows": len(changed), "redacted_entries": sorted(r.pk for r in changed), **record},
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
TEXT_SCRUB_FORGED = (
    "its free text was redacted under a scrub entry that is not the portal's (its signature, the commitment of "
    "what was removed or of what is kept does not match)"
)
CHECKPOINT_BAD_SIGNATURE = "the checkpoint file's signature does not match (the checkpoint was altered)"
CHECKPOINT_SHORTER = "the log ends before the checkpoint's last entry (entries removed from the end of the log)"
CHECKPOINT_DIFFERS = "its hash differs from the checkpoint's (the log was rewritten since the checkpoint)"


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
    # The walk starts at the genesis hash, or at the signed checkpoint of the segment deleted
    # last (retention: access_log_trim).
    records, segment_breaks = _segment_records()
    expected_prev, start_breaks, trimmed_through = _segment_start(records)
    report.breaks += segment_breaks + start_breaks
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
    report.breaks += verify_checkpoint(trimmed_through=trimmed_through)
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
        problem: str | None
        if not event.reason_digest:
            problem = TEXT_UNEXPECTED
        elif row.redacted_at is None:
            problem = None if _opens(row.salt, row.text, event.reason_digest) else TEXT_ALTERED
        else:
            problem = _scrub_problem(row, event)
        if problem:
            breaks.append(ChainBreak(event.pk, event.chain_seq, problem))
    return breaks


def _scrub_problem(row: AccessEventText, event: AccessEvent) -> str | None:
    """A redacted row must be named by a scrub entry in the chain (chained, or pending for the
    few seconds before the chainer runs, when verify_chain counts it as pending) whose record
    is signed with the audit key and holds the commitment of what was removed (the entry's
    digest) and of the text kept (which the row must match)."""
    scrub = row.redaction_entry
    if scrub is None or scrub.action != AccessEvent.Action.SCRUB:
        return TEXT_REDACTED_UNRECORDED
    details = scrub.details or {}
    record = {r.get("entry"): r for r in details.get("redacted", []) if isinstance(r, dict)}.get(row.pk)
    if record is None:
        return TEXT_REDACTED_UNRECORDED
    signed = hmac.compare_digest(str(details.get("mac", "")), _mac("scrub", details.get("redacted")))
    if not signed or record.get("removed") != event.reason_digest or record.get("kept") != kept_commitment(row.text):
        return TEXT_SCRUB_FORGED
    return None


def _opens(salt_hex: str, text: str, digest: str) -> bool:
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return len(salt) == 32 and free_text_commitment(salt, text) == digest


# --- The checkpoint: the chain's head anchored outside the database -------------------------------

CHECKPOINT_FILE = "audit/checkpoint.json"
CHECKPOINT_FILE_MODE = 0o640  # owner read-write, group read, as it has always been written


def read_checkpoint() -> dict | None:
    """The last checkpoint written (None if there is none)."""
    text = file_read_text(CHECKPOINT_FILE)
    return None if text is None else json.loads(text)


def write_checkpoint() -> dict | None:
    """Write the chain's head (position and hash, signed with the audit key) to a file under
    private storage, outside the database: a log cut short or rewritten afterwards no longer
    reaches it (verify_checkpoint). Written by the nightly verification when the chain is whole;
    the file is replaced atomically. None when nothing is chained yet."""
    head = (
        AccessEvent.objects.filter(chain_seq__isnull=False)
        .order_by("-chain_seq")
        .values_list("chain_seq", "hash")
        .first()
    )
    if head is None:
        return None
    seq, head_hash = head
    body = {"seq": seq, "hash": head_hash, "at": timezone.now().isoformat(timespec="seconds")}
    checkpoint = {**body, "mac": _mac("checkpoint", body)}
    private_path(CHECKPOINT_FILE).parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    file_write_now(CHECKPOINT_FILE, json.dumps(checkpoint, sort_keys=True).encode(), mode=CHECKPOINT_FILE_MODE)
    return checkpoint


def access_log_check_nightly() -> dict:
    """The nightly check of the access log: chain what is pending, verify the hash chain end to
    end (and against the last checkpoint), write the new checkpoint of its head, and on any
    break email the DPO naming every broken entry. Returns what the job run records."""
    chained = chain_pending()
    report = verify_chain()
    # The head anchored outside the database, only from a chain that verified (and
    # matched the previous checkpoint): a later truncation or rewrite is caught against it.
    checkpoint = write_checkpoint() if report.ok else None
    if not report.ok:
        broken = "\n".join(f"- {b}" for b in report.breaks)
        email_dpo(
            subject="Privacy Portal: the access log's tamper check failed",
            body=f"The access log's hash chain is broken in {len(report.breaks)} places "
            f"({report.checked} entries checked):\n{broken}\n\n"
            "Investigate before anything else changes: run `manage.py verify_audit_log`.",
            kind="access_log_broken",
            breaks=len(report.breaks),
        )
    return {
        "chained": chained,
        "checked": report.checked,
        "ok": report.ok,
        "breaks": len(report.breaks),
        # The job record keeps the first ids; the email and the command name them all.
        "broken_ids": [b.entry_id for b in report.breaks[:100]],
        "pending": report.pending,
        "checkpoint_seq": checkpoint["seq"] if checkpoint else None,
    }


def verify_checkpoint(*, trimmed_through: int = 0) -> list[ChainBreak]:
    """Compare the chain with the last checkpoint: its signature must hold, the entry at its
    position must still exist and carry its hash (a log truncated at the end, or rebuilt with
    new hashes, fails here even though it verifies by itself). A head checkpoint at or below
    `trimmed_through` (the last position a signed segment checkpoint says was deleted) was
    superseded by that segment checkpoint, written from a chain that verified."""
    checkpoint = read_checkpoint()
    if checkpoint is None:
        return []
    body = {k: checkpoint.get(k) for k in ("seq", "hash", "at")}
    if not hmac.compare_digest(str(checkpoint.get("mac", "")), _mac("checkpoint", body)):
        return [ChainBreak(0, body["seq"], CHECKPOINT_BAD_SIGNATURE)]
    if isinstance(body["seq"], int) and body["seq"] <= trimmed_through:
        return []
    entry = AccessEvent.objects.filter(chain_seq=body["seq"]).values_list("pk", "hash").first()
    if entry is None:
        last = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("-chain_seq").values_list("pk", flat=True)
        return [ChainBreak(last.first() or 0, body["seq"], CHECKPOINT_SHORTER)]
    if entry[1] != body["hash"]:
        return [ChainBreak(entry[0], body["seq"], CHECKPOINT_DIFFERS)]
    return []


# --- Retention: the oldest segment deleted behind a signed segment checkpoint --------------------
#
# The access log is kept for legal.ACCESS_LOG_RETENTION_YEARS (retention.SCHEDULE, "access_log").
# At the end of that period the nightly retention run deletes the oldest segment: a prefix of the
# chain (positions first..N), never a cut in the middle. In the same transaction it appends a
# chained scrub entry holding the segment checkpoint — position N, the id and hash of the last
# entry deleted, the count, the period and when — signed with the audit key (never in the
# database). Verification then starts the walk from that checkpoint: the first entry left must
# sit at N+1 and point at the checkpoint's hash. A prefix deleted with no signed checkpoint for
# it, a forged checkpoint, or a cut in the middle still fail.

SEGMENT_OBJECT_TYPE = "access log segment"
# Entries deleted per night at most: one bounded transaction; a backlog goes over several nights.
SEGMENT_MAX = 50_000
# The one session setting the append-only triggers read: DELETE is allowed for chained entries at
# or below this position (and their side-table text), inside the transaction that sets it.
TRIM_SETTING = "privacy_portal.trim_through"

SEGMENT_FIELDS = ("from_seq", "through_seq", "through_id", "hash", "count", "period", "cutoff", "at")
SEGMENT_UNRECORDED = (
    "the log's oldest entries were deleted, but no signed segment checkpoint records the deletion "
    "(entries removed from the start of the log)"
)
SEGMENT_FORGED = "a segment checkpoint whose signature does not match (not written by the portal)"
SEGMENT_DIFFERS = "its hash differs from the segment checkpoint's (the log was rewritten)"


def _segment_records() -> tuple[list[dict], list[ChainBreak]]:
    """The signed segment checkpoints held in the log (chained or still pending), and a break for
    each one whose signature does not hold."""
    records, breaks = [], []
    rows = AccessEvent.objects.filter(action=Action.SCRUB, object_type=SEGMENT_OBJECT_TYPE).order_by("pk")
    for pk, seq, details in rows.values_list("pk", "chain_seq", "details"):
        details = details if isinstance(details, dict) else {}
        body = {k: details.get(k) for k in SEGMENT_FIELDS}
        if hmac.compare_digest(str(details.get("mac", "")), _mac("segment", body)):
            records.append({**body, "entry_id": pk})
        else:
            breaks.append(ChainBreak(pk, seq, SEGMENT_FORGED))
    return records, breaks


def _segment_start(records: list[dict]) -> tuple[str, list[ChainBreak], int]:
    """Where the walk starts: the genesis hash when the log starts at position 1; otherwise the
    hash of the signed checkpoint the first entry continues from. Also the breaks found (a prefix
    removed with no checkpoint, an entry at a checkpoint's position with another hash) and the
    last position the checkpoints say was deleted (0 if none)."""
    breaks: list[ChainBreak] = []
    first = cast(
        "tuple[int, int, str] | None",  # chained rows have a position and a previous hash
        AccessEvent.objects.filter(chain_seq__isnull=False)
        .order_by("chain_seq")
        .values_list("pk", "chain_seq", "prev_hash")
        .first(),
    )
    trimmed_through = max((r["through_seq"] for r in records if isinstance(r["through_seq"], int)), default=0)
    for r in records:
        # A checkpoint's position still present (a restore from before the trim): it must match.
        kept = AccessEvent.objects.filter(chain_seq=r["through_seq"]).values_list("pk", "hash").first()
        if kept is not None and kept[1] != r["hash"]:
            breaks.append(ChainBreak(kept[0], r["through_seq"], SEGMENT_DIFFERS))
    if first is None or first[1] == 1:
        return GENESIS_HASH, breaks, trimmed_through
    pk, seq, prev = first
    if any(r["through_seq"] == seq - 1 and r["hash"] == prev for r in records):
        return prev, breaks, trimmed_through
    breaks.append(ChainBreak(pk, seq, SEGMENT_UNRECORDED))
    return GENESIS_HASH, breaks, trimmed_through


def _segment_cut(*, cutoff, held: frozenset[int]) -> tuple[int, int] | None:
    """The oldest segment due for deletion: (first position, last position), or None.

    A prefix of the chain whose entries are all older than `cutoff`, at most SEGMENT_MAX long. It
    ends before the oldest entry concerning a customer under a legal hold (their own record, or a
    search that returned them): that entry is evidence for the open matter, and only a prefix can
    go, so the log stops shrinking until the hold ends. It also ends before a scrub entry that
    still-kept free text names as its redaction record (verification needs it)."""
    rows = cast(
        "list[tuple[int, datetime.datetime, int | None, list]]",  # chained rows have a position
        list(
            AccessEvent.objects.filter(chain_seq__isnull=False)
            .order_by("chain_seq")
            .values_list("chain_seq", "at", "customer_id", "result_ids")[: SEGMENT_MAX + 1]
        ),
    )
    if not rows:
        return None
    first, cut = rows[0][0], rows[0][0] - 1
    for index, (seq, at, customer_id, result_ids) in enumerate(rows):
        if index == SEGMENT_MAX or at >= cutoff:
            break
        if held and (customer_id in held or any(r in held for r in result_ids or () if isinstance(r, int))):
            break
        cut = seq
    # The head stays, so the chainer continues the chain from it (an empty log would restart at
    # position 1 from the genesis hash).
    head = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("-chain_seq")
    cut = min(cut, cast(int, head.values_list("chain_seq", flat=True).first()) - 1)  # rows exist (above)
    if cut < first:
        return None
    needed = (
        AccessEventText.objects.filter(redaction_entry__chain_seq__lte=cut)
        .exclude(event__chain_seq__lte=cut)
        .values_list("redaction_entry__chain_seq", flat=True)
    )
    lowest = min(cast("QuerySet[Any, int]", needed), default=None)  # the filter says it is chained
    if lowest is not None:
        cut = lowest - 1
    return (first, cut) if cut >= first else None


def _segment_customers(first: int, cut: int) -> set[int]:
    """Every customer the entries at positions first..cut are about: their own record, or a
    search that returned them (ids only)."""
    ids: set[int] = set()
    rows = AccessEvent.objects.filter(chain_seq__gte=first, chain_seq__lte=cut).values_list("customer_id", "result_ids")
    for customer_id, result_ids in rows.iterator(chunk_size=5000):
        if customer_id is not None:
            ids.add(customer_id)
        ids.update(r for r in result_ids or () if isinstance(r, int))
    return ids


def access_log_trim(
    *, cutoff, held: frozenset[int] = frozenset(), period: str = "", through: tuple[int, str] | None = None
) -> dict:
    """Delete the access log's oldest segment older than `cutoff` (see _segment_cut) behind a
    signed segment checkpoint; return counts only. Nothing is deleted from a chain that does not
    verify (the report says so): the checkpoint may only vouch for a chain that was whole.

    Each trim is recorded in the replay ledger. `through` is its replay after a backup restore:
    the position and hash the trim deleted up to. The cut goes no further, and nothing is cut if
    the entry at that position has another hash (not the log the trim saw); the holds are not
    read again, as a purge's replay: the trim was made when nothing held those entries."""
    span = _segment_cut(cutoff=cutoff, held=held)
    if span is not None and through is not None:
        seq, digest = through
        kept = AccessEvent.objects.filter(chain_seq=seq).values_list("hash", flat=True).first()
        if kept is not None and kept != digest:
            return {"entries": 0, "not_trimmed_log_differs": 1}
        span = (span[0], min(span[1], seq)) if span[0] <= seq else None
    if span is None:
        return {"entries": 0}
    if not verify_chain().ok:
        return {"entries": 0, "not_trimmed_chain_broken": 1}
    first, cut = span
    if through is not None:
        with transaction.atomic():
            _take_chain_lock(True)
            return _trim_segment(first, cut, cutoff=cutoff, period=period)
    with transaction.atomic():
        # The holds again, under the one lock rule of every purge (legal_holds.held_among): the
        # rows of the customers the segment is about are locked FOR UPDATE, then their holds read.
        # A complaint, request, breach link or hold committed since the run read them (its
        # verification takes a while) keeps the entries about the person; one committed from now
        # on waits for this transaction (its foreign-key check on the customer's row), so it
        # cannot slip in between this look and the deletion. The customers' rows first, then the
        # chain lock: the order a writer holding a customer's row and then chaining takes them.
        late_held = frozenset(held_among(_segment_customers(first, cut)))
        _take_chain_lock(True)
        late = _segment_cut(cutoff=cutoff, held=held | late_held)
        if late is None:
            return {"entries": 0}
        return _trim_segment(first, min(cut, late[1]), cutoff=cutoff, period=period)


@transaction.atomic
def _trim_segment(first: int, cut: int, *, cutoff, period: str) -> dict:
    """Delete positions first..cut behind a signed segment checkpoint, under the chain lock
    (access_log_trim decided them and holds it), and record the trim in the replay ledger."""
    last_id, last_hash = AccessEvent.objects.filter(chain_seq=cut).values_list("pk", "hash").get()
    segment = AccessEvent.objects.filter(chain_seq__gte=first, chain_seq__lte=cut)
    body = {
        "from_seq": first,
        "through_seq": cut,
        "through_id": last_id,
        "hash": last_hash,
        "count": segment.count(),
        "period": period,
        "cutoff": cutoff.isoformat(timespec="seconds"),
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    reviews = BreakGlassReview.objects.filter(event__chain_seq__lte=cut)
    review_ids = list(reviews.values_list("pk", flat=True))
    BreakGlassReview.history.model.objects.filter(id__in=review_ids).delete()
    BreakGlassReview.objects.filter(pk__in=review_ids).delete()
    BreakGlassReview.history.model.objects.filter(id__in=review_ids).delete()  # the "deleted" rows
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, %s, true)", [TRIM_SETTING, str(cut)])
        cursor.execute(
            "DELETE FROM privacy_portal_accesseventtext WHERE event_id IN "
            "(SELECT id FROM privacy_portal_accessevent WHERE chain_seq <= %s)",
            [cut],
        )
        texts = cursor.rowcount
        cursor.execute("DELETE FROM privacy_portal_accessevent WHERE chain_seq <= %s", [cut])
        entries = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, '', true)", [TRIM_SETTING])
    audit_scrub(actor=None, what=SEGMENT_OBJECT_TYPE, details={**body, "mac": _mac("segment", body)})
    record_access_log_trim(through_seq=cut, through_hash=cast(str, last_hash), cutoff=body["cutoff"], period=period)
    return {"entries": entries, "free_texts": texts, "reviews": len(review_ids), "through_seq": cut}
