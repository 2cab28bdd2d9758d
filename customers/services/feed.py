"""The daily feeds that marketing and advertising systems load, and when each opt-out took effect.

Suppression: one CSV per channel (email, sms, phone, post) of `identifier_hash,reason`, written
under PRIVATE_STORAGE_ROOT/suppression/<date>/<channel>.csv (never a public URL). It holds every
suppression entry for the channel and, computed afresh each run, the hashes of customers
whose processing is restricted (Art 18): a restricted customer is never marketed to, but is
not put on the permanent list, since the restriction may be lifted.

Advertising: beside them, the ad audiences' removal files (services/ad_feed.py), in the form
Google Customer Match and Meta Custom Audiences take.

An opt-out is actioned only by the feed that carries it: a direct-marketing opt-out by the
suppression feed, a personalised-advertising opt-out by the ad removal feed (or, when the
customer has no email or phone for the platforms to match on, by there being nothing to
remove). A withdrawal of sensitive sharing takes effect when it is recorded and is never
the feed's. The run records its time as each opt-out's `actioned_at` and each entry's
`first_included_at`, once, never moving them later; an opt-out actioned after its take-effect
date also records how many days late it was (`late_by_days`), so the missed deadline stays
on record.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from privacy_portal import csv_safe
from privacy_portal.private_storage import file_writing, private_path

from ..models import Channel, Customer, PreferenceChange, Purpose, SuppressionEntry
from ..selectors.customers import missed_optout_open_count
from .ad_feed import FEED_FILE_MODE, write_ad_feed
from .suppression import channel_identifier, identifier_hash

FEED_HEADER = ("identifier_hash", "reason")
RESTRICTED_REASON = "restricted"
# Its folder in private storage (private_storage.NOT_ROW_FOLDERS: no row names these files).
FEED_FOLDER = "suppression"
# Rows loaded or updated per query: bounded memory however long the list grows.
FEED_CHUNK_SIZE = 2000


def feed_folder(day: datetime.date) -> str:
    """The folder of private storage the feed for `day` is written to: one folder per day."""
    return f"{FEED_FOLDER}/{day.isoformat()}"


def feed_directory(day: datetime.date) -> Path:
    """Where the feed for `day` is written (its absolute path)."""
    return private_path(feed_folder(day))


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


def _write_channel(relative: str, channel: str, restricted: set[str]) -> tuple[int, list[int]]:
    """Write one channel's file (atomically: a reader never sees half a file).

    Returns (rows written, ids of entries included for the first time).
    """
    first_time: list[int] = []
    rows = 0
    entries = (
        SuppressionEntry.objects.filter(channel=channel)
        .order_by("identifier_hash")
        .values_list("pk", "identifier_hash", "reason", "first_included_at")
    )
    extra = set(restricted)
    with file_writing(relative, mode=FEED_FILE_MODE) as fh:
        writer = csv_safe.writer(fh)
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


REASON_SUPPRESSION_FEED = "Actioned by the suppression feed"
REASON_AD_FEED = "Actioned by the advertising audiences' removal feed"
REASON_NOTHING_TO_MATCH = "Actioned: no email or phone for the ad platforms to match on, so nothing to remove"


def _action_optouts(ids: list[int], run_at: datetime.datetime, reason: str) -> tuple[int, int]:
    """Record `run_at` as when each opt-out took effect (where none is recorded yet) and, where
    that was after its take-effect date, by how many days. Returns (actioned, of which late)."""
    today = timezone.localdate(run_at)
    actioned = late = 0
    for start in range(0, len(ids), FEED_CHUNK_SIZE):
        chunk = ids[start : start + FEED_CHUNK_SIZE]
        with transaction.atomic():
            # Locked and re-checked, so an overlapping run never moves a time already set.
            changes = list(PreferenceChange.objects.select_for_update().filter(pk__in=chunk, actioned_at__isnull=True))
            for change in changes:
                change.actioned_at = run_at
                if change.takes_effect_by < today:
                    change.late_by_days = (today - change.takes_effect_by).days
                    late += 1
            bulk_update_with_history(
                changes,
                PreferenceChange,
                ["actioned_at", "late_by_days"],
                default_change_reason=reason,
                default_date=run_at,
                batch_size=FEED_CHUNK_SIZE,
            )
            actioned += len(changes)
    return actioned, late


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
    waiting = PreferenceChange.objects.filter(granted=False, actioned_at__isnull=True, received_at__lte=run_at)
    marketing = list(waiting.filter(purpose=Purpose.DIRECT_MARKETING).order_by("pk").values_list("pk", flat=True))
    ads = list(waiting.filter(purpose=Purpose.PERSONALISED_ADS).order_by("pk").values_list("pk", "customer_id"))
    folder = feed_folder(today)
    private_path(folder).mkdir(parents=True, exist_ok=True, mode=0o750)
    restricted = _restricted_hashes()
    report: dict[str, int] = {}
    first_time: list[int] = []
    for channel in Channel.values:
        rows, new_ids = _write_channel(f"{folder}/{channel}.csv", channel, restricted[channel])
        report[channel] = rows
        first_time.extend(new_ids)
    report["restricted"] = sum(len(hashes) for hashes in restricted.values())
    ad_feed = write_ad_feed(folder)
    report["ad_audiences"] = ad_feed.rows
    report["first_included"] = _mark(
        SuppressionEntry, first_time, "first_included_at", run_at, "First included in the suppression feed"
    )
    actioned, late = _action_optouts(marketing, run_at, REASON_SUPPRESSION_FEED)
    # A personalised-ads opt-out is actioned only once the removal files carry its customer.
    # One superseded by a later opt-in before any run carried it stays open (nothing carries it).
    carried = [pk for pk, customer_id in ads if customer_id in ad_feed.carried]
    unmatched = [pk for pk, customer_id in ads if customer_id in ad_feed.nothing_to_match]
    for ids, reason in ((carried, REASON_AD_FEED), (unmatched, REASON_NOTHING_TO_MATCH)):
        n, n_late = _action_optouts(ids, run_at, reason)
        actioned += n
        late += n_late
    report["actioned"] = actioned
    report["actioned_late"] = late
    report["missed_open"] = missed_optout_open_count(today=today)
    return report
