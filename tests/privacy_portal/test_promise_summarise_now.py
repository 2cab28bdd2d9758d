"""The promise summary without waiting for the hourly job: the demo seeding summarises once at its
end, and the DPO can have it summarised now (a POST, DPO-only, the Celery task enqueued on commit;
asking twice leaves one current summary)."""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from demo.management.commands.seed_demo import DEMO_DATA_STEPS
from demo.promises import summarise_demo_promises
from privacy_portal.celery import app
from privacy_portal.models import JobRun, User
from privacy_portal.promises.summary import JOB_NAME
from privacy_portal.roles import sync_role_groups
from privacy_portal.services import promise_summary
from tests.factories import UserFactory
from tests.fixtures.celery import reset_broker_connections

pytestmark = pytest.mark.django_db

URL = reverse("promise_summarise")
NOT_YET = "Not summarised yet this quarter"


def test_the_demo_summarises_the_promises_as_its_last_step():
    assert DEMO_DATA_STEPS[-1] is summarise_demo_promises


def test_the_dpo_has_the_quarter_summarised_now_and_the_dashboard_shows_it(
    client_for, dpo, django_capture_on_commit_callbacks
):
    client = client_for(dpo)
    home = client.get(reverse("home")).content.decode()
    assert NOT_YET in home and f'action="{URL}"' in home
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL)
    assert response.status_code == 302 and response.url == reverse("home")
    assert JobRun.objects.filter(name=JOB_NAME, outcome=JobRun.Outcome.OK).count() == 1
    assert NOT_YET not in client.get(reverse("home")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL)
    assert NOT_YET not in client.get(reverse("home")).content.decode()


def test_summarise_now_enqueues_nothing_before_the_commit(client_for, dpo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for(dpo).post(URL)
    assert len(callbacks) == 1
    # Recorded in the request's transaction (the run survives a lost broker), not yet done.
    assert JobRun.objects.filter(name=JOB_NAME).get().finished_at is None


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_has_the_promises_summarised(client_for, cast, role, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(cast[role]).post(URL).status_code == 403
    assert not JobRun.objects.filter(name=JOB_NAME).exists()


def test_summarise_now_refuses_get(client_for, dpo):
    assert client_for(dpo).get(URL).status_code == 405
    assert not JobRun.objects.filter(name=JOB_NAME).exists()


# --- one at a time (hostile review: "Summarise now" pressed twice queued two runs) -------------


def test_a_second_summarise_now_while_the_first_is_pending_queues_nothing_and_says_so(
    client_for, dpo, django_capture_on_commit_callbacks
):
    client = client_for(dpo)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(URL)
        second = client.post(URL, follow=True)
    assert len(callbacks) == 1
    assert promise_summary.ERR_SUMMARY_PENDING in second.content.decode()
    assert JobRun.objects.filter(name=JOB_NAME).count() == 1


def test_summarise_now_is_refused_while_the_hourly_run_is_under_way(
    client_for, dpo, django_capture_on_commit_callbacks
):
    JobRun.objects.create(name=JOB_NAME, started_at=timezone.now())  # the hourly job, running
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(dpo).post(URL, follow=True)
    assert callbacks == []
    assert promise_summary.ERR_SUMMARY_PENDING in response.content.decode()


def test_summarise_now_may_be_asked_again_once_the_first_has_run(client_for, dpo, django_capture_on_commit_callbacks):
    client = client_for(dpo)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL, follow=True)
    assert len(callbacks) == 1 and promise_summary.MSG_SUMMARY_ASKED in response.content.decode()
    assert JobRun.objects.filter(name=JOB_NAME, outcome=JobRun.Outcome.OK).exclude(finished_at=None).count() == 2


def test_a_run_lost_with_the_broker_does_not_block_summarise_now_for_ever(
    client_for, dpo, django_capture_on_commit_callbacks
):
    stale = timezone.now() - datetime.timedelta(minutes=promise_summary.PENDING_MINUTES + 1)
    JobRun.objects.create(name=JOB_NAME, started_at=stale)  # queued or started, never finished
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for(dpo).post(URL)
    assert len(callbacks) == 1


def test_the_queued_run_delivered_twice_summarises_once(dpo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = promise_summary.promise_summary_request(actor=dpo)
    promise_summary.promise_summary_run(run_id=run.pk)
    promise_summary.promise_summary_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.finished_at is not None and run.outcome == JobRun.Outcome.OK and "checks" in run.detail
    assert JobRun.objects.filter(name=JOB_NAME).count() == 1


@contextlib.contextmanager
def queued_not_run():
    """Tasks sent to the real broker (the local Redis), on a private queue no worker consumes:
    the first run stays pending while the second press is judged."""
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=os.environ["TEST_REDIS_URL"], task_always_eager=False,
                    task_default_queue=f"test-{uuid.uuid4().hex[:8]}")  # fmt: skip
    reset_broker_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_broker_connections()


@pytest.mark.django_db(transaction=True)
def test_summarise_now_pressed_twice_at_once_queues_one_run():
    sync_role_groups(Group, Permission)  # a transactional test starts from a flushed database
    dpo = UserFactory(role=User.Role.DPO)
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list = []

    def press():
        try:
            barrier.wait()
            promise_summary.promise_summary_request(actor=User.objects.get(pk=dpo.pk))
            outcomes.append("queued")
        except ValidationError as exc:
            outcomes.append(exc.messages)
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    with queued_not_run():
        threads = [threading.Thread(target=press) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(map(str, outcomes)) == sorted(["queued", str([promise_summary.ERR_SUMMARY_PENDING])])
    assert JobRun.objects.filter(name=JOB_NAME).count() == 1
