"""Complaints: the workflow (every illegal move refused), the 30-day acknowledgement, the
DPO's target and assignment with its grants, and the ICO's case and deadlines."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from privacy_portal import legal
from requests.models import Complaint, IcoCase, IcoDeadline
from requests.services import cases as case_svc
from requests.services import complaints as svc
from requests.services import workflow
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db
S = Complaint.Status
TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


def messages_of(excinfo) -> list[str]:
    return excinfo.value.messages


@pytest.fixture
def complaint(dpo, handler):
    return svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)


def _escalate(dpo, complaint, **overrides):
    data = {
        "ico_reference": "IC-123456-A1B2",
        "contacted_on": TODAY(),
        "contact_method": "email",
        "caseworker": "Case Officer",
        "requested": "A copy of our response and the call recording.",
        "deadlines": [("Copy of the response", TODAY() + 14 * DAY)],
    }
    return svc.complaint_escalate(actor=dpo, complaint=complaint, **{**data, **overrides})


# --- logging and the 30-day rule ---------------------------------------------------------


def test_logging_gives_a_cp_reference_and_acknowledge_by_thirty_days_counting_receipt_as_day_one(agent):
    received = datetime.date(2026, 3, 3)
    complaint = svc.complaint_log(
        actor=agent,
        customer=CustomerFactory(),
        received_on=received,
        channel="phone",
        category="marketing",
        description="Still getting calls after opting out.",
    )
    assert complaint.reference == f"CP-{TODAY().year}-00001"
    assert complaint.status == S.RECEIVED
    assert complaint.logged_by == agent
    # Day one is 3 March, day thirty is 1 April.
    assert complaint.acknowledge_by == datetime.date(2026, 4, 1)
    assert (complaint.acknowledge_by - received).days == legal.COMPLAINT_ACKNOWLEDGE_DAYS - 1
    assert complaint.history.get().history_user == agent


def test_the_acknowledgement_date_is_not_moved_for_weekends():
    # Received Friday 6 March 2026: day thirty is Saturday 4 April, and stays there.
    from requests.deadlines import complaint_acknowledge_by

    assert complaint_acknowledge_by(datetime.date(2026, 3, 6)) == datetime.date(2026, 4, 4)


def test_logging_without_customer_needs_the_complainants_name(agent):
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_log(actor=agent, received_on=TODAY(), channel="phone", category="other", description="x")
    assert excinfo.value.message_dict == {"complainant_name": [svc.ERR_WHO]}
    assert not Complaint.objects.exists()


def test_logging_refuses_a_future_date_an_unknown_category_and_no_description(agent):
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_log(
            actor=agent,
            complainant_name="Ann Other",
            received_on=TODAY() + DAY,
            channel="pigeon",
            category="weather",
            description=" ",
        )
    assert excinfo.value.message_dict == {
        "received_on": [svc.ERR_RECEIVED_FUTURE],
        "channel": [svc.ERR_CHANNEL],
        "category": [svc.ERR_CATEGORY],
        "description": [svc.ERR_DESCRIPTION],
    }
    assert not Complaint.objects.exists()


def test_an_erased_customer_cannot_be_named(agent):
    customer = CustomerFactory(erased_at=timezone.now())
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_log(
            actor=agent, customer=customer, received_on=TODAY(), channel="phone", category="other", description="x"
        )
    assert messages_of(excinfo) == [svc.ERR_ERASED]


def test_linked_requests_must_be_the_same_customers(agent):
    customer = CustomerFactory()
    own, other = CaseFactory(customer=customer), CaseFactory()
    complaint = svc.complaint_log(
        actor=agent,
        customer=customer,
        received_on=TODAY(),
        channel="email",
        category="request_handling",
        description="My access request was late.",
        cases=[own],
    )
    assert list(complaint.cases.all()) == [own]
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_log(
            actor=agent,
            customer=customer,
            received_on=TODAY(),
            channel="email",
            category="request_handling",
            description="x",
            cases=[other],
        )
    # An agent may not open the other customer's request: it is told nothing about it.
    assert messages_of(excinfo) == [svc.ERR_CASE_UNKNOWN.format(reference=other.reference)]
    assert Complaint.objects.count() == 1


def test_the_dpo_is_told_a_request_belongs_to_another_customer(dpo):
    customer = CustomerFactory()
    other = CaseFactory()
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_log(
            actor=dpo, customer=customer, received_on=TODAY(), channel="email", category="request_handling",
            description="x", cases=[other],
        )  # fmt: skip
    assert messages_of(excinfo) == [svc.ERR_CASE_OTHER_CUSTOMER.format(reference=other.reference)]


# --- the workflow ------------------------------------------------------------------------


def test_the_full_path_with_review_and_escalation(dpo, handler, complaint):
    received = complaint.received_on
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=received)
    svc.complaint_investigate(actor=handler, complaint=complaint)
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="We have stopped the calls.")
    svc.complaint_request_review(actor=handler, complaint=complaint, on=TODAY())
    svc.complaint_conclude_review(actor=dpo, complaint=complaint, on=TODAY(), outcome="Response upheld.")
    ico = _escalate(dpo, complaint)
    svc.ico_outcome_record(actor=dpo, complaint=complaint, outcome="nfa", on=TODAY())
    svc.complaint_close(actor=dpo, complaint=complaint, outcome="ICO took no further action.")
    complaint.refresh_from_db()
    assert complaint.status == S.CLOSED and complaint.closed_on == TODAY()
    assert ico.deadlines.count() == 1
    statuses = [h.status for h in complaint.history.order_by("history_date", "history_id")]
    assert list(dict.fromkeys(statuses)) == [
        S.RECEIVED,
        S.ACKNOWLEDGED,
        S.INVESTIGATING,
        S.RESPONDED,
        S.REVIEW_REQUESTED,
        S.REVIEW_CONCLUDED,
        S.ESCALATED,
        S.CLOSED,
    ]


def test_lawful_skips_respond_without_investigating_and_close_without_review(handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="Sorry; fixed.")
    svc.complaint_close(actor=handler, complaint=complaint, outcome="Resolved at first response.")
    assert complaint.status == S.CLOSED


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (S.RECEIVED, S.INVESTIGATING),
        (S.RECEIVED, S.RESPONDED),
        (S.RECEIVED, S.ESCALATED),
        (S.RECEIVED, S.CLOSED),
        (S.ACKNOWLEDGED, S.CLOSED),
        (S.ACKNOWLEDGED, S.REVIEW_REQUESTED),
        (S.INVESTIGATING, S.REVIEW_REQUESTED),
        (S.INVESTIGATING, S.CLOSED),
        (S.REVIEW_REQUESTED, S.CLOSED),
        (S.REVIEW_REQUESTED, S.RESPONDED),
        (S.ESCALATED, S.ACKNOWLEDGED),
        (S.CLOSED, S.ACKNOWLEDGED),
    ],
)
def test_every_forbidden_jump_is_refused_and_changes_nothing(dpo, status, target):
    complaint = ComplaintFactory(
        status=status, acknowledged_on=TODAY() if status != S.RECEIVED else None, responded_on=None
    )
    run = {
        S.ACKNOWLEDGED: lambda: svc.complaint_acknowledge(actor=dpo, complaint=complaint, on=TODAY()),
        S.INVESTIGATING: lambda: svc.complaint_investigate(actor=dpo, complaint=complaint),
        S.RESPONDED: lambda: svc.complaint_respond(actor=dpo, complaint=complaint, on=TODAY(), summary="x"),
        S.REVIEW_REQUESTED: lambda: svc.complaint_request_review(actor=dpo, complaint=complaint, on=TODAY()),
        S.ESCALATED: lambda: _escalate(dpo, complaint),
        S.CLOSED: lambda: svc.complaint_close(actor=dpo, complaint=complaint, outcome="x"),
    }[target]
    with pytest.raises(ValidationError):
        run()
    complaint.refresh_from_db()
    assert complaint.status == status
    assert not IcoCase.objects.exists()


def test_the_transitions_table_names_every_status_and_closed_is_final():
    assert set(workflow.COMPLAINT_TRANSITIONS) == set(S.values)
    assert workflow.COMPLAINT_TRANSITIONS[S.CLOSED] == set()
    assert all(S.RECEIVED not in targets for targets in workflow.COMPLAINT_TRANSITIONS.values())


def test_a_forbidden_move_says_where_from_and_where_to(dpo):
    complaint = ComplaintFactory()
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_investigate(actor=dpo, complaint=complaint)
    assert messages_of(excinfo) == [workflow.ERR_COMPLAINT_MOVE.format(current="Received", target="Investigating")]


def test_acknowledgement_before_receipt_or_in_the_future_is_refused(handler, complaint):
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_acknowledge(actor=handler, complaint=complaint, on=complaint.received_on - DAY)
    assert messages_of(excinfo) == [svc.ERR_ACK_BEFORE_RECEIPT.format(received=f"{complaint.received_on:%-d %B %Y}")]
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY() + DAY)
    assert messages_of(excinfo) == [svc.ERR_DATE_FUTURE]
    complaint.refresh_from_db()
    assert complaint.status == S.RECEIVED and complaint.acknowledged_on is None


def test_a_late_acknowledgement_is_recorded_as_late(handler, dpo):
    complaint = svc.complaint_assign(
        actor=dpo, complaint=ComplaintFactory(received_on=TODAY() - 40 * DAY), handler=handler
    )
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    assert complaint.history.latest().history_change_reason == "Acknowledged late"


def test_response_and_review_dates_keep_their_order(handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    with pytest.raises(ValidationError):
        svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY() - DAY, summary="x")
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary=" ")
    assert excinfo.value.message_dict == {"summary": [svc.ERR_SUMMARY]}
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="Done.")
    with pytest.raises(ValidationError):
        svc.complaint_request_review(actor=handler, complaint=complaint, on=TODAY() - DAY)


# --- who may do what ---------------------------------------------------------------------


def test_only_the_assigned_handler_or_the_dpo_works_a_complaint(other_handler, auditor, agent, complaint):
    for user in (other_handler, auditor, agent):
        with pytest.raises(ValidationError) as excinfo:
            svc.complaint_acknowledge(actor=user, complaint=complaint, on=TODAY())
        assert messages_of(excinfo) == [workflow.ERR_NOT_WORKER]


def test_only_the_dpo_assigns_sets_the_target_and_concludes_a_review(handler, other_handler, complaint):
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_assign(actor=handler, complaint=complaint, handler=other_handler)
    assert messages_of(excinfo) == [svc.ERR_DPO_ONLY]
    with pytest.raises(ValidationError):
        svc.complaint_set_target(actor=handler, complaint=complaint, due_on=TODAY() + 10 * DAY)


def test_only_the_dpo_records_the_icos_involvement(handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    with pytest.raises(ValidationError) as excinfo:
        _escalate(handler, complaint)
    assert messages_of(excinfo) == [svc.ERR_ICO_ONLY]
    assert not IcoCase.objects.exists()


def test_assignment_grants_the_complaint_and_the_customers_case_file(handler, complaint):
    customer = complaint.customer
    assert handler.has_perm("requests.view_complaint", complaint)
    assert handler.has_perm("requests.work_complaint", complaint)
    assert handler.has_perm("customers.view_customer", customer)
    assert handler.has_perm("customers.view_transcript", customer)


def test_reassignment_takes_the_grants_back(dpo, handler, other_handler, complaint):
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=other_handler)
    handler = type(handler).objects.get(pk=handler.pk)  # fresh permission cache
    assert not handler.has_perm("requests.view_complaint", complaint)
    assert not handler.has_perm("customers.view_customer", complaint.customer)
    assert other_handler.has_perm("requests.work_complaint", complaint)


def test_reassignment_keeps_the_customer_grant_a_handler_still_needs_for_an_open_case(dpo, handler, other_handler):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    case_svc.case_assign(actor=dpo, case=CaseFactory(customer=complaint.customer), handler=handler)
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=other_handler)
    handler = type(handler).objects.get(pk=handler.pk)
    assert not handler.has_perm("requests.view_complaint", complaint)
    assert handler.has_perm("customers.view_customer", complaint.customer)


def test_complaints_go_only_to_handlers_or_the_dpo(dpo, agent):
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=agent)
    assert excinfo.value.message_dict == {"handler": [svc.ERR_HANDLER_ROLE]}


def test_closing_keeps_the_handlers_read_of_the_complaint_but_not_the_work(handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="Done.")
    svc.complaint_close(actor=handler, complaint=complaint, outcome="Resolved.")
    handler = type(handler).objects.get(pk=handler.pk)
    assert handler.has_perm("requests.view_complaint", complaint)
    assert not handler.has_perm("requests.work_complaint", complaint)
    assert not handler.has_perm("customers.view_customer", complaint.customer)


def test_the_response_target_cannot_be_in_the_past_nor_before_receipt(dpo):
    complaint = ComplaintFactory(received_on=TODAY() - 10 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=TODAY() - DAY)
    assert excinfo.value.message_dict == {"due_on": [svc.ERR_TARGET_PAST]}
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=TODAY() - 11 * DAY)
    assert excinfo.value.message_dict == {"due_on": [svc.ERR_TARGET_BEFORE_RECEIPT]}
    svc.complaint_set_target(actor=dpo, complaint=complaint, due_on=TODAY() + 20 * DAY)
    complaint.refresh_from_db()
    assert complaint.response_due_on == TODAY() + 20 * DAY


# --- the ICO -----------------------------------------------------------------------------


def test_escalation_records_the_ico_case_with_several_deadlines(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    ico = _escalate(
        dpo,
        complaint,
        deadlines=[("Our response", TODAY() + 7 * DAY), ("Call recording", TODAY() + 21 * DAY)],
    )
    svc.ico_deadline_add(actor=dpo, complaint=complaint, what="Policy documents", due_on=TODAY() + 28 * DAY)
    assert complaint.status == S.ESCALATED
    assert (ico.ico_reference, ico.contact_method, ico.caseworker) == ("IC-123456-A1B2", "email", "Case Officer")
    assert list(ico.deadlines.order_by("due_on").values_list("what", flat=True)) == [
        "Our response",
        "Call recording",
        "Policy documents",
    ]


def test_an_ico_deadline_in_the_past_is_refused_and_nothing_is_recorded(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    with pytest.raises(ValidationError) as excinfo:
        _escalate(dpo, complaint, deadlines=[("Our response", TODAY() - DAY)])
    assert excinfo.value.message_dict == {"due_on": [svc.ERR_ICO_DEADLINE_PAST]}
    complaint.refresh_from_db()
    assert complaint.status == S.ACKNOWLEDGED and not IcoCase.objects.exists()
    _escalate(dpo, complaint)
    with pytest.raises(ValidationError) as excinfo:
        svc.ico_deadline_add(actor=dpo, complaint=complaint, what="More", due_on=TODAY() - DAY)
    assert excinfo.value.message_dict == {"due_on": [svc.ERR_ICO_DEADLINE_PAST]}
    assert IcoDeadline.objects.count() == 1


def test_answering_an_ico_deadline_records_the_date_once(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    ico = _escalate(dpo, complaint)
    deadline = ico.deadlines.get()
    with pytest.raises(ValidationError):
        svc.ico_deadline_answer(actor=dpo, complaint=complaint, deadline_id=deadline.pk, on=TODAY() + DAY)
    svc.ico_deadline_answer(actor=dpo, complaint=complaint, deadline_id=deadline.pk, on=TODAY())
    with pytest.raises(ValidationError) as excinfo:
        svc.ico_deadline_answer(actor=dpo, complaint=complaint, deadline_id=deadline.pk, on=TODAY())
    assert messages_of(excinfo) == [svc.ERR_ICO_ANSWERED.format(day=f"{TODAY():%-d %B %Y}")]


def test_an_escalated_complaint_closes_only_with_the_icos_outcome(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    _escalate(dpo, complaint)
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_close(actor=dpo, complaint=complaint, outcome="Done")
    assert messages_of(excinfo) == [svc.ERR_ICO_OUTCOME_MISSING]
    with pytest.raises(ValidationError) as excinfo:
        svc.complaint_close(actor=handler, complaint=complaint, outcome="Done")
    assert messages_of(excinfo) == [svc.ERR_ICO_ONLY]
    svc.ico_outcome_record(actor=dpo, complaint=complaint, outcome="recommendations", on=TODAY(), notes="Train staff")
    svc.complaint_close(actor=dpo, complaint=complaint, outcome="Recommendations adopted.")
    assert complaint.status == S.CLOSED


def test_escalation_contact_date_cannot_be_in_the_future_or_before_receipt(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    with pytest.raises(ValidationError) as excinfo:
        _escalate(dpo, complaint, contacted_on=TODAY() + DAY)
    assert excinfo.value.message_dict == {"contacted_on": [svc.ERR_DATE_FUTURE]}
    with pytest.raises(ValidationError):
        _escalate(dpo, complaint, contacted_on=complaint.received_on - DAY)
    assert not IcoCase.objects.exists()


def test_closing_a_case_keeps_the_customer_grant_an_open_complaint_still_needs(dpo, handler):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    case = case_svc.case_assign(actor=dpo, case=CaseFactory(customer=complaint.customer), handler=handler)
    case_svc.case_start(actor=handler, case=case)
    case_svc.case_complete(actor=handler, case=case, outcome="Done.")
    handler = type(handler).objects.get(pk=handler.pk)
    assert handler.has_perm("customers.view_customer", complaint.customer)
    assert handler.has_perm("customers.view_transcript", complaint.customer)


def test_a_response_owed_when_the_ico_stepped_in_is_recorded_without_leaving_escalated(dpo, handler, complaint):
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY())
    _escalate(dpo, complaint)
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="Our answer, late.")
    assert (complaint.status, complaint.responded_on) == (S.ESCALATED, TODAY())
    with pytest.raises(ValidationError):  # only once
        svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY(), summary="Again")


def test_a_complaint_without_a_customer_cannot_be_linked_to_a_request_its_handler_may_not_open(
    dpo, handler, other_handler
):
    theirs = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=other_handler)
    # Linking two records without a customer needs a shared contact identifier, not only the name
    # (requests.services.complaints._same_person): both carry Jo's email.
    complaint = ComplaintFactory(customer=None, complainant_name="Jo Bloggs", complainant_email="jo.bloggs@example.com")
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_CASE_UNKNOWN.format(reference=theirs.reference))):
        svc.complaint_link_case(actor=handler, complaint=complaint, case=theirs)
    assert not complaint.cases.exists()
    mine = case_svc.case_assign(
        actor=dpo,
        case=CaseFactory(customer=None, requester_name="Jo Bloggs", requester_email="jo.bloggs@example.com"),
        handler=handler,
    )
    svc.complaint_link_case(actor=handler, complaint=complaint, case=mine)
    assert list(complaint.cases.all()) == [mine]
