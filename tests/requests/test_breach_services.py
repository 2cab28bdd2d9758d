"""Personal-data breaches: reporting starts the clock and alerts the DPO, the DPO's assessment
and decision with reasons, reports to the ICO in phases, remedial tasks, closing, the people
affected linked and told, reminders at 24/48/66 hours and once overdue; bad input refused
with a message naming the field or line, nothing partial stored."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.services.imports import ERR_REFERENCE, ImportRejected
from privacy_portal import legal
from privacy_portal.models import AccessEvent
from requests.models import Breach, BreachAffected, BreachNotification, BreachTask, ReminderKey
from requests.services import breaches as svc
from requests.services.breach_reminders import breach_reminders_send
from tests.factories import CustomerFactory, RecipientFactory
from tests.fixtures.breaches import assess

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def report(actor, *, aware_at=None, **kwargs) -> Breach:
    return svc.breach_report(
        actor=actor,
        summary=kwargs.pop("summary", "Parcel delivered to the wrong address"),
        what_happened=kwargs.pop("what_happened", "The courier left an order with invoice at number 12."),
        aware_at=aware_at or timezone.now() - HOUR,
        **kwargs,
    )


def errors_of(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


# --- reporting -----------------------------------------------------------------------------


def test_an_agent_reports_a_suspected_breach_the_clock_starts_and_the_dpo_is_alerted(
    agent, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    aware = timezone.now() - 2 * HOUR
    with django_capture_on_commit_callbacks(execute=True):
        breach = report(agent, aware_at=aware)
    assert breach.reference.startswith(f"B-{timezone.localdate().year}-")
    assert breach.status == Breach.Status.SUSPECTED
    assert breach.due_at == aware + 72 * HOUR
    assert breach.reported_by == agent
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dpo@example.co.uk"]
    assert breach.reference in mailoutbox[0].subject
    assert breach.history.get().history_user == agent


@pytest.mark.parametrize(
    ("aware_delta", "happened_delta", "field", "message"),
    [
        (HOUR, None, "aware_at", svc.ERR_AWARE_FUTURE),
        (-2 * HOUR, -HOUR, "aware_at", svc.ERR_AWARE_BEFORE_HAPPENED),
        (-2 * HOUR, HOUR, "happened_at", svc.ERR_HAPPENED_FUTURE),
    ],
    ids=["aware in the future", "aware before it happened", "happened in the future"],
)
def test_impossible_times_are_refused_by_field_and_nothing_is_stored(
    agent, aware_delta, happened_delta, field, message
):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        report(agent, aware_at=now + aware_delta, happened_at=now + happened_delta if happened_delta else None)
    assert errors_of(exc)[field] == [message]
    assert not Breach.objects.exists()


def test_a_processors_report_records_when_it_told_us_and_the_clock_runs_from_our_awareness(dpo):
    provider = RecipientFactory(name="TranscribeCo Inc", role="processor", country="US")
    told = timezone.now() - 5 * HOUR
    aware = timezone.now() - 6 * HOUR  # we had noticed it ourselves before the processor's report
    breach = report(dpo, aware_at=aware, processor=provider, processor_told_at=told)
    assert breach.cause == Breach.Cause.PROCESSOR
    assert breach.processor_told_at == told
    assert breach.due_at == aware + 72 * HOUR


def test_the_company_is_aware_at_the_latest_when_its_processor_told_it(dpo):
    # A processor's report cannot push the company's clock back (Art 33(2); EDPB Guidelines 9/2022).
    provider = RecipientFactory(name="TranscribeCo Inc", role="processor", country="US")
    told = timezone.now() - 70 * HOUR
    with pytest.raises(ValidationError) as exc:
        report(dpo, aware_at=timezone.now() - HOUR, processor=provider, processor_told_at=told)
    assert errors_of(exc)["aware_at"] == [svc.ERR_AWARE_AFTER_PROCESSOR]
    assert not Breach.objects.exists()
    breach = report(dpo, aware_at=told, processor=provider, processor_told_at=told)
    assert breach.due_at == told + 72 * HOUR


def test_a_processor_report_needs_a_processor_from_the_register_and_when_it_told_us(dpo):
    lender = RecipientFactory(name="Lender plc", role="independent_controller")
    with pytest.raises(ValidationError) as exc:
        report(dpo, processor=lender)
    assert errors_of(exc)["processor"] == [svc.ERR_PROCESSOR_NOT_PROCESSOR.format(name="Lender plc")]
    assert errors_of(exc)["processor_told_at"] == [svc.ERR_PROCESSOR_TOLD_MISSING]


# --- assessment and decision ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("likelihood", "severity", "level"),
    [
        ("remote", "remote", "none"),
        ("remote", "possible", "none"),
        ("possible", "possible", "risk"),
        ("remote", "likely", "risk"),
        ("likely", "possible", "high"),
        ("likely", "likely", "high"),
    ],
)
def test_the_risk_level_follows_likelihood_and_severity(likelihood, severity, level):
    assert svc.breach_risk_level(likelihood, severity) == level


def test_the_dpo_assesses_and_decides_to_report_with_history(agent, dpo):
    breach = assess(dpo, report(agent))
    breach.refresh_from_db()
    assert breach.status == Breach.Status.ASSESSED
    assert breach.risk == Breach.Risk.RISK
    assert breach.report_to_ico is True
    assert breach.assessed_by == dpo
    assert breach.history.first().history_change_reason == "Assessed: risk, report to the ICO"


def test_a_decision_not_to_report_needs_its_reasons(agent, dpo):
    breach = report(agent)
    with pytest.raises(ValidationError) as exc:
        assess(dpo, breach, likelihood="remote", severity="remote", report_to_ico=False, tell_people="not_high",
               tell_people_reason="No risk")  # fmt: skip
    assert errors_of(exc) == {"ico_decision_reason": [svc.ERR_NO_REPORT_REASON]}
    breach.refresh_from_db()
    assert breach.status == Breach.Status.SUSPECTED and breach.report_to_ico is None


def test_a_breach_likely_to_be_a_risk_cannot_be_left_unreported(agent, dpo):
    with pytest.raises(ValidationError) as exc:
        assess(dpo, report(agent), report_to_ico=False, ico_decision_reason="We would rather not")
    assert errors_of(exc)["report_to_ico"] == [svc.ERR_MUST_REPORT]


def test_a_high_risk_means_telling_people_unless_an_art_34_3_exception_applies(agent, dpo):
    breach = report(agent)
    with pytest.raises(ValidationError) as exc:
        assess(dpo, breach, likelihood="likely", severity="likely", tell_people="not_high", tell_people_reason="x")
    assert errors_of(exc)["tell_people"] == [svc.ERR_MUST_TELL]
    assess(dpo, breach, likelihood="likely", severity="likely", tell_people="art34_3a",
           tell_people_reason="The laptop was encrypted with BitLocker; the key was not lost.")  # fmt: skip
    assert Breach.objects.get().tell_people == "art34_3a"


def test_only_the_dpo_assesses(agent, auditor):
    breach = report(agent)
    for someone in (agent, auditor):
        with pytest.raises(ValidationError, match=svc.ERR_DPO_ONLY):
            assess(someone, breach)


# --- reports to the ICO in phases ----------------------------------------------------------------


def test_the_initial_report_then_follow_ups_each_with_its_time_and_the_icos_reference(agent, dpo):
    breach = assess(dpo, report(agent, aware_at=timezone.now() - 10 * HOUR))
    sent = timezone.now() - 2 * HOUR
    svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=sent)
    svc.breach_notify_ico(actor=dpo, breach=breach, phase="follow_up", sent_at=timezone.now(), ico_reference="IC-1")
    phases = list(breach.notifications.order_by("sent_at").values_list("phase", "ico_reference"))
    assert phases == [("initial", ""), ("follow_up", "IC-1")]


def test_a_second_initial_report_and_a_follow_up_before_it_are_refused(agent, dpo):
    breach = assess(dpo, report(agent, aware_at=timezone.now() - 10 * HOUR))
    with pytest.raises(ValidationError) as exc:
        svc.breach_notify_ico(actor=dpo, breach=breach, phase="follow_up", sent_at=timezone.now())
    assert errors_of(exc)["phase"] == [svc.ERR_FOLLOW_UP_FIRST]
    svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=timezone.now())
    assert errors_of(exc)["phase"] == [svc.ERR_INITIAL_TWICE]
    assert breach.notifications.count() == 1


def test_a_late_initial_report_needs_the_reasons_for_the_delay(agent, dpo):
    breach = assess(dpo, report(agent, aware_at=timezone.now() - 80 * HOUR))
    with pytest.raises(ValidationError) as exc:
        svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=timezone.now())
    assert list(errors_of(exc)) == ["late_reason"]
    assert not BreachNotification.objects.exists()
    svc.breach_notify_ico(
        actor=dpo, breach=breach, phase="initial", sent_at=timezone.now(), late_reason="The processor told us late"
    )
    assert Breach.objects.get().late_reason == "The processor told us late"


def test_a_report_cannot_predate_awareness_nor_awareness_be_moved_after_the_report(agent, dpo):
    aware = timezone.now() - 10 * HOUR
    breach = assess(dpo, report(agent, aware_at=aware))
    with pytest.raises(ValidationError) as exc:
        svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=aware - HOUR)
    assert list(errors_of(exc)) == ["sent_at"]
    svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=aware + HOUR)
    with pytest.raises(ValidationError) as exc:
        update(dpo, breach, aware_at=aware + 2 * HOUR)
    assert list(errors_of(exc)) == ["aware_at"]
    assert Breach.objects.get().aware_at == aware


def test_a_breach_decided_not_reportable_takes_no_ico_report(agent, dpo):
    breach = assess(dpo, report(agent), likelihood="remote", severity="remote", report_to_ico=False,
                    ico_decision_reason="Encrypted USB stick, key kept", tell_people="not_high",
                    tell_people_reason="No risk to them")  # fmt: skip
    with pytest.raises(ValidationError, match=svc.ERR_NOT_REPORTABLE):
        svc.breach_notify_ico(actor=dpo, breach=breach, phase="initial", sent_at=timezone.now())


def update(dpo, breach, **overrides):
    data = {
        "summary": breach.summary,
        "what_happened": breach.what_happened,
        "how_discovered": "",
        "discovered_by": "",
        "aware_at": breach.aware_at,
        "happened_at": breach.happened_at,
        "cause": "human_error",
        "data_categories": ["basic_identifiers"],
        "people_categories": ["customers"],
        "people_count": 1,
        "records_count": 1,
    }
    data.update(overrides)
    return svc.breach_update(actor=dpo, breach=breach, **data)


def test_the_dpo_completes_the_record_with_the_icos_categories(agent, dpo):
    breach = update(dpo, report(agent), data_categories=["basic_identifiers", "economic"], people_count=None)
    breach.refresh_from_db()
    assert breach.data_category_labels()[1].startswith("Economic and financial data")
    assert breach.people_count is None  # not yet known
    with pytest.raises(ValidationError) as exc:
        update(dpo, breach, data_categories=["shoe_size"], people_count=-1)
    assert set(errors_of(exc)) == {"data_categories", "people_count"}


# --- tasks and closing ----------------------------------------------------------------------


def test_a_breach_with_open_remedial_tasks_cannot_be_closed(agent, dpo, handler):
    breach = assess(dpo, report(agent), report_to_ico=False, likelihood="remote", severity="remote",
                    ico_decision_reason="Returned unopened", tell_people="not_high",
                    tell_people_reason="Returned unopened")  # fmt: skip
    task = svc.breach_task_add(actor=dpo, breach=breach, title="Retrain the courier desk", owner=handler,
                               due_on=timezone.localdate())  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        svc.breach_close(actor=dpo, breach=breach, lessons_learned="Check labels")
    assert exc.value.messages == [svc.ERR_OPEN_TASKS.format(n=1)]
    assert Breach.objects.get().status == Breach.Status.ASSESSED
    svc.breach_task_done(actor=handler, task=task)
    svc.breach_close(actor=dpo, breach=breach, lessons_learned="Check labels")
    assert Breach.objects.get().status == Breach.Status.CLOSED
    assert BreachTask.objects.get().done_by == handler


def test_closing_needs_the_report_and_everyone_told_when_the_dpo_decided_so(agent, dpo):
    breach = assess(dpo, report(agent))
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[CustomerFactory()])
    with pytest.raises(ValidationError) as exc:
        svc.breach_close(actor=dpo, breach=breach, lessons_learned="")
    assert exc.value.messages == [svc.ERR_CLOSE_REPORT, svc.ERR_CLOSE_TELL.format(n=1), svc.ERR_LESSONS]


# --- the people affected -------------------------------------------------------------------


def csv_of(*refs: str) -> bytes:
    return ("customer_reference\n" + "".join(f"{r}\n" for r in refs)).encode()


def test_a_csv_of_references_links_the_customers_with_history(agent, dpo):
    breach = report(agent)
    customers = CustomerFactory.create_batch(3)
    assert svc.breach_link_csv(actor=dpo, breach=breach, data=csv_of(*(c.reference for c in customers))) == 3
    assert set(breach.affected.values_list("customer_id", flat=True)) == {c.pk for c in customers}
    history = list(BreachAffected.history.filter(history_user=dpo).order_by("customer_id"))
    assert [(h.customer_id, h.breach_id, h.history_type, h.told) for h in history] == [
        (c.pk, breach.pk, "+", "not_yet") for c in sorted(customers, key=lambda c: c.pk)
    ]
    assert {h.history_change_reason for h in history} == {"Linked from a CSV of references"}
    assert history[0].instance.linked_by == dpo  # the history row rebuilds the record it recorded


def test_a_csv_with_unknown_duplicate_erased_or_linked_references_names_each_line_and_links_nothing(agent, dpo):
    breach = report(agent)
    good, erased, linked = CustomerFactory.create_batch(3)
    erased.erased_at = timezone.now()
    erased.save()
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[linked])
    data = csv_of(good.reference, "C-999999", good.reference, erased.reference, linked.reference, "nonsense")
    with pytest.raises(ImportRejected) as exc:
        svc.breach_link_csv(actor=dpo, breach=breach, data=data)
    assert [str(e) for e in exc.value.errors] == [
        f"Line 3, column customer_reference: {svc.ERR_CSV_UNKNOWN}",
        f"Line 4, column customer_reference: {svc.ERR_CSV_DUPLICATE.format(line=2)}",
        f"Line 5, column customer_reference: {svc.ERR_CSV_ERASED}",
        f"Line 6, column customer_reference: {svc.ERR_CSV_LINKED}",
        f"Line 7, column customer_reference: {ERR_REFERENCE}",
    ]
    assert list(breach.affected.values_list("customer_id", flat=True)) == [linked.pk]


def test_the_people_affected_are_recorded_told_or_undeliverable_and_progress_counts_them(agent, dpo):
    breach = report(agent)
    a, b, c = CustomerFactory.create_batch(3)
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[a, b, c])
    now = timezone.now()
    svc.breach_record_told(actor=dpo, breach=breach, told="undeliverable", method="", told_at=now, customers=[c])
    assert svc.breach_record_told(actor=dpo, breach=breach, told="told", method="letter", told_at=now) == 2
    assert svc.breach_progress(breach) == {"told": 2, "not_yet": 0, "undeliverable": 1, "total": 3}
    assert BreachAffected.history.filter(told="told").count() == 2


def test_telling_someone_before_the_company_knew_is_refused(agent, dpo):
    breach = report(agent)
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[CustomerFactory()])
    with pytest.raises(ValidationError) as exc:
        svc.breach_record_told(actor=dpo, breach=breach, told="told", method="", told_at=breach.aware_at - HOUR)
    assert set(errors_of(exc)) == {"method", "told_at"}
    assert breach.affected.get().told == "not_yet"


# --- from the access log ---------------------------------------------------------------------


def test_an_unjustified_break_glass_opening_becomes_a_breach_in_one_step(handler, dpo):
    neighbour = CustomerFactory()
    event = AccessEvent.objects.create(
        user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=neighbour.pk, reason="Checking", flagged=True
    )
    breach = svc.breach_from_access_events(actor=dpo, event_ids=[event.pk], summary="Handler looked up a neighbour")
    assert breach.cause == Breach.Cause.UNAUTHORISED_ACCESS
    assert breach.access_event_ids == [event.pk]
    assert breach.happened_at == event.at
    assert list(breach.affected.values_list("customer_id", flat=True)) == [neighbour.pk]
    with pytest.raises(ValidationError):
        svc.breach_from_access_events(actor=dpo, event_ids=[event.pk + 999], summary="x")


# --- the clock's reminders ------------------------------------------------------------------------


def test_the_dpo_is_reminded_at_24_48_and_66_hours_and_alerted_once_overdue_each_once(agent, mailoutbox, settings):
    settings.DPO_EMAIL = "dpo@example.co.uk"
    aware = timezone.now() - 80 * HOUR
    breach = report(agent, aware_at=aware)
    sent = []
    for hours in (10, 24, 30, 48, 66, 67, 72, 73):
        breach_reminders_send(now=aware + hours * HOUR)
        sent.append(len(mailoutbox))
    assert sent == [0, 1, 1, 2, 3, 3, 4, 4]
    assert "Overdue" in mailoutbox[-1].subject and breach.reference in mailoutbox[-1].subject
    assert ReminderKey.objects.filter(key__startswith=f"breach:{breach.pk}:").count() == 4
    assert mailoutbox[0].to == ["dpo@example.co.uk"]


def test_a_reported_or_not_reportable_breach_is_not_reminded_of(agent, dpo, mailoutbox):
    aware = timezone.now() - 30 * HOUR
    reported = assess(dpo, report(agent, aware_at=aware))
    svc.breach_notify_ico(actor=dpo, breach=reported, phase="initial", sent_at=timezone.now())
    assess(dpo, report(agent, aware_at=aware), likelihood="remote", severity="remote", report_to_ico=False,
           ico_decision_reason="Returned unopened", tell_people="not_high", tell_people_reason="No risk")  # fmt: skip
    assert breach_reminders_send() == {"reminders": 0, "overdue": 0}
    assert mailoutbox == []


def test_the_reminders_hold_no_personal_data(agent, mailoutbox):
    report(agent, aware_at=timezone.now() - 25 * HOUR, summary="Mrs Quenby's parcel",
           what_happened="Sent to Perpetua Quenby's neighbour")  # fmt: skip
    breach_reminders_send()
    assert len(mailoutbox) == 1
    assert "Quenby" not in mailoutbox[0].subject + mailoutbox[0].body


def test_the_reminder_job_is_on_the_beat_schedule_every_ten_minutes():
    from privacy_portal.schedule import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["send-breach-reminders"]
    assert entry["task"] == "requests.tasks.send_breach_reminders"
    assert legal.BREACH_REMINDER_HOURS == (24, 48, 66)


def test_a_breach_closed_meanwhile_takes_no_new_task(agent, dpo, handler):
    breach = assess(dpo, report(agent), report_to_ico=False, likelihood="remote", severity="remote",
                    ico_decision_reason="Returned unopened", tell_people="not_high",
                    tell_people_reason="Returned unopened")  # fmt: skip
    stale = Breach.objects.get(pk=breach.pk)  # the page read it before the DPO closed it elsewhere
    svc.breach_close(actor=dpo, breach=breach, lessons_learned="Check labels")
    with pytest.raises(ValidationError) as exc:
        svc.breach_task_add(actor=dpo, breach=stale, title="Retrain the courier desk", owner=handler,
                            due_on=timezone.localdate())  # fmt: skip
    assert exc.value.messages == [svc.ERR_CLOSED]
    assert not BreachTask.objects.exists()


def test_access_log_entries_already_a_breachs_evidence_make_no_second_breach(dpo, handler):
    customer = CustomerFactory()
    event = AccessEvent(user=handler, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=customer.pk)
    event.save()
    first = svc.breach_from_access_events(actor=dpo, event_ids=[event.pk], summary="Neighbour looked up")
    with pytest.raises(ValidationError) as exc:
        svc.breach_from_access_events(actor=dpo, event_ids=[event.pk], summary="Neighbour looked up")
    assert errors_of(exc)["event_ids"] == [svc.ERR_EVIDENCE_TAKEN.format(ids=str(event.pk), reference=first.reference)]
    assert Breach.objects.count() == 1
