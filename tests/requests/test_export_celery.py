"""The access export built by a real Celery worker on Redis, writing to PostgreSQL."""

from __future__ import annotations

import json
import zipfile

import pytest
from django.utils import timezone

from privacy_portal.models import JobRun
from privacy_portal.private_storage import private_path
from privacy_portal.tasks import heartbeat
from requests.models import CaseDocument
from requests.services import cases as svc
from requests.services import export
from requests.tasks import build_export
from tests.factories import CallFactory, CaseFactory, CustomerFactory, UserFactory
from tests.fixtures.celery import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """A private storage of the test's own, so that files from other tests or runs never count."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path


@pytest.fixture
def case(role_groups):
    # A transactional test starts from a flushed database: the role groups come back first.
    dpo = UserFactory(role="dpo")
    handler = UserFactory(role="handler")
    customer = CustomerFactory(first_name="Winifred", email="winifred@example.co.uk")
    CallFactory(customer=customer, transcript="Caller: I want a copy of my data")
    case = svc.case_assign(actor=dpo, case=CaseFactory(customer=customer), handler=handler)
    return svc.case_start(actor=handler, case=case)


def exports(case):
    return CaseDocument.objects.filter(case=case, kind=CaseDocument.Kind.EXPORT)


def test_the_worker_builds_the_export_queued_by_the_case_action(redis_worker, case):
    export.export_request(actor=case.handler, case=case)
    assert wait_for(lambda: exports(case).exists())
    doc = exports(case).get()
    with zipfile.ZipFile(private_path(doc.path)) as archive:
        data = json.loads(archive.read("personal_data.json"))
        assert "index.html" in archive.namelist()
    assert data["data_sets"]["customer"]["records"][0]["first_name"] == "Winifred"
    assert data["data_sets"]["calls"]["records"][0]["transcript"] == "Caller: I want a copy of my data"
    assert doc.uploaded_by == case.handler


def test_a_task_delivered_twice_builds_one_export(redis_worker, case):
    asked = timezone.now().isoformat()
    build_export.delay(case.pk, case.handler.pk, asked)
    build_export.delay(case.pk, case.handler.pk, asked)  # the broker redelivers, or a retry
    heartbeat.delay()  # one worker, in order: when this has run, both deliveries have
    assert wait_for(lambda: JobRun.objects.filter(name="heartbeat", finished_at__isnull=False).exists())
    assert exports(case).count() == 1
    assert len(list(private_path(exports(case).get().path).parent.iterdir())) == 1


def test_a_task_for_a_case_that_no_longer_qualifies_does_nothing(redis_worker, case):
    customer = case.customer
    customer.erased_at = timezone.now()
    customer.save()
    build_export.delay(case.pk, case.handler.pk, timezone.now().isoformat())
    heartbeat.delay()
    assert wait_for(lambda: JobRun.objects.filter(name="heartbeat", finished_at__isnull=False).exists())
    assert not exports(case).exists()
