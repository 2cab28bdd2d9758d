"""A real Celery worker on the local Redis runs a task end to end, writing to PostgreSQL."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import transaction

from privacy_portal.celery import app
from privacy_portal.models import JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from privacy_portal.tasks import heartbeat
from tests.fixtures.celery import wait_for


@pytest.mark.django_db(transaction=True)
def test_a_task_runs_on_a_real_worker_and_writes_to_postgresql(redis_worker):
    assert not app.conf.task_always_eager
    heartbeat.delay()
    assert wait_for(lambda: JobRun.objects.filter(name="heartbeat", finished_at__isnull=False).exists())
    run = JobRun.objects.get(name="heartbeat")
    assert run.outcome == JobRun.Outcome.OK
    assert run.detail == {"alive": True}


@pytest.mark.django_db(transaction=True)
def test_delay_on_commit_enqueues_only_after_the_transaction_commits(redis_worker):
    with transaction.atomic():
        heartbeat.delay_on_commit()
        time.sleep(1.0)
        # Not sent while the transaction is open.
        assert not JobRun.objects.filter(name="heartbeat").exists()
    assert wait_for(lambda: JobRun.objects.filter(name="heartbeat", finished_at__isnull=False).exists())


@pytest.mark.django_db(transaction=True)
def test_delay_on_commit_sends_nothing_when_the_transaction_rolls_back(redis_worker):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        heartbeat.delay_on_commit()
        raise Rollback
    time.sleep(1.5)
    assert not JobRun.objects.filter(name="heartbeat").exists()


def test_task_defaults_suit_a_system_that_must_lose_nothing():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.worker_prefetch_multiplier == 1


def test_without_a_broker_tasks_run_eagerly_for_the_demo():
    assert settings.CELERY_BROKER_URL == ""
    assert settings.CELERY_TASK_ALWAYS_EAGER is True


def test_the_beat_schedule_names_only_registered_tasks():
    app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
    assert app.conf.beat_schedule == BEAT_SCHEDULE


def test_a_dead_workers_tasks_come_back_minutes_after_the_hard_time_limit_not_an_hour():
    """Redis redelivers an unacknowledged task after the visibility timeout: above the hard
    limit (a live worker's task is never duplicated), and only a little (a dead one's returns soon)."""
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_time_limit < visibility <= app.conf.task_time_limit + 120


def test_the_outbox_sweep_runs_every_minute():
    entry = BEAT_SCHEDULE["sweep-export-requests"]
    assert entry["task"] == "requests.tasks.sweep_export_requests"
    assert entry["schedule"].minute == set(range(60))
