"""The replay ledger: erasures and purges that survive a backup restore.

A database restored from last night's backup brings back everyone erased and everything purged
since. So every erasure and every purge also appends one line to the replay ledger, a JSON Lines
file *outside the database* (settings.REPLAY_LEDGER_PATH, on the private storage that is backed
up separately), holding only what is needed to repeat it: record ids, staff ids, and the keyed
hashes the suppression list already uses. Never a personal value. The line is written once the
transaction commits, so only what happened is in it.

After a restore, `python manage.py replay_erasures --since <backup time>` re-applies, in order,
every entry newer than the backup (`ledger_replay`): an erasure is carried out again on the
restored case (idempotent: an erased customer is left alone) and its suppression hashes are put
back; a purge deletes the same rows and their history again. Each replayed entry writes its own
chained scrub entry (counts only).
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

ERASURE, PURGE = "erasure", "purge"

_collecting: list[dict[str, set[int]]] = []
# While replaying, what is re-applied is already in the ledger: nothing is recorded twice.
_replaying: list[bool] = []


def ledger_path():
    return settings.REPLAY_LEDGER_PATH


def _append(entry: dict) -> None:
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    # One write of one line, opened for append: concurrent writers never interleave a line.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _record_on_commit(entry: dict) -> None:
    entry = {"id": uuid.uuid4().hex, "at": timezone.now().isoformat(), **entry}
    transaction.on_commit(lambda: _append(entry))


def record_erasure(*, case_id: int, customer_id: int, actor_id: int | None, include: list[str], suppression) -> None:
    """An erasure: the case, the customer, who signed it off, the requests and complaints the DPO
    included (their keys: kind and id), and the suppression entries as (channel, keyed hash)."""
    if _replaying:
        return
    _record_on_commit(
        {
            "kind": ERASURE,
            "case_id": case_id,
            "customer_id": customer_id,
            "actor_id": actor_id,
            "include": sorted(include),
            "suppression": sorted([entry.channel, entry.identifier_hash, entry.reason] for entry in suppression),
        }
    )


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


# --- Replay -------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    erasures: int = 0
    erasures_already_done: int = 0
    purges: int = 0
    rows_deleted: int = 0
    suppression_restored: int = 0
    problems: list[str] = field(default_factory=list)


def ledger_entries(since: datetime.datetime) -> list[dict]:
    path = ledger_path()
    if not path.exists():
        return []
    entries = []
    with path.open() as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if datetime.datetime.fromisoformat(entry["at"]) > since:
                entry["line"] = number
                entries.append(entry)
    return sorted(entries, key=lambda e: e["at"])


def ledger_replay(*, since: datetime.datetime) -> ReplayReport:
    """Re-apply every ledger entry newer than `since` (a restored backup's time), in order."""
    report = ReplayReport()
    _replaying.append(True)
    try:
        for entry in ledger_entries(since):
            if entry["kind"] == ERASURE:
                _replay_erasure(entry, report)
            elif entry["kind"] == PURGE:
                _replay_purge(entry, report)
    finally:
        _replaying.pop()
    return report


def _replay_erasure(entry: dict, report: ReplayReport) -> None:
    from customers.models import Customer, SuppressionEntry
    from requests.models import Case
    from requests.services.cases import case_signoff
    from requests.services.erasure import customer_erase

    from .audit import audit_scrub

    with transaction.atomic():
        restored = 0
        for channel, digest, reason in entry["suppression"]:
            _, created = SuppressionEntry.objects.get_or_create(
                channel=channel, identifier_hash=digest, defaults={"reason": reason}
            )
            restored += created
        report.suppression_restored += restored
        customer = Customer.objects.filter(pk=entry["customer_id"]).first()
        case = Case.objects.filter(pk=entry["case_id"]).first()
        actor = apps.get_model(settings.AUTH_USER_MODEL).objects.filter(pk=entry["actor_id"]).first()
        if customer is None or customer.is_erased:
            report.erasures_already_done += 1
            done = "nothing to erase (the customer is not in this database, or already erased)"
        elif case is None or actor is None:
            report.problems.append(
                f"Ledger line {entry['line']}: customer {customer.pk} is not erased but case {entry['case_id']} or "
                f"user {entry['actor_id']} is not in this database: erase the customer by hand."
            )
            return
        elif case.status == Case.Status.AWAITING_SIGNOFF:
            case_signoff(actor=actor, case=case, approve=True, include=entry["include"])
            report.erasures += 1
            done = "erasure signed off again"
        else:
            customer_erase(actor=actor, case=case, include=entry["include"])
            report.erasures += 1
            done = "erasure carried out again"
        audit_scrub(
            actor=None,
            what="replay: erasure",
            customer_id=entry["customer_id"],
            details={"ledger_entry": entry["id"], "case_id": entry["case_id"], "done": done, "suppression": restored},
        )


def _replay_purge(entry: dict, report: ReplayReport) -> None:
    from .audit import audit_scrub
    from .retention import delete_with_history

    counts: dict[str, int] = {}
    for label, ids in entry["rows"].items():
        model = apps.get_model(label)
        done = delete_with_history(model._default_manager.filter(pk__in=ids))
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            done[f"{label} history"] += history.model.objects.filter(id__in=ids).delete()[0]
        counts.update({k: v for k, v in done.items() if v})
    report.purges += 1
    report.rows_deleted += sum(v for k, v in counts.items() if not k.endswith(" history"))
    audit_scrub(actor=None, what="replay: purge", details={"ledger_entry": entry["id"], "counts": counts})
