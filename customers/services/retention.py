"""Retention: the nightly purge of calls, transcripts and correspondence past six months.

THE AUDITED EXCEPTION. Everywhere else the portal writes tracked models only through
saves or simple-history's bulk helpers, so every change leaves a history row. Here it must
not: the privacy notice promises that call recordings, transcripts and brief records of
correspondence are deleted after six months, and a history row holds the same personal
values (numbers, transcript, summary). So this one service deletes the live rows *and*
their history rows directly, in SQL, without creating the "deleted" history record
simple-history would otherwise write (it would copy the transcript into history again).
What is kept is the count of what was removed, in the job's run record (JobRun).
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.audit import audit_scrub
from privacy_portal.history import history_model
from privacy_portal.purge import delete_with_history
from privacy_portal.services.replay import collecting_purge, note_deleted

from ..models import (
    Call,
    Correspondence,
    DeletionTask,
    Disclosure,
    EmailEvent,
    InboundSms,
    LegalHold,
    PreferenceChange,
    Purchase,
)
from . import legal_holds
from .external_deletion import PurgedCall, deletion_tasks_create

# Ids deleted per transaction: short transactions, bounded memory, little lock contention.
PURGE_BATCH_SIZE = 5000


def retention_cutoff(months: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """The instant before which records are expired: `months` calendar months before now
    (31 August minus six months is 28 or 29 February), counted in local time."""
    return timezone.localtime(now or timezone.now()) - relativedelta(months=months)


def _raw_delete(model: type[models.Model], ids: list[int]) -> int:
    """DELETE by primary key in SQL: no signals, so no history row is written for the delete.

    Refuses a model that other tables point at: a cascade would be skipped silently.
    """
    if [rel for rel in model._meta.related_objects if not rel.related_model._meta.auto_created]:
        raise RuntimeError(f"{model._meta.label} has dependent rows; purge them with their own rule first.")
    table = connection.ops.quote_name(model._meta.db_table)
    column = model._meta.pk.column
    assert column is not None  # a primary key is a column
    pk = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {pk} = ANY(%s)", [ids])  # noqa: S608 (names from model meta)
        return cursor.rowcount


def _purge_model(
    model: type[models.Model],
    date_field: str,
    cutoff: datetime.datetime,
    batch_size: int,
    held: frozenset[int] = frozenset(),
    purged_calls: list | None = None,
) -> dict[str, int]:
    """Delete expired rows of `model` and every history row of each, batch by batch.

    Each batch is its own transaction, so a failure loses at most one batch of work and a
    re-run picks up where it stopped. History rows whose live row is already gone (deleted
    earlier by hand, say) and whose own date is past the cutoff are scrubbed as well.
    """
    history = history_model(model)
    removed = {"rows": 0, "history_rows": 0, "transcripts": 0, "held": 0}
    expired = model._default_manager.filter(**{f"{date_field}__lt": cutoff}).order_by("pk")
    if held:
        # A legal hold keeps the held people's rows (and their history) until it ends.
        removed["held"] = expired.filter(customer_id__in=held).count()
        expired = expired.exclude(customer_id__in=held)
    late_held: set[int] = set()
    while True:
        with transaction.atomic():
            rows = list(
                (expired.exclude(customer_id__in=late_held) if late_held else expired).values_list("pk", "customer_id")[
                    :batch_size
                ]
            )
            if not rows:
                break
            # Checked again just before deleting: a matter opened since the run read its holds.
            held_now = legal_holds.held_among(customer_id for _, customer_id in rows)
            if held_now:
                late_held |= held_now
                removed["held"] += expired.filter(customer_id__in=held_now).count()
            ids = [pk for pk, customer_id in rows if customer_id not in held_now]
            if not ids:
                continue
            if model is Call:
                removed["transcripts"] += Call.objects.filter(pk__in=ids).exclude(transcript="").count()
                if purged_calls is not None:
                    purged_calls += purged_calls_of(Call.objects.filter(pk__in=ids))
            # History first (plain DELETE: historical models carry no signals), then the rows.
            removed["history_rows"] += history.objects.filter(id__in=ids).delete()[0]
            removed["rows"] += _raw_delete(model, ids)
            note_deleted(model._meta.label, ids)
    orphans = (
        history.objects.filter(**{f"{date_field}__lt": cutoff})
        .exclude(customer_id__in=held | late_held)
        .filter(~Exists(model._default_manager.filter(pk=OuterRef("id"))))
        .order_by("history_id")
        .values_list("history_id", flat=True)
    )
    while True:
        with transaction.atomic():
            history_ids = list(orphans[:batch_size])
            if not history_ids:
                break
            removed["history_rows"] += history.objects.filter(history_id__in=history_ids).delete()[0]
    return removed


def purged_calls_of(calls) -> list:
    """What the stores outside the portal need to find their copies of `calls` (ids only)."""
    return [
        PurgedCall(pk, ref, bool(transcript or provider))
        for pk, ref, transcript, provider in calls.values_list(
            "pk", "recording_ref", "transcript", "transcript_provider"
        )
    ]


def _ask_stores_to_delete(purged_calls: list, now: datetime.datetime | None) -> int:
    """The recording store and each recipient holding call data get a deletion task."""
    when = timezone.localdate(now or timezone.now())
    tasks = deletion_tasks_create(
        actor=None, calls=purged_calls, cause="retention", source_reference=f"Retention run {when:%Y-%m-%d}", now=now
    )
    return len(tasks)


def purge_expired_calls(*, now: datetime.datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> dict[str, int]:
    """Delete calls (with their transcripts) and correspondence older than six months, and
    scrub them from their history tables. Safe to run twice: a second run removes nothing.

    Not one transaction on purpose: each batch of `batch_size` ids commits on its own.
    Returns counts only: calls, transcripts, call_history, correspondence,
    correspondence_history.
    """
    purged_calls: list = []
    # Run by hand (the command) or as a task: the legal holds bind it as they bind the nightly run.
    day = timezone.localdate(now or timezone.now())
    held = frozenset(legal_holds.held_customer_ids(day))
    with collecting_purge(), legal_holds.holds_judged_on(day):
        calls = _purge_model(
            Call,
            "started_at",
            retention_cutoff(legal.CALL_RETENTION_MONTHS, now),
            batch_size,
            held,
            purged_calls=purged_calls,
        )
        letters = _purge_model(
            Correspondence,
            "occurred_at",
            retention_cutoff(legal.CORRESPONDENCE_RETENTION_MONTHS, now),
            batch_size,
            held,
        )
    _ask_stores_to_delete(purged_calls, now)
    report = {
        "calls": calls["rows"],
        "transcripts": calls["transcripts"],
        "call_history": calls["history_rows"],
        "correspondence": letters["rows"],
        "correspondence_history": letters["history_rows"],
    }
    if any(report.values()):
        # A chained entry in the access log (counts only): the system's own scrubbing.
        audit_scrub(actor=None, what="retention: calls and correspondence", details=report)
    return report


# --- The schedule's services (privacy_portal.retention.SCHEDULE) --------------------------------
# Each takes `now` and `held` (the ids of customers under a legal hold) and returns counts only.


def calls_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Calls and transcripts past legal.CALL_RETENTION_MONTHS, with their history; held calls stay."""
    cutoff = retention_cutoff(legal.CALL_RETENTION_MONTHS, now)
    purged_calls: list = []
    done = _purge_model(Call, "started_at", cutoff, PURGE_BATCH_SIZE, held, purged_calls)
    return {
        "calls": done["rows"],
        "transcripts": done["transcripts"],
        "history": done["history_rows"],
        "held": done["held"],
        "deletion_tasks": _ask_stores_to_delete(purged_calls, now),
    }


