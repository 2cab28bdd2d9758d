"""Deadline reminders: handlers 7 and 2 days before, the DPO when overdue, each once."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.models import JobRun
from requests.models import Case, ReminderKey
from requests.services import cases as svc
from requests.services.reminders import reminders_send
from requests.tasks import send_case_reminders
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)  # a Monday
FIRST, SECOND = sorted(legal.CASE_REMINDER_DAYS_BEFORE, reverse=True)


def case_due_in(days: int, *, handler=None, dpo=None, **kwargs) -> Case:
    """A case whose due date is `days` from TODAY (negative: overdue), assigned to `handler`."""
    case = CaseFactory(received_on=datetime.date(2026, 1, 5), **kwargs)
    case.due_on = TODAY + datetime.timedelta(days=days)
    case.save()
    if handler is not None:
        case.handler = handler
        case.save()
    return case


def sent_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if address in m.to]


def test_the_handler_is_reminded_seven_and_two_days_before_the_due_date(handler):
    case = case_due_in(FIRST, handler=handler)
    reminders_send(today=TODAY)
    [reminder] = sent_to(handler.email)
    assert reminder.subject == f"{case.reference} is due in {FIRST} days (by Monday 9 March 2026)"
    reminders_send(today=TODAY + datetime.timedelta(days=FIRST - SECOND))
    assert len(sent_to(handler.email)) == 2
    assert f"due in {SECOND} days" in mail.outbox[-1].subject
    assert {r.threshold for r in ReminderKey.objects.filter(case=case)} == {
        f"before{FIRST}:2026-03-09",
        f"before{SECOND}:2026-03-09",
    }


def test_running_twice_sends_each_reminder_once(handler):
    case_due_in(FIRST, handler=handler)
    case_due_in(-1, handler=handler)
    first = reminders_send(today=TODAY)
    second = reminders_send(today=TODAY)
    assert first == {"considered": 2, "handler_reminders": 1, "overdue_alerts": 1}
    assert second == {"considered": 2, "handler_reminders": 0, "overdue_alerts": 0}
    assert len(mail.outbox) == 2
    assert ReminderKey.objects.count() == 2


def test_the_dpo_is_told_once_when_a_case_is_overdue(handler, settings):
    settings.DPO_EMAIL = "dpo@example.org"
    case = case_due_in(-3, handler=handler)
    for _ in range(3):
        reminders_send(today=TODAY)
    [alert] = mail.outbox
    assert alert.to == ["dpo@example.org"]
    assert alert.subject == f"Overdue: {case.reference} was due Friday 27 February 2026"
    assert "3 days overdue" in alert.body and handler.username in alert.body


def test_no_reminder_outside_the_thresholds_or_for_closed_or_stopped_cases(handler, dpo):
    case_due_in(FIRST + 1, handler=handler)
    closed = case_due_in(1, handler=handler)
    closed.status, closed.closed_on, closed.outcome = Case.Status.COMPLETED, TODAY, "Sent"
    closed.save()
    case_due_in(1, handler=handler, status=Case.Status.AWAITING_CLARIFICATION)
    assert reminders_send(today=TODAY)["considered"] == 0
    assert mail.outbox == []


def test_a_missed_day_sends_the_most_urgent_reminder_only(handler):
    case_due_in(1, handler=handler)
    reminders_send(today=TODAY)
    [reminder] = mail.outbox
    assert "due in 1 day " in reminder.subject
    assert [r.threshold for r in ReminderKey.objects.all()] == [f"before{SECOND}:2026-03-03"]


def test_a_case_due_today_is_reminded_and_the_next_day_it_is_overdue(handler, settings):
    case_due_in(0, handler=handler)
    reminders_send(today=TODAY)
    reminders_send(today=TODAY + datetime.timedelta(days=1))
    assert [m.to for m in mail.outbox] == [[handler.email], [settings.DPO_EMAIL]]


def test_when_the_due_date_moves_the_handler_is_reminded_of_the_new_date(handler):
    case = case_due_in(SECOND, handler=handler)
    reminders_send(today=TODAY)
    case.due_on = TODAY + datetime.timedelta(days=SECOND + 30)  # an extension
    case.save()
    reminders_send(today=TODAY + datetime.timedelta(days=30))
    assert len(mail.outbox) == 2


def test_an_unassigned_case_is_reminded_to_the_dpo(settings):
    settings.DPO_EMAIL = "dpo@example.org"
    case_due_in(SECOND)
    reminders_send(today=TODAY)
    assert mail.outbox[0].to == ["dpo@example.org"]


def test_reminders_hold_the_reference_and_due_date_but_no_personal_data(handler, settings):
    customer = CustomerFactory(
        first_name="Philippa", last_name="Rowntree", email="philippa@example.co.uk", postcode="SW1A 1AA"
    )
    soon = case_due_in(
        SECOND, handler=handler, customer=customer, requester_name="Philippa Rowntree", description="all data"
    )
    late = case_due_in(-1, handler=handler, customer=customer)
    reminders_send(today=TODAY)
    assert len(mail.outbox) == 2
    for message, case in zip(mail.outbox, (late, soon), strict=True):  # soonest due first
        text = message.subject + message.body
        assert case.reference in text and f"{case.due_on:%-d %B %Y}" in text
        for value in ("Philippa", "Rowntree", "philippa@example.co.uk", "SW1A", customer.reference, "all data"):
            assert value not in text


def test_a_failed_send_records_nothing_so_the_next_run_tries_again(handler, settings):
    settings.EMAIL_BACKEND = "tests.requests.test_reminders.FailingBackend"
    case_due_in(SECOND, handler=handler)
    with pytest.raises(ConnectionError):
        reminders_send(today=TODAY)
    assert not ReminderKey.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reminders_send(today=TODAY)
    assert ReminderKey.objects.count() == 1 and len(mail.outbox) == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("mail server down")


def test_the_daily_task_records_its_run(handler, dpo):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    case.due_on = timezone.localdate() + datetime.timedelta(days=SECOND)
    case.save()
    run = JobRun.objects.get(pk=send_case_reminders())
    assert run.name == "send_case_reminders" and run.outcome == JobRun.Outcome.OK
    assert run.detail["handler_reminders"] == 1
