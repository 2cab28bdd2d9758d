"""The deletion-tasks page and the retention schedule page read the same statements whatever the
number of tasks, confirmations and runs (constant in rows)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import DeletionTask, Recipient
from privacy_portal.models import JobRun

pytestmark = pytest.mark.django_db


def _tasks(n: int, dpo) -> None:
    provider = Recipient.objects.get(code="verbatim-ai")
    today = timezone.localdate()
    rows = []
    for i in range(n):
        confirmed = i % 3 == 0
        rows.append(
            DeletionTask(
                store=DeletionTask.Store.RECIPIENT if i % 2 else DeletionTask.Store.RECORDING_STORE,
                recipient=provider if i % 2 else None,
                cause=DeletionTask.Cause.RETENTION,
                source_reference=f"retention {today}",
                references=[f"rec://calls/{i}/a.wav", f"rec://calls/{i}/b.wav"],
                call_ids=[i],
                due_on=today + datetime.timedelta(days=i - n // 2),
                confirmed_at=timezone.now() if confirmed else None,
                confirmed_by=dpo if confirmed else None,
                confirmed_via=DeletionTask.Via.PERSON if confirmed else "",
                confirmed_references={f"rec://calls/{i}/a.wav": {"confirmation_id": "X"}} if not confirmed else {},
            )
        )
    DeletionTask.objects.bulk_create(rows)


def _statements(client, url: str) -> int:
    client.get(url)  # the first request of a session reads it and the user once more
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_deletion_tasks_page_reads_the_same_statements_for_3_tasks_as_for_90(client_for, dpo):
    client = client_for(dpo)
    url = reverse("customers:deletion_tasks")
    _tasks(3, dpo)
    few = _statements(client, url)
    _tasks(87, dpo)
    many = _statements(client, url)
    assert many == few
    assert few <= 12


def test_the_retention_page_reads_the_same_statements_whatever_the_runs(client_for, dpo):
    client = client_for(dpo)
    url = reverse("retention_schedule")
    JobRun.objects.create(name="apply_retention_schedule", detail={"calls": {"calls": 1}})
    few = _statements(client, url)
    JobRun.objects.bulk_create(
        [JobRun(name="apply_retention_schedule", detail={"calls": {"calls": i}}) for i in range(50)]
    )
    assert _statements(client, url) == few


def test_the_deletion_tasks_page_pages_the_open_tasks_fifty_at_a_time_and_costs_the_same_at_any_count(client_for, dpo):
    """150 open tasks (soonest due first): three pages of 50 forms each, every task once, each
    page read with the same statements as a page of 3 tasks; a bad cursor starts at the first."""
    import re

    client = client_for(dpo)
    url = reverse("customers:deletion_tasks")
    _tasks(3, dpo)
    few = _statements(client, url)
    _tasks(222, dpo)  # two thirds open: 2 + 148 = 150 open
    open = DeletionTask.objects.filter(confirmed_at=None).order_by("due_on", "pk")
    open_ids = list(open.values_list("pk", flat=True))
    assert len(open_ids) == 150
    seen, page_url, pages = [], url, 0
    while page_url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url)
        assert len(queries) == few
        html = response.content.decode()
        shown = [int(pk) for pk in re.findall(r"/deletion-tasks/(\d+)/confirm/", html)]
        shown = list(dict.fromkeys(shown))
        assert len(shown) <= 50
        seen += shown
        pages += 1
        found = re.search(r'href="(\?after=[^"]+)" rel="next"', html)
        page_url = url + found.group(1).replace("&amp;", "&") if found else None
    assert pages == 3
    assert seen == open_ids
    assert client.get(url, {"after": "garbage|x"}).status_code == 200
    assert client.get(url, {"after": "2026-01-01|" + "9" * 40}).status_code == 200
