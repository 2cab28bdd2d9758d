"""Stop-the-clock as UK GDPR Art 12A(5) words it: only for an access request, and the paused
period counted from the day asked to the day answered, both days included."""

from __future__ import annotations

import datetime
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from privacy_portal import legal
from requests.deadlines import next_working_day
from requests.models import Case, ClockStop
from requests.services import cases as svc
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
D = datetime.date
S = Case.Status


def today():
    return timezone.localdate()


def working_case(dpo, handler, **kwargs):
    case = svc.case_assign(actor=dpo, case=CaseFactory(**kwargs), handler=handler)
    return svc.case_start(actor=handler, case=case)


# --- The rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "answered", "paused"),
    [
        (D(2026, 3, 5), D(2026, 3, 5), 1),  # asked and answered the same day: that day does not count
        (D(2026, 3, 5), D(2026, 3, 6), 2),
        (D(2026, 3, 5), D(2026, 3, 12), 8),
        (D(2026, 2, 27), D(2026, 3, 2), 4),  # across the end of February (27, 28, 1, 2)
        (D(2028, 2, 28), D(2028, 3, 1), 3),  # a leap year: 28, 29, 1
        (D(2026, 12, 24), D(2027, 1, 4), 12),  # across the new year and its bank holidays: calendar days
    ],
)
def test_the_paused_period_counts_the_day_asked_and_the_day_answered(asked, answered, paused):
    assert legal.clock_paused_days(asked, answered) == paused


def test_an_answer_before_the_question_is_not_a_period():
    with pytest.raises(ValueError):
        legal.clock_paused_days(D(2026, 3, 5), D(2026, 3, 4))


@pytest.mark.parametrize(
    ("right", "may_stop"),
    [
        ("access", True),
        ("informed", False),
        ("rectification", False),
        ("erasure", False),
        ("restriction", False),
        ("portability", False),
        ("objection", False),
    ],
)
def test_only_an_access_request_may_have_its_clock_stopped(right, may_stop):
    assert set(Case.Right.values) >= legal.CLOCK_STOP_RIGHTS
    assert svc.may_stop_clock(Case(right=right)) is may_stop


# --- The clock on a case, table-driven ------------------------------------------------------


@pytest.mark.parametrize(
    ("received_ago", "asked_after", "answered_after", "paused"),
    [
        (20, 5, 5, 1),
        (20, 5, 12, 8),
        (40, 3, 30, 28),
        (10, 0, 1, 2),  # asked the day it arrived
    ],
)
def test_an_access_requests_due_date_moves_by_the_days_not_counted(
    dpo, handler, received_ago, asked_after, answered_after, paused
):
    received = today() - datetime.timedelta(days=received_ago)
    case = working_case(dpo, handler, received_on=received)
    before = case.due_on
    svc.case_request_clarification(
        actor=handler, case=case, question="Which orders?", on=received + datetime.timedelta(days=asked_after)
    )
    assert case.status == S.AWAITING_CLARIFICATION
    svc.case_clarification_received(actor=handler, case=case, on=received + datetime.timedelta(days=answered_after))
    assert case.stopped_days == paused
    assert case.due_on == next_working_day(received + relativedelta(months=1) + datetime.timedelta(days=paused))
    # Art 12A(5)(b)(ii): the pause does not count towards the month for notifying an extension either.
    assert case.original_due_on == case.due_on
    # Later, or the same working day when both dates fall in one weekend or bank holiday (received
    # 20 days before 2 December 2026: due Saturday 12th, moved by a day to Sunday 13th, both Monday 14th).
    assert case.due_on >= before
    stop = case.stops.get()
    assert stop.days == paused
    assert case.history.first().history_change_reason == (
        f"Clarification received; clock restarted, {paused} days not counted (Art 12A(5))"
    )


