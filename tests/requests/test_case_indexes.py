"""The queue's and the dashboard's queries can use the indexes made for them (at 100,000 cases
a sort of every row missed the queue's 150 ms target: bench/RESULTS.md)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests.selectors.cases import case_queue, dashboard_figures
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def plan(sql: str) -> str:
    """The plan PostgreSQL picks when full scans and sorts are ruled out (the test tables are
    tiny): an index whose expression does not match the query's would not be used even then."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql)
        text = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    return text


def queries(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(("status", "index"), [("", "case_sort_open"), ("closed", "case_sort_closed")])
def test_the_queue_reads_open_and_closed_cases_in_order_from_their_sort_index(dpo, status, index):
    CaseFactory.create_batch(3)
    CaseFactory.create_batch(3, status="completed", closed_on=datetime.date(2026, 1, 30))
    [listing] = [sql for sql in queries(lambda: case_queue(dpo, status=status)) if "ORDER BY" in sql]
    text = plan(listing)
    # An index scan in the queue's order, under the LIMIT: no sort of every matching row.
    assert f"Index Scan using {index}" in text and "Sort" not in text


def test_the_dashboard_reads_answered_cases_from_their_own_index():
    CaseFactory.create_batch(3)
    answered = [sql for sql in queries(dashboard_figures) if 'closed_on" >=' in sql]
    assert len(answered) == 2
    for sql in answered:
        assert "case_answered" in plan(sql)
