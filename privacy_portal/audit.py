"""The access log: recording reads of personal data (ids and field names only), chaining
each entry to the one before, and verifying the chain."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
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
    report.breaks += verify_checkpoint()
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


def _checkpoint_path():
    from pathlib import Path

    return Path(settings.PRIVATE_STORAGE_ROOT) / CHECKPOINT_FILE


def read_checkpoint() -> dict | None:
    """The last checkpoint written (None if there is none)."""
    path = _checkpoint_path()
    if not path.exists():
        return None
    return json.loads(path.read_text())


def write_checkpoint() -> dict | None:
    """Write the chain's head (position and hash, signed with the audit key) to a file under
    private storage, outside the database: a log cut short or rewritten afterwards no longer
    reaches it (verify_checkpoint). Written by the nightly verification when the chain is whole;
    the file is replaced atomically. None when nothing is chained yet."""
    head = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("-chain_seq").values_list("chain_seq", "hash")
    head = head.first()
    if head is None:
        return None
    seq, head_hash = head
    body = {"seq": seq, "hash": head_hash, "at": timezone.now().isoformat(timespec="seconds")}
    checkpoint = {**body, "mac": _mac("checkpoint", body)}
    path = _checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(checkpoint, sort_keys=True))
    os.chmod(tmp, 0o640)
    tmp.replace(path)
    return checkpoint


def verify_checkpoint() -> list[ChainBreak]:
    """Compare the chain with the last checkpoint: its signature must hold, the entry at its
    position must still exist and carry its hash (a log truncated at the end, or rebuilt with
    new hashes, fails here even though it verifies by itself)."""
    checkpoint = read_checkpoint()
    if checkpoint is None:
        return []
    body = {k: checkpoint.get(k) for k in ("seq", "hash", "at")}
    if not hmac.compare_digest(str(checkpoint.get("mac", "")), _mac("checkpoint", body)):
        return [ChainBreak(0, body["seq"], CHECKPOINT_BAD_SIGNATURE)]
    entry = AccessEvent.objects.filter(chain_seq=body["seq"]).values_list("pk", "hash").first()
    if entry is None:
        last = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("-chain_seq").values_list("pk", flat=True)
        return [ChainBreak(last.first() or 0, body["seq"], CHECKPOINT_SHORTER)]
    if entry[1] != body["hash"]:
        return [ChainBreak(entry[0], body["seq"], CHECKPOINT_DIFFERS)]
    return []