def test_two_pauses_add_up_each_counted_with_both_its_days(dpo, handler):
    received = today() - datetime.timedelta(days=30)
    case = working_case(dpo, handler, received_on=received)
    for asked, answered in ((2, 4), (10, 10)):
        svc.case_request_clarification(
            actor=handler, case=case, question="Which?", on=received + datetime.timedelta(days=asked)
        )
        svc.case_clarification_received(actor=handler, case=case, on=received + datetime.timedelta(days=answered))
    assert case.stopped_days == 3 + 1
    assert sorted(stop.days for stop in ClockStop.objects.filter(case=case)) == [1, 3]


@pytest.mark.parametrize("right", sorted(set(Case.Right.values) - legal.CLOCK_STOP_RIGHTS))
def test_clarification_is_refused_for_every_other_right_and_the_due_date_stays(dpo, handler, right):
    case = working_case(dpo, handler, right=right, received_on=today() - datetime.timedelta(days=3))
    due = case.due_on
    with pytest.raises(ValidationError) as exc:
        svc.case_request_clarification(actor=handler, case=case, question="Which records?")
    message = " ".join(exc.value.messages)
    assert "only for an access request" in message and "Art 12A(5)" in message
    assert Case.Right(right).label in message and f"{due:%-d %B %Y}" in message
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS and case.due_on == due and not case.stops.exists()


def test_an_erasure_request_clarified_on_the_page_keeps_its_due_date(client_for, dpo, handler):
    case = working_case(dpo, handler, right="erasure", received_on=today() - datetime.timedelta(days=3))
    due = case.due_on
    client = client_for(handler)
    page = client.get(reverse("requests:case", args=[case.pk])).content.decode()
    assert "Stop the clock" not in page and "only an access request may be paused" in page
    response = client.post(
        reverse("requests:case_action", args=[case.pk, "request_clarification"]),
        {"question": "Which account?", "on": today().strftime("%d/%m/%Y")},
        follow=True,
    )
    assert re.search(r"clock can be stopped only for an access request", response.content.decode())
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS and case.due_on == due


def test_an_access_request_on_the_page_offers_to_stop_the_clock(client_for, dpo, handler):
    case = working_case(dpo, handler, right="access")
    page = client_for(handler).get(reverse("requests:case", args=[case.pk])).content.decode()
    assert "Stop the clock" in page


def test_a_pause_left_open_on_another_right_moves_nothing_when_answered(dpo, handler):
    # A stop the rule now refuses (a row made before it), left open on an erasure request.
    received = today() - datetime.timedelta(days=20)
    case = working_case(dpo, handler, right="erasure", received_on=received)
    due = case.due_on
    ClockStop.objects.create(case=case, started_on=received + datetime.timedelta(days=2), question="Which?")
    case.status = S.AWAITING_CLARIFICATION
    case.save()
    svc.case_clarification_received(actor=handler, case=case, on=received + datetime.timedelta(days=9))
    assert case.status == S.IN_PROGRESS and case.stopped_days == 0 and case.due_on == due
    assert "kept running" in case.history.first().history_change_reason


def test_the_migration_recounts_open_cases_pauses_as_the_law_words_them(dpo, handler):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("requests.migrations.0009_recount_clock_stops")
    received = today() - datetime.timedelta(days=20)
    counted_short = working_case(dpo, handler, right="access", received_on=received)
    wrongly_paused = working_case(dpo, handler, right="erasure", received_on=received)
    for case in (counted_short, wrongly_paused):
        ClockStop.objects.create(
            case=case, started_on=received + datetime.timedelta(days=5), ended_on=received + datetime.timedelta(days=10)
        )
        case.stopped_days = 5  # a stored count one day short, on a right that has no pause
        svc.recompute_due(case)
        case.save()
    migration.recount(apps, None)
    counted_short.refresh_from_db()
    wrongly_paused.refresh_from_db()
    assert counted_short.stopped_days == 6
    assert counted_short.due_on == next_working_day(received + relativedelta(months=1) + datetime.timedelta(days=6))
    assert wrongly_paused.stopped_days == 0
    assert wrongly_paused.due_on == next_working_day(received + relativedelta(months=1))
    assert counted_short.history.filter(
        history_change_reason="Clock recounted under UK GDPR Art 12A(5): 6 days not counted (was 5)"
    ).exists()
