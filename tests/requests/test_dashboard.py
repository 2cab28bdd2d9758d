"""The DPO's dashboard: open cases by status and right, deadlines, on-time share, extensions, median."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests.models import Case
from requests.selectors.cases import dashboard_figures
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)
S = Case.Status


def case(*, status=S.RECEIVED, right="access", received_on=datetime.date(2026, 6, 1), due_on=None, closed_on=None,
         extended=False) -> Case:  # fmt: skip
    c = CaseFactory(right=right, received_on=received_on)
    c.status, c.extended, c.closed_on = status, extended, closed_on
    c.due_on = due_on if due_on is not None else c.due_on
    if status == S.REFUSED:
        c.refusal_ground = Case.RefusalGround.EXCESSIVE
    c.save()
    return c


def test_open_cases_are_counted_by_status_and_right_with_deadlines_at_risk():
    case(status=S.IN_PROGRESS, due_on=TODAY - datetime.timedelta(days=1))  # overdue
    case(status=S.IN_PROGRESS, right="erasure", due_on=TODAY + datetime.timedelta(days=7))  # due this week
    case(status=S.AWAITING_IDENTITY, right="erasure", due_on=TODAY + datetime.timedelta(days=8), extended=True)
    case(status=S.COMPLETED, closed_on=TODAY, due_on=TODAY)  # closed: not open
    figures = dashboard_figures(today=TODAY)
    assert figures.open_total == 3
    assert {b.label: b.value for b in figures.by_status.bars} == {
        "Received": 0, "Awaiting identity": 1, "In progress": 2, "Awaiting clarification": 0,
        "Awaiting DPO sign-off": 0,
    }  # fmt: skip
    rights = {b.label: b.value for b in figures.by_right.bars}
    assert rights["Access (Art 15)"] == 1 and rights["Erasure (Art 17)"] == 2 and len(rights) == 7
    assert (figures.overdue, figures.due_this_week, figures.extended_open) == (1, 1, 1)


def test_on_time_share_extensions_and_median_cover_answers_of_the_last_twelve_months():
    # Answered on time: completed by the due date, and a refusal whose clock never started.
    case(status=S.COMPLETED, received_on=datetime.date(2026, 5, 1), due_on=datetime.date(2026, 6, 1),
         closed_on=datetime.date(2026, 5, 21))  # fmt: skip
    case(status=S.COMPLETED, received_on=datetime.date(2026, 1, 5), due_on=datetime.date(2026, 4, 7),
         closed_on=datetime.date(2026, 4, 1), extended=True)  # fmt: skip
    refused = case(status=S.REFUSED, received_on=datetime.date(2026, 3, 2), closed_on=datetime.date(2026, 3, 30))
    refused.due_on = None
    refused.save()
    # Late.
    case(status=S.COMPLETED, received_on=datetime.date(2025, 12, 1), due_on=datetime.date(2026, 1, 2),
         closed_on=datetime.date(2026, 1, 12))  # fmt: skip
    # Not counted: withdrawn (not an answer), and answered more than twelve months ago.
    case(status=S.WITHDRAWN, closed_on=datetime.date(2026, 6, 2), due_on=datetime.date(2026, 6, 1))
    case(status=S.COMPLETED, received_on=datetime.date(2025, 5, 1), due_on=datetime.date(2025, 6, 2),
         closed_on=datetime.date(2025, 6, 30))  # fmt: skip

    figures = dashboard_figures(today=TODAY)
    assert figures.since == datetime.date(2025, 7, 1)
    assert (figures.responded, figures.on_time, figures.on_time_percent) == (4, 3, 75)
    assert figures.extensions_used == 1
    # Completed cases took 20, 86 and 42 calendar days from receipt (refusals are not completions).
    assert figures.median_days == 42
    months = {m.label: (m.responded, m.on_time) for m in figures.monthly.months}
    assert len(figures.monthly.months) == 12 and figures.monthly.months[-1].label == "Jun 26"
    assert months["Jan 26"] == (1, 0) and months["Apr 26"] == (1, 1) and months["May 26"] == (1, 1)
    assert months["Jun 26"] == (0, 0) and figures.monthly.months[-1].share is None


def test_with_no_cases_the_figures_say_so_without_dividing_by_zero():
    figures = dashboard_figures(today=TODAY)
    assert figures.open_total == 0 and figures.on_time_share is None and figures.median_days is None
    assert all(b.width == 0 for b in figures.by_status.bars)


def test_bars_are_proportional_to_their_values():
    case(status=S.IN_PROGRESS)
    case(status=S.IN_PROGRESS)
    case(status=S.RECEIVED)
    bars = {b.label: b for b in dashboard_figures(today=TODAY).by_status.bars}
    assert bars["In progress"].width == 2 * bars["Received"].width > 0


def test_dpo_sees_numbers_and_svg_charts_without_script_or_inline_style(client_for, dpo):
    case(status=S.IN_PROGRESS, due_on=datetime.date(2020, 1, 1))
    client = client_for(dpo)
    body = client.get(reverse("home")).content.decode()
    assert "Rights requests" in body and "1 overdue" in body
    assert body.count("<svg") >= 3 and "Open cases by right" in body
    assert "Missed opt-out deadlines" in body and reverse("customers:breaches") in body
    assert "<script" not in body.split("</footer>")[0].split("<main")[1]
    assert not re.search(r"\sstyle=", body)


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin"])
def test_other_roles_do_not_get_the_dpo_figures(client_for, cast, role):
    client = client_for(cast[role])
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Open cases by status" not in response.content.decode()


def test_the_dashboard_runs_a_fixed_number_of_queries_however_many_cases(client_for, dpo, django_assert_num_queries):
    client = client_for(dpo)
    client.get(reverse("home"))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    for status in (S.RECEIVED, S.IN_PROGRESS, S.AWAITING_IDENTITY):
        for right in ("access", "erasure", "objection"):
            case(status=status, right=right)
    case(status=S.COMPLETED, closed_on=datetime.date.today(), due_on=datetime.date.today())
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))
    case_queries = [q for q in few.captured_queries if '"requests_case"' in q["sql"]]
    # The dashboard's own figures take three: the quarter's promises are the hourly job's summary,
    # read in one statement, never a report built on the page view.
    assert len(case_queries) == 3
    summary_queries = [q for q in few.captured_queries if "promise_summary" in q["sql"]]
    assert len(summary_queries) == 1


def test_the_dashboard_builds_no_promise_report(client_for, dpo, monkeypatch, django_assert_num_queries):
    from privacy_portal.promises import report
    from privacy_portal.tasks import summarise_promises

    client = client_for(dpo)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("home"))
    summarise_promises()
    case(status=S.IN_PROGRESS, due_on=datetime.date(2020, 1, 1))

    def no_report(*args, **kwargs):
        raise AssertionError("the dashboard built a promise report")

    monkeypatch.setattr(report, "promise_report", no_report)
    monkeypatch.setattr(report, "check_outcome", no_report)
    # With a summary stored, the same statements as without one (the summary is one row).
    with django_assert_num_queries(len(before.captured_queries)):
        body = client.get(reverse("home")).content.decode()
    assert 'id="promises-as-of"' in body
