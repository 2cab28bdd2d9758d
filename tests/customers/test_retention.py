"""The nightly purge: calls, transcripts and correspondence past six months, history included."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.models import Call, Correspondence
from customers.services.retention import purge_expired_calls, retention_cutoff
from customers.tasks import purge_expired_calls as purge_task
from privacy_portal import legal
from privacy_portal.celery import app
from privacy_portal.models import JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from tests.factories import CallFactory, CorrespondenceFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2025, 8, 15, 12, 0))
SIX_MONTHS_AGO = NOW - relativedelta(months=legal.CALL_RETENTION_MONTHS)
EXPIRED = SIX_MONTHS_AGO - datetime.timedelta(days=1)
KEPT = SIX_MONTHS_AGO + datetime.timedelta(days=1)

HistoricalCall = Call.history.model
HistoricalCorrespondence = Correspondence.history.model


def _edited(obj):
    """A second history row for the object, as any later correction would leave."""
    obj._change_reason = "Corrected"
    obj.save()
    return obj


def test_six_months_are_calendar_months_counted_back_from_now():
    end_of_august = timezone.make_aware(datetime.datetime(2025, 8, 31, 10, 0))
    assert retention_cutoff(6, end_of_august) == timezone.make_aware(datetime.datetime(2025, 2, 28, 10, 0))
    assert retention_cutoff(6, NOW) == timezone.make_aware(datetime.datetime(2025, 2, 15, 12, 0))


def test_a_call_a_day_past_six_months_is_deleted_with_its_transcript_and_history():
    call = _edited(CallFactory(started_at=EXPIRED))
    assert HistoricalCall.objects.filter(id=call.pk).count() == 2
    counts = purge_expired_calls(now=NOW)
    assert not Call.objects.filter(pk=call.pk).exists()
    # No history row survives, not even the "deleted" one simple-history would write.
    assert not HistoricalCall.objects.filter(id=call.pk).exists()
    assert counts["calls"] == 1
    assert counts["transcripts"] == 1
    assert counts["call_history"] == 2


def test_a_call_a_day_short_of_six_months_is_kept_with_its_history():
    call = CallFactory(started_at=KEPT)
    assert purge_expired_calls(now=NOW)["calls"] == 0
    assert Call.objects.filter(pk=call.pk).exists()
    assert HistoricalCall.objects.filter(id=call.pk).count() == 1


def test_correspondence_past_six_months_is_deleted_with_its_history_and_recent_kept():
    old = _edited(CorrespondenceFactory(occurred_at=EXPIRED))
    recent = CorrespondenceFactory(occurred_at=KEPT)
    counts = purge_expired_calls(now=NOW)
    assert list(Correspondence.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not HistoricalCorrespondence.objects.filter(id=old.pk).exists()
    assert HistoricalCorrespondence.objects.filter(id=recent.pk).count() == 1
    assert (counts["correspondence"], counts["correspondence_history"]) == (1, 2)


def test_the_customer_and_their_other_records_are_untouched():
    customer = CustomerFactory()
    CallFactory(customer=customer, started_at=EXPIRED)
    CorrespondenceFactory(customer=customer, occurred_at=EXPIRED)
    purge_expired_calls(now=NOW)
    customer.refresh_from_db()
    assert customer.history.count() == 1


def test_a_second_run_removes_nothing():
    CallFactory.create_batch(3, started_at=EXPIRED)
    CorrespondenceFactory(occurred_at=EXPIRED)
    first = purge_expired_calls(now=NOW)
    assert first["calls"] == 3
    second = purge_expired_calls(now=NOW)
    assert second == {"calls": 0, "transcripts": 0, "call_history": 0, "correspondence": 0, "correspondence_history": 0}


@pytest.mark.parametrize("batch_size", [1, 3, 7, 50])
def test_the_purge_works_in_batches_and_misses_nothing_at_a_boundary(batch_size):
    expired = CallFactory.create_batch(7, started_at=EXPIRED)
    kept = CallFactory.create_batch(2, started_at=KEPT)
    CorrespondenceFactory.create_batch(6, occurred_at=EXPIRED)
    counts = purge_expired_calls(now=NOW, batch_size=batch_size)
    assert (counts["calls"], counts["call_history"]) == (7, 7)
    assert (counts["correspondence"], counts["correspondence_history"]) == (6, 6)
    assert sorted(Call.objects.values_list("pk", flat=True)) == sorted(c.pk for c in kept)
    assert not HistoricalCall.objects.filter(id__in=[c.pk for c in expired]).exists()


def test_the_counts_say_how_many_of_each_were_removed():
    CallFactory.create_batch(2, started_at=EXPIRED)
    CallFactory(started_at=EXPIRED, transcript="", transcript_provider="")
    _edited(CorrespondenceFactory(occurred_at=EXPIRED))
    CallFactory(started_at=KEPT)
    assert purge_expired_calls(now=NOW, batch_size=2) == {
        "calls": 3,
        "transcripts": 2,
        "call_history": 3,
        "correspondence": 1,
        "correspondence_history": 2,
    }


def test_history_left_behind_by_an_earlier_delete_is_scrubbed_once_expired():
    old = CallFactory(started_at=EXPIRED)
    recent = CallFactory(started_at=KEPT)
    old_id, recent_id = old.pk, recent.pk
    old.delete()
    recent.delete()
    counts = purge_expired_calls(now=NOW)
    assert not HistoricalCall.objects.filter(id=old_id).exists()
    assert HistoricalCall.objects.filter(id=recent_id).count() == 2
    assert (counts["calls"], counts["call_history"]) == (0, 2)


def test_the_nightly_task_records_its_run_with_counts_only():
    CallFactory(started_at=timezone.now() - relativedelta(months=7))
    run = JobRun.objects.get(pk=purge_task.delay().get())
    assert run.name == "purge_expired_calls"
    assert run.outcome == JobRun.Outcome.OK
    assert run.finished_at is not None
    assert run.detail == {
        "calls": 1,
        "transcripts": 1,
        "call_history": 1,
        "correspondence": 0,
        "correspondence_history": 0,
    }


def test_the_purge_is_scheduled_nightly_as_part_of_the_retention_schedule():
    from privacy_portal.retention import rule

    app.loader.import_default_modules()
    entry = next(e for e in BEAT_SCHEDULE.values() if e["task"] == "privacy_portal.tasks.apply_retention_schedule")
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {2}
    assert rule("calls").service == "customers.services.retention.calls_purge_expired"
    assert rule("correspondence").service == "customers.services.retention.correspondence_purge_expired"


def test_ops_can_run_the_purge_from_the_command_line():
    CallFactory.create_batch(3, started_at=timezone.now() - relativedelta(months=7))
    out = StringIO()
    call_command("purge_expired_calls", "--batch-size", "2", stdout=out)
    assert "calls: 3" in out.getvalue()
    assert not Call.objects.exists()
    assert JobRun.objects.get().detail["calls"] == 3


def test_the_command_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError):
        call_command("purge_expired_calls", "--batch-size", "0")
