"""The daily suppression feed that marketing systems load, and when each opt-out was actioned.

One CSV per channel (email, sms, phone, post) of `identifier_hash,reason`, written under
PRIVATE_STORAGE_ROOT/suppression/<date>/<channel>.csv (never a public URL). It holds every
suppression entry for the channel and, computed afresh each run, the hashes of customers
whose processing is restricted (Art 18): a restricted customer is never marketed to, but is
not put on the permanent list, since the restriction may be lifted.

Including an opt-out in the feed is what actions it: the run records its time as the
opt-out's `actioned_at` and each entry's `first_included_at`, once, never moving them later.
"""

from __future__ import annotations

import csv
import datetime
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from ..models import Channel, Customer, PreferenceChange, SuppressionEntry
from ..selectors import breach_count
from .suppression import channel_identifier, identifier_hash

FEED_HEADER = ("identifier_hash", "reason")
RESTRICTED_REASON = "restricted"
# Rows loaded or updated per query: bounded memory however long the list grows.
FEED_CHUNK_SIZE = 2000


def feed_directory(day: datetime.date) -> Path:
    """Where the feed for `day` is written: private storage, one folder per day."""
    return Path(settings.PRIVATE_STORAGE_ROOT) / "suppression" / day.isoformat()


def _restricted_hashes() -> dict[str, set[str]]:
    """Per channel, the hashes of every identifier of every restricted customer."""
    hashes: dict[str, set[str]] = {channel: set() for channel in Channel.values}
    restricted = Customer.objects.filter(processing_restricted=True, erased_at__isnull=True).only(
        "id", "email", "phone", "address_line1", "postcode"
    )
    for customer in restricted.iterator(chunk_size=FEED_CHUNK_SIZE):
        for channel in Channel.values:
            identifier = channel_identifier(customer, channel)
            if identifier:
                hashes[channel].add(identifier_hash(identifier))
    return hashes


def _write_channel(path: Path, channel: str, restricted: set[str]) -> tuple[int, list[int]]:
    """Write one channel's file (atomically: a reader never sees half a file).

    Returns (rows written, ids of entries included for the first time).
    """
    first_time: list[int] = []
    rows = 0
    tmp = path.with_name(f".{path.name}.tmp")
    entries = (
        SuppressionEntry.objects.filter(channel=channel)
        .order_by("identifier_hash")
        .values_list("pk", "identifier_hash", "reason", "first_included_at")
    )
    extra = set(restricted)
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FEED_HEADER)
        for pk, hashed, reason, first_included_at in entries.iterator(chunk_size=FEED_CHUNK_SIZE):
            writer.writerow((hashed, reason))
            extra.discard(hashed)
            rows += 1
            if first_included_at is None:
                first_time.append(pk)
        for hashed in sorted(extra):
            writer.writerow((hashed, RESTRICTED_REASON))
            rows += 1
    os.chmod(tmp, 0o640)
    tmp.replace(path)
    return rows, first_time


def _mark(model, ids: list[int], field: str, value: datetime.datetime, reason: str) -> int:
    """Set `field` to `value` on rows where it is still empty, with a history row for each."""
    marked = 0
    for start in range(0, len(ids), FEED_CHUNK_SIZE):
        chunk = ids[start : start + FEED_CHUNK_SIZE]
        with transaction.atomic():
            # Locked and re-checked, so an overlapping run never moves a time already set.
            objs = list(model.objects.select_for_update().filter(pk__in=chunk, **{f"{field}__isnull": True}))
            for obj in objs:
                setattr(obj, field, value)
            bulk_update_with_history(
                objs, model, [field], default_change_reason=reason, default_date=value, batch_size=FEED_CHUNK_SIZE
            )
            marked += len(objs)
    return marked


def suppression_feed_build(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Write today's feed files and record what it actioned. Returns counts only.

    Idempotent: a second run the same day rewrites the same files and changes no time
    already recorded. Not one transaction: the files are written from committed data and
    the marking is done in short batches.
    """
    run_at = now or timezone.now()
    today = timezone.localdate(run_at)
    # Opt-outs to action are chosen *before* the files are read: each opt-out's entry is
    # saved in the same transaction as the opt-out, so every one chosen is in the files.
    to_action = list(
        PreferenceChange.objects.filter(granted=False, actioned_at__isnull=True, received_at__lte=run_at)
        .order_by("pk")
        .values_list("pk", "takes_effect_by")
    )
    directory = feed_directory(today)
    directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    restricted = _restricted_hashes()
    report: dict[str, int] = {}
    first_time: list[int] = []
    for channel in Channel.values:
        rows, new_ids = _write_channel(directory / f"{channel}.csv", channel, restricted[channel])
        report[channel] = rows
        first_time.extend(new_ids)
    report["restricted"] = sum(len(hashes) for hashes in restricted.values())
    report["first_included"] = _mark(
        SuppressionEntry, first_time, "first_included_at", run_at, "First included in the suppression feed"
    )
    report["actioned"] = _mark(
        PreferenceChange, [pk for pk, _ in to_action], "actioned_at", run_at, "Actioned by the suppression feed"
    )
    report["actioned_late"] = sum(1 for _, due in to_action if due < today)
    report["breaches"] = breach_count(today=today)
    return report
