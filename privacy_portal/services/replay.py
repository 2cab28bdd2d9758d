"""The replay ledger: erasures and purges that survive a backup restore.

A database restored from last night's backup brings back everyone erased and everything purged
since. So every erasure and every purge also appends one line to the replay ledger, a JSON Lines
file *outside the database* (settings.REPLAY_LEDGER_PATH, on the private storage that is backed
up separately), holding only what is needed to repeat it: record ids, staff ids, and the keyed
hashes the suppression list already uses. Never a personal value. The line is written once the
transaction commits, so only what happened is in it, and fsync'd (the file, and its folder when
the file is new) before the write returns.

A process killed between the commit and that write would lose the line. So an erasure's line is
also kept in the database, in the same transaction: inside the erasure's chained scrub entry
(details["replay"], ids and keyed hashes only). `ledger_reconcile` appends every such line the
ledger lacks; it runs nightly (beat, before the retention run) and by hand (`manage.py
reconcile_replay_ledger`, the runbook's step before a backup is relied on). A line found twice
(the reconciliation racing the commit's own write) is replayed once. A purge's line cannot be
rebuilt (its rows are gone); none is needed: its rows are past their period in a restored backup
too, so the next retention run purges them again.

After a restore, `python manage.py replay_erasures --since <backup time>` re-applies, in order,
every entry newer than the backup (privacy_portal.services.restore.ledger_replay, which sits above the
services it calls again; this module, below them, only records and reads the ledger).
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections import defaultdict
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privacy_portal.models import AccessEvent

ERASURE, PURGE, ACCESS_LOG_TRIM = "erasure", "purge", "access_log_trim"

_collecting: list[dict[str, set[int]]] = []
# While replaying, what is re-applied is already in the ledger: nothing is recorded twice.
_replaying: list[bool] = []


def ledger_path():
    return settings.REPLAY_LEDGER_PATH


def _append(entry: dict) -> None:
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    # One write of one line, opened for append: concurrent writers never interleave a line.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:  # the file's name is durable only once its folder is
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _record_on_commit(entry: dict) -> dict:
    entry = {"id": uuid.uuid4().hex, "at": timezone.now().isoformat(), **entry}
    transaction.on_commit(lambda: _append(entry))
    return entry


def record_erasure(
    *, case_id: int, customer_id: int, actor_id: int | None, include: list[str], suppression
) -> dict | None:
    """An erasure: the case, the customer, who signed it off, the requests and complaints the DPO
    included (their keys: kind and id), and the suppression entries as (channel, keyed hash).

    Returns the ledger line (None while replaying): the erasure keeps it in its chained scrub
    entry, in its own transaction, so `ledger_reconcile` can write it if the process dies
    between the commit and the ledger write."""
    if _replaying:
        return None
    return _record_on_commit(
        {
            "kind": ERASURE,
            "case_id": case_id,
            "customer_id": customer_id,
            "actor_id": actor_id,
            "include": sorted(include),
            "suppression": sorted([entry.channel, entry.identifier_hash, entry.reason] for entry in suppression),
        }
    )


def record_access_log_trim(*, through_seq: int, through_hash: str, cutoff: str, period: str) -> dict | None:
    """The access log's trim (audit.access_log_trim): the last chain position it deleted and that
    entry's chain hash (a digest, never a value), and the cutoff it deleted before. A restored
    backup brings the segment back; replaying deletes it again, up to the same position."""
    if _replaying:
        return None
    return _record_on_commit(
        {"kind": ACCESS_LOG_TRIM, "through_seq": through_seq, "hash": through_hash, "cutoff": cutoff, "period": period}
    )


def _ledger_ids() -> set[str]:
    path = ledger_path()
    if not path.exists():
        return set()
    with path.open() as fh:
        return {json.loads(line)["id"] for line in fh if line.strip()}


def ledger_reconcile() -> int:
    """Append to the ledger every erasure the database records (its scrub entry's copy of the
    line) that the ledger lacks; return how many. Idempotent."""
    known = _ledger_ids()
    scrubs = AccessEvent.objects.filter(action=AccessEvent.Action.SCRUB, object_type="erasure").order_by("pk")
    appended = 0
    for details in scrubs.values_list("details", flat=True).iterator(chunk_size=500):
        entry = (details or {}).get("replay") if isinstance(details, dict) else None
        if isinstance(entry, dict) and entry.get("id") and entry["id"] not in known:
            _append(entry)
            known.add(entry["id"])
            appended += 1
    return appended


@contextmanager
def collecting_purge():
    """Collect the ids every purge service deletes during a retention run; on leaving, record
    them as one purge entry (when anything was deleted)."""
    rows: dict[str, set[int]] = defaultdict(set)
    _collecting.append(rows)
    try:
        yield rows
    finally:
        _collecting.pop()
    if any(rows.values()):
        entry = {
            "id": uuid.uuid4().hex,
            "at": timezone.now().isoformat(),
            "kind": PURGE,
            "rows": {label: sorted(ids) for label, ids in sorted(rows.items()) if ids},
        }
        _append(entry)  # each purge batch has committed already


def note_deleted(label: str, ids) -> None:
    """Called by the purge services for every batch of rows they delete."""
    if _collecting:
        _collecting[-1][label].update(ids)


# --- Reading the ledger -------------------------------------------------------------------------


def ledger_entries(since: datetime.datetime) -> list[dict]:
    path = ledger_path()
    if not path.exists():
        return []
    entries, seen = [], set()
    with path.open() as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["id"] in seen:  # written by the commit and by the reconciliation: once
                continue
            seen.add(entry["id"])
            if datetime.datetime.fromisoformat(entry["at"]) > since:
                entry["line"] = number
                entries.append(entry)
    return sorted(entries, key=lambda e: e["at"])


@contextmanager
def replaying():
    """While the ledger is replayed (privacy_portal.services.restore): what is re-applied is already in
    the ledger, so nothing is recorded twice."""
    _replaying.append(True)
    try:
        yield
    finally:
        _replaying.pop()