def correspondence_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Correspondence past legal.CORRESPONDENCE_RETENTION_MONTHS, with its history; held rows stay."""
    cutoff = retention_cutoff(legal.CORRESPONDENCE_RETENTION_MONTHS, now)
    done = _purge_model(Correspondence, "occurred_at", cutoff, PURGE_BATCH_SIZE, held)
    return {"correspondence": done["rows"], "history": done["history_rows"], "held": done["held"]}


def _report(counts, model, held: int = 0) -> dict:
    label = model._meta.label
    held += counts.get("held", 0)  # a hold that came to cover a customer during the run
    return {"rows": counts.get(label, 0), "history": counts.get(f"{label} history", 0), "held": held}


def _split_held(queryset: models.QuerySet, held: frozenset[int], field: str = "customer_id"):
    if not held:
        return queryset, 0
    return queryset.exclude(**{f"{field}__in": held}), queryset.filter(**{f"{field}__in": held}).count()


def purchases_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Purchases whose order, instalment plan and guarantee all ended more than
    legal.PURCHASE_RETENTION_YEARS ago, with their history (detached ones too)."""
    today = timezone.localdate(now or timezone.now())
    cutoff = today - relativedelta(years=legal.PURCHASE_RETENTION_YEARS)
    candidates = Purchase.objects.filter(ordered_on__lt=cutoff).exclude(guarantee_until__gte=cutoff)
    # An instalment plan of n monthly payments ends n months after the order.
    ended = [
        pk
        for pk, ordered_on, instalments in candidates.values_list("pk", "ordered_on", "instalments").iterator()
        if ordered_on + relativedelta(months=instalments or 0) < cutoff
    ]
    queryset, kept = _split_held(Purchase.objects.filter(pk__in=ended), held)
    return _report(delete_with_history(queryset), Purchase, kept)


