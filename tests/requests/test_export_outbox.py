"""The export request as a transactional outbox: recorded with the click, sent on commit,
sent again by the sweep when not started in time, and never lost to a broker outage."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from privacy_portal.celery import app
from privacy_portal.private_storage import TEMPORARY_DIR, private_path, temporary_files_delete_stale
from requests.models import CaseDocument, ExportRequest
from requests.services import cases as svc
from requests.services import export
from tests.factories import CaseFactory, CustomerFactory, UserFactory
from tests.fixtures.celery import reset_broker_connections, wait_for


def built_export(**kwargs):
    """Build an export and run what follows its commit (the file is written after the commit)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return export.export_build(**kwargs)


# Nothing listens on port 1: a broker that cannot be reached, refused at once.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path


@pytest.fixture
def case(db, role_groups):
    dpo = UserFactory(role="dpo")
    handler = UserFactory(role="handler")
    case = svc.case_assign(actor=dpo, case=CaseFactory(customer=CustomerFactory()), handler=handler)
    return svc.case_start(actor=handler, case=case)


def exports(case):
    return CaseDocument.objects.filter(case=case, kind=CaseDocument.Kind.EXPORT)


def build_export(client, case):
    return client.post(reverse("requests:case_action", args=[case.pk, "build_export"]), follow=True)


@pytest.fixture
def broker_down():
    """Point the app at a broker nobody answers, as when Redis is down or unreachable."""

    def down():
        app.conf.broker_url = UNREACHABLE_BROKER
        reset_broker_connections()

    def up():
        app.conf.broker_url = os.environ["TEST_REDIS_URL"]
        reset_broker_connections()

    return down, up


