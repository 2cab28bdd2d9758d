"""A worker killed as a whole (SIGKILL on its main process) mid-export: the export is built
by the next worker within minutes, not an hour later, and exactly once.

Real worker processes (tests/requests/slow_export_worker.py) on the local Redis, writing to
the test's PostgreSQL database; the build is made slow by the worker's own hook, not by
mocking the task. Recovery comes from the outbox sweep (run here as beat would run it, with
OUTBOX_REQUEUE_AFTER_SECONDS shortened) and, for the killed worker's own unacknowledged
message, from Redis's visibility timeout (shortened in the workers' environment): that second
delivery must build nothing more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from privacy_portal.celery import app
from requests.models import CaseDocument, ExportRequest
from requests.services import cases as svc
from requests.services import export
from tests.factories import CaseFactory, CustomerFactory, UserFactory
from tests.fixtures.celery import reset_broker_connections, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(django_settings.BASE_DIR)
# The workers' limits, shortened: Redis hands an unacked message on after VISIBILITY seconds.
TIME_LIMIT = 15
VISIBILITY = 20


@pytest.fixture
def queue():
    """The test process sends to a private queue on the real Redis (no eager mode)."""
    name = f"kill-{uuid.uuid4().hex[:8]}"
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=os.environ["TEST_REDIS_URL"], task_always_eager=False, task_default_queue=name)
    reset_broker_connections()
    try:
        yield name
    finally:
        app.conf.update(saved)
        reset_broker_connections()


@pytest.fixture
def workers(queue, tmp_path):
    """Start worker processes on demand; every one still running is killed at the end."""
    started: list[subprocess.Popen] = []
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": os.environ["TEST_REDIS_URL"],
        "PRIVATE_STORAGE_ROOT": str(tmp_path),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 5),
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    }

    def start(*, slow_seconds: float) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.requests.slow_export_worker", queue],
            cwd=BASE_DIR,
            env={**env, "SLOW_EXPORT_SECONDS": str(slow_seconds)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def case(settings, tmp_path, role_groups):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    dpo = UserFactory(role="dpo")
    handler = UserFactory(role="handler")
    case = svc.case_assign(actor=dpo, case=CaseFactory(customer=CustomerFactory()), handler=handler)
    return svc.case_start(actor=handler, case=case)


def unfinished_messages(queue: str) -> int:
    """Messages for `queue` still waiting in Redis or delivered and not acknowledged."""
    client = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    waiting = client.llen(queue)
    unacked = sum(1 for raw in client.hvals("unacked") if json.loads(raw)[2] == queue)
    return waiting + unacked


def test_an_export_whose_worker_is_killed_mid_build_is_built_by_the_next_worker_once(case, queue, workers, settings):
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 5
    first = workers(slow_seconds=120)
    request = export.export_request(actor=case.handler, case=case)  # committed: sent to Redis
    assert wait_for(lambda: ExportRequest.objects.get(pk=request.pk).status == ExportRequest.Status.RUNNING, 90)
    time.sleep(1)  # inside the build now, holding the request's and the case's locks

    os.kill(first.pid, signal.SIGKILL)  # the worker's main process: the worker as a whole
    first.wait(10)
    assert not CaseDocument.objects.filter(case=case).exists()
    assert unfinished_messages(queue) == 1  # its message is unacknowledged in Redis

    workers(slow_seconds=0)
    killed_at = time.monotonic()

    def built() -> bool:
        export.export_requests_sweep()  # what beat runs every minute
        return ExportRequest.objects.get(pk=request.pk).status == ExportRequest.Status.DONE

    assert wait_for(built, timeout=180)
    assert time.monotonic() - killed_at < 180
    # The killed worker's own delivery comes back after the visibility timeout and finds it built.
    assert wait_for(lambda: unfinished_messages(queue) == 0, timeout=VISIBILITY + 60)

    request.refresh_from_db()
    assert request.attempts == 2  # the killed build, then the one that finished
    docs = CaseDocument.objects.filter(case=case, kind=CaseDocument.Kind.EXPORT)
    assert docs.count() == 1
    assert request.document == docs.get()