def disclosures_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Disclosures made more than legal.DISCLOSURE_RETENTION_YEARS ago, with their history."""
    cutoff = (now or timezone.now()) - relativedelta(years=legal.DISCLOSURE_RETENTION_YEARS)
    queryset, kept = _split_held(Disclosure.objects.filter(disclosed_at__lt=cutoff), held)
    return _report(delete_with_history(queryset), Disclosure, kept)


def preference_changes_purge_superseded(
    *, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()
) -> dict:
    """Preference changes superseded (a later change for the same customer, purpose and channel)
    more than legal.PREFERENCE_RECORD_RETENTION_YEARS ago; the current one is always kept."""
    cutoff = (now or timezone.now()) - relativedelta(years=legal.PREFERENCE_RECORD_RETENTION_YEARS)
    later = PreferenceChange.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=OuterRef("purpose"),
        channel=OuterRef("channel"),
        received_at__gt=OuterRef("received_at"),
        received_at__lt=cutoff,
    )
    queryset, kept = _split_held(PreferenceChange.objects.filter(Exists(later)), held)
    return _report(delete_with_history(queryset), PreferenceChange, kept)


def inbound_sms_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Text messages received more than legal.INBOUND_SMS_RETENTION_MONTHS ago."""
    cutoff = retention_cutoff(legal.INBOUND_SMS_RETENTION_MONTHS, now)
    queryset, kept = _split_held(InboundSms.objects.filter(received_at__lt=cutoff), held)
    return _report(delete_with_history(queryset), InboundSms, kept)


def legal_holds_purge_ended(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Manual legal holds released, or ended, more than legal.CASE_FILE_RETENTION_YEARS ago."""
    cutoff = timezone.localdate(now or timezone.now()) - relativedelta(years=legal.CASE_FILE_RETENTION_YEARS)
    ended = LegalHold.objects.filter(
        models.Q(released_at__date__lt=cutoff) | models.Q(released_at__isnull=True, ends_on__lt=cutoff)
    )
    return _report(delete_with_history(ended), LegalHold)


def deletion_tasks_purge_confirmed(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Deletion tasks confirmed more than legal.CASE_FILE_RETENTION_YEARS ago, their attached
    confirmations included."""
    cutoff = (now or timezone.now()) - relativedelta(years=legal.CASE_FILE_RETENTION_YEARS)
    done = delete_with_history(
        DeletionTask.objects.filter(confirmed_at__lt=cutoff), files=lambda task: task.confirmation_path
    )
    return _report(done, DeletionTask)


def email_events_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Email provider events received more than legal.EMAIL_EVENT_RETENTION_MONTHS ago."""
    cutoff = retention_cutoff(legal.EMAIL_EVENT_RETENTION_MONTHS, now)
    queryset, kept = _split_held(EmailEvent.objects.filter(received_at__lt=cutoff), held)
    return _report(delete_with_history(queryset), EmailEvent, kept)