@pytest.mark.django_db
def test_the_request_is_recorded_with_the_click_and_built_once_it_commits(case, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = export.export_request(actor=case.handler, case=case)
    assert ExportRequest.objects.get() == request
    assert request.status == ExportRequest.Status.QUEUED and not exports(case).exists()
    for callback in callbacks:  # the commit: without a broker (the demo) the task runs in-process
        callback()
    request.refresh_from_db()
    assert request.status == ExportRequest.Status.DONE
    assert request.document == exports(case).get()
    assert request.attempts == 1


@pytest.mark.django_db
def test_a_second_click_while_the_first_is_queued_is_the_same_request(case):
    first = export.export_request(actor=case.handler, case=case)
    second = export.export_request(actor=case.handler, case=case)
    assert first.pk == second.pk
    assert ExportRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_unreachable_the_page_says_queued_and_the_export_is_built_once_it_is_back(
    redis_worker,
    case,
    client_for,
    broker_down,
    settings,
):
    down, up = broker_down
    down()
    client = client_for(case.handler)
    started = time.monotonic()
    response = build_export(client, case)
    assert time.monotonic() - started < 10  # the page does not hang on the broker
    assert response.status_code == 200
    page = response.content.decode()
    assert export.ERR_NOT_WORKER not in page
    assert "The export is queued" in page
    request = ExportRequest.objects.get(case=case)
    assert request.status == ExportRequest.Status.QUEUED
    assert "Queued" in client.get(case.get_absolute_url()).content.decode()

    up()
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 0
    assert export.export_requests_sweep()["sent_again"] == 1  # what beat runs every minute
    assert wait_for(lambda: ExportRequest.objects.get(pk=request.pk).status == ExportRequest.Status.DONE)
    assert exports(case).count() == 1


@pytest.mark.django_db
def test_the_sweep_sends_again_only_what_has_not_started_in_time(case, settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 120
    request = export.export_request(actor=case.handler, case=case)  # not sent: callbacks never run here
    with django_capture_on_commit_callbacks() as callbacks:
        assert export.export_requests_sweep()["sent_again"] == 0  # sent a moment ago: give it time
    assert callbacks == []
    later = timezone.now() + timezone.timedelta(seconds=121)
    with django_capture_on_commit_callbacks() as callbacks:
        assert export.export_requests_sweep(now=later)["sent_again"] == 1
    assert len(callbacks) == 1
    request.refresh_from_db()
    assert request.sent_at == later
    assert request.history.first().history_change_reason == "Export request sent again (not started in time)"


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_alone_a_request_whose_build_is_in_progress(case, settings):
    """A live build holds its request's row lock however long it runs; the sweep skips it."""
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 0
    request = export.export_request(actor=case.handler, case=case)
    locked = threading.Event()
    release = threading.Event()

    def building():
        try:
            with transaction.atomic():
                ExportRequest.objects.select_for_update().get(pk=request.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=building)
    thread.start()
    try:
        assert locked.wait(10)
        assert export.export_requests_sweep() == {"sent_again": 0, "given_up": 0, "temporary_files_deleted": 0}
    finally:
        release.set()
        thread.join(10)


@pytest.mark.django_db
def test_a_build_started_too_many_times_is_given_up_and_the_case_page_says_so(case, client_for, settings):
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 0
    request = export.export_request(actor=case.handler, case=case)
    request.status = ExportRequest.Status.RUNNING
    request.attempts = export.EXPORT_MAX_ATTEMPTS  # each killed or timed out mid-build
    request.save()
    assert export.export_requests_sweep()["given_up"] == 1
    request.refresh_from_db()
    assert request.status == ExportRequest.Status.FAILED
    client = client_for(case.handler)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Not built" in page and "could not be built" in page
    # Asking again is possible, and builds.
    assert export.export_request(actor=case.handler, case=case).pk != request.pk


@pytest.mark.django_db
def test_a_request_for_a_case_that_no_longer_qualifies_is_recorded_as_not_built(case):
    request = export.export_request(actor=case.handler, case=case)
    customer = case.customer
    customer.erased_at = timezone.now()
    customer.save()
    assert export.export_request_run(export_request_id=request.pk) is None
    request.refresh_from_db()
    assert request.status == ExportRequest.Status.FAILED
    assert request.failure == export.ERR_ERASED
    assert not exports(case).exists()


@pytest.mark.django_db
def test_a_request_already_built_is_not_built_again(case):
    request = export.export_request(actor=case.handler, case=case)
    doc = export.export_request_run(export_request_id=request.pk)
    assert doc is not None
    assert export.export_request_run(export_request_id=request.pk) is None  # a second delivery
    assert exports(case).count() == 1
    request.refresh_from_db()
    assert request.attempts == 1


def test_the_sweep_deletes_temporary_files_older_than_the_hard_time_limit_only(settings, tmp_path):
    settings.CELERY_TASK_TIME_LIMIT = 360
    directory = private_path(TEMPORARY_DIR)
    directory.mkdir(parents=True)
    old = directory / "tmpkilled.part"
    fresh = directory / "tmpwriting.part"
    other = directory / "notes.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"PK\x03\x04 half a zip of personal data")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))

    assert temporary_files_delete_stale(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT) == 1
    assert not old.exists()
    assert fresh.exists() and other.exists()


@pytest.mark.django_db
def test_the_minute_sweep_deletes_a_part_file_left_by_a_killed_export(settings):
    directory = private_path(TEMPORARY_DIR)
    directory.mkdir(parents=True)
    old = directory / "tmpkilled.part"
    old.write_bytes(b"PK half")
    long_ago = time.time() - settings.CELERY_TASK_TIME_LIMIT - 1
    os.utime(old, (long_ago, long_ago))
    fresh = directory / "tmpwriting.part"
    fresh.write_bytes(b"PK half")
    assert export.export_requests_sweep()["temporary_files_deleted"] == 1
    assert not old.exists() and fresh.exists()


@pytest.mark.django_db
def test_an_export_is_written_through_the_temporary_directory_and_leaves_nothing_there(case):
    built_export(actor=case.handler, case=case)
    assert list(private_path(TEMPORARY_DIR).iterdir()) == []
    assert private_path(exports(case).get().path).exists()
