"""Complaint reminders: before and after the acknowledgement and the response target, before
and at each ICO deadline; once per threshold however often the job runs; no personal data."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.models import JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from requests.models import IcoCase, IcoDeadline, ReminderKey
from requests.services import complaints as svc
from requests.services.complaint_reminders import complaint_reminders_send
from tests.factories import ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


def received_for_ack_in(days_left: int, today: datetime.date) -> datetime.date:
    """The receipt date that leaves `days_left` days to acknowledge."""
    return today + days_left * DAY - (legal.COMPLAINT_ACKNOWLEDGE_DAYS - 1) * DAY


def test_handler_is_reminded_seven_days_before_the_acknowledgement_is_due_once(
    dpo, handler, today, mailoutbox, settings
):
    complaint = ComplaintFactory(received_on=received_for_ack_in(7, today))
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    assert complaint_reminders_send(today=today)["acknowledgement_reminders"] == 1
    assert complaint_reminders_send(today=today)["acknowledgement_reminders"] == 0
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [handler.email]
    assert complaint.reference in mail.subject and "7 days" in mail.subject
    assert ReminderKey.objects.filter(key__startswith=f"complaint:{complaint.pk}:ack:before7:").count() == 1


def test_the_reminder_holds_no_personal_data(dpo, handler, today, mailoutbox):
    customer = CustomerFactory(first_name="Perpetua", last_name="Quenby", email="perpetua@example.com")
    complaint = ComplaintFactory(
        customer=customer, received_on=received_for_ack_in(2, today), description="Calls from Mr Smith at night"
    )
    complaint_reminders_send(today=today)
    text = mailoutbox[0].subject + mailoutbox[0].body
    assert complaint.reference in text
    for personal in ("Perpetua", "Quenby", "perpetua@example.com", "Smith", customer.reference):
        assert personal not in text


def test_unassigned_complaints_remind_the_dpo(today, mailoutbox, settings):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    ComplaintFactory(received_on=received_for_ack_in(2, today))
    complaint_reminders_send(today=today)
    assert mailoutbox[0].to == ["dpo@example.co.uk"]


def test_overdue_acknowledgement_alerts_the_dpo_once(handler, dpo, today, mailoutbox, settings):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    complaint = svc.complaint_assign(
        actor=dpo, complaint=ComplaintFactory(received_on=received_for_ack_in(-1, today)), handler=handler
    )
    for _ in range(3):
        complaint_reminders_send(today=today)
    assert [m.to for m in mailoutbox] == [["dpo@example.co.uk"]]
    assert mailoutbox[0].subject.startswith(f"Overdue: {complaint.reference}")


def test_a_missed_day_sends_the_most_urgent_reminder_not_the_ones_overtaken(today, mailoutbox):
    complaint = ComplaintFactory(received_on=received_for_ack_in(1, today))
    assert complaint_reminders_send(today=today)["acknowledgement_reminders"] == 1
    keys = list(ReminderKey.objects.values_list("key", flat=True))
    assert keys == [f"complaint:{complaint.pk}:ack:before2:{complaint.acknowledge_by.isoformat()}"]


def test_nothing_is_sent_far_ahead_nor_for_acknowledged_complaints(dpo, today, mailoutbox):
    ComplaintFactory(received_on=received_for_ack_in(20, today))
    done = ComplaintFactory(received_on=received_for_ack_in(2, today) - 5 * DAY)
    svc.complaint_acknowledge(actor=dpo, complaint=done, on=done.received_on)
    report = complaint_reminders_send(today=today)
    assert sum(report.values()) == 0 and mailoutbox == []


def test_the_response_target_is_reminded_before_and_once_missed(dpo, handler, today, mailoutbox, settings):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    complaint = svc.complaint_assign(
        actor=dpo, complaint=ComplaintFactory(received_on=today - 20 * DAY), handler=handler
    )
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=today - 19 * DAY)
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=today + 2 * DAY)
    assert complaint_reminders_send(today=today)["response_reminders"] == 1
    assert mailoutbox[-1].to == [handler.email] and "response" in mailoutbox[-1].subject
    later = today + 3 * DAY
    assert complaint_reminders_send(today=later)["response_overdue"] == 1
    assert complaint_reminders_send(today=later)["response_overdue"] == 0
    assert mailoutbox[-1].to == ["dpo@example.co.uk"]
    assert len(mailoutbox) == 2


def test_a_moved_target_is_reminded_again_once(dpo, handler, today, mailoutbox):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=today)
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=today + 7 * DAY)
    complaint_reminders_send(today=today)
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=today + 6 * DAY)
    complaint_reminders_send(today=today)
    complaint_reminders_send(today=today)
    assert len(mailoutbox) == 2


def test_a_responded_complaint_is_not_reminded_of_its_target(dpo, handler, today, mailoutbox):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=today)
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=today + 2 * DAY)
    svc.complaint_respond(actor=handler, complaint=complaint, on=today, summary="Done.")
    assert complaint_reminders_send(today=today)["response_reminders"] == 0


@pytest.fixture
def ico_deadline(dpo, today):
    complaint = ComplaintFactory()
    svc.complaint_acknowledge(actor=dpo, complaint=complaint, on=today)
    ico = svc.complaint_escalate(
        actor=dpo,
        complaint=complaint,
        ico_reference="IC-998877-Z9",
        contacted_on=today,
        contact_method="portal",
        requested="Our response to the complainant.",
        deadlines=[("Our response", today + 10 * DAY)],
    )
    return ico.deadlines.get()


@pytest.mark.parametrize(
    ("days_after", "threshold"), [(3, "before7"), (8, "before2"), (9, "before2"), (10, "today"), (11, "overdue")]
)
def test_ico_deadlines_are_reminded_before_on_the_day_and_once_missed(
    ico_deadline, today, mailoutbox, settings, days_after, threshold
):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    when = today + days_after * DAY
    assert (
        complaint_reminders_send(today=when)[
            "ico_deadline_overdue" if threshold == "overdue" else "ico_deadline_reminders"
        ]
        == 1
    )
    complaint_reminders_send(today=when)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dpo@example.co.uk"]
    assert "IC-998877-Z9" in mailoutbox[0].body
    assert ReminderKey.objects.get().key == f"ico_deadline:{ico_deadline.pk}:{threshold}:{ico_deadline.due_on}"


def test_every_ico_threshold_goes_once_over_a_run_every_day(ico_deadline, today, mailoutbox):
    for offset in range(0, 15):
        for _ in range(2):
            complaint_reminders_send(today=today + offset * DAY)
    thresholds = sorted(k.split(":")[2] for k in ReminderKey.objects.values_list("key", flat=True))
    assert thresholds == ["before2", "before7", "overdue", "today"]
    assert len(mailoutbox) == 4


def test_an_answered_ico_deadline_is_not_reminded(ico_deadline, dpo, today, mailoutbox):
    svc.ico_deadline_answer(actor=dpo, complaint=ico_deadline.ico_case.complaint, deadline_id=ico_deadline.pk, on=today)
    assert complaint_reminders_send(today=today + 11 * DAY)["ico_deadline_overdue"] == 0
    assert IcoDeadline.objects.filter(answered_on=today).count() == 1 and IcoCase.objects.count() == 1


def test_the_daily_job_is_scheduled_and_records_its_counts(today, mailoutbox):
    from requests.tasks import send_complaint_reminders

    entry = [e for e in BEAT_SCHEDULE.values() if e["task"] == "requests.tasks.send_complaint_reminders"]
    assert len(entry) == 1
    ComplaintFactory(received_on=received_for_ack_in(2, today))
    run = JobRun.objects.get(pk=send_complaint_reminders())
    assert run.name == "send_complaint_reminders"
    assert run.detail["acknowledgement_reminders"] == 1


def test_an_escalated_complaint_still_owing_its_response_is_reminded(dpo, handler, today, mailoutbox):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=today)
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=today + 2 * DAY)
    svc.complaint_escalate(actor=dpo, complaint=complaint, ico_reference="IC-1", contacted_on=today,
                           contact_method="email", requested="x")  # fmt: skip
    assert complaint_reminders_send(today=today)["response_reminders"] == 1
