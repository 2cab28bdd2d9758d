"""The workflow core's tables agree with each other: every step a page offers is a move the
state table allows, from the statuses it names, and a closed case or complaint offers none."""

from __future__ import annotations

import pytest

from customers.models import Customer
from requests.models import Case, Complaint
from requests.services import workflow

TABLES = [
    (Case, workflow.CASE_STEPS, workflow.CASE_TRANSITIONS),
    (Complaint, workflow.COMPLAINT_STEPS, workflow.COMPLAINT_TRANSITIONS),
    (Case, workflow.REQUESTER_STEPS, workflow.CASE_TRANSITIONS),
]
IDS = ["case", "complaint", "requester"]


@pytest.mark.parametrize(("model", "steps", "table"), TABLES, ids=IDS)
def test_every_step_that_moves_is_an_edge_of_the_state_table(model, steps, table):
    for name, (sources, target) in steps.items():
        if sources is not None and target is not None:
            assert all(target in table[source] for source in sources), name


@pytest.mark.parametrize(("model", "steps", "table"), TABLES, ids=IDS)
def test_a_closed_object_offers_no_step_and_an_open_one_some(model, steps, table):
    for status, targets in table.items():
        offered = workflow.steps_offered(model(status=status), steps)
        assert bool(offered) == bool(targets), status
        assert offered <= set(steps)


def test_withdrawal_is_offered_wherever_the_table_allows_it_and_not_awaiting_sign_off():
    S = Case.Status
    offered = {s for s in S.values if "withdraw" in workflow.steps_offered(Case(status=s))}
    assert offered == {S.RECEIVED, S.AWAITING_IDENTITY, S.IN_PROGRESS, S.AWAITING_CLARIFICATION}


def test_a_complaint_is_escalated_from_any_acknowledged_open_status():
    S = Complaint.Status
    offered = {s for s in S.values if "escalate" in workflow.steps_offered(Complaint(status=s))}
    assert offered == {S.ACKNOWLEDGED, S.INVESTIGATING, S.RESPONDED, S.REVIEW_REQUESTED, S.REVIEW_CONCLUDED}


R = Case.Right


@pytest.mark.parametrize(
    ("right", "customer", "step"),
    [
        (R.RECTIFICATION, {}, "rectify"),
        (R.RECTIFICATION, {"erased_at": "2026-01-01T00:00Z"}, None),
        (R.RECTIFICATION, None, None),
        (R.RESTRICTION, {}, "restrict"),
        (R.RESTRICTION, {"processing_restricted": True}, "lift_restriction"),
        (R.RESTRICTION, None, None),
        (R.OBJECTION, {}, "object"),
        (R.OBJECTION, {"marketing_objected": True}, "objection_recorded"),
        (R.OBJECTION, None, None),
        (R.INFORMED, None, "inform"),
        (R.ERASURE, {}, "erased_at_signoff"),
        (R.ACCESS, {}, None),
        (R.PORTABILITY, {}, None),
    ],
)
def test_the_fulfilment_step_follows_the_right_and_the_customer(right, customer, step):
    case = Case(right=right, customer=None if customer is None else Customer(pk=1, **customer))
    assert workflow.fulfilment_step(case) == step
    assert step is None or step in (*workflow.FULFILMENT_ACTIONS, *workflow.FULFILMENT_NOTES)


def test_the_requester_replies_while_open_answers_our_question_and_sends_identity_when_asked():
    S = Case.Status
    offers = {s: {n for n, on in workflow.requester_actions(Case(status=s)).items() if on} for s in S.values}
    assert offers == {
        S.RECEIVED: {"reply"},
        S.AWAITING_IDENTITY: {"reply", "upload_identity"},
        S.IN_PROGRESS: {"reply"},
        S.AWAITING_CLARIFICATION: {"reply", "answer"},
        S.AWAITING_SIGNOFF: {"reply"},
        S.COMPLETED: set(),
        S.REFUSED: set(),
        S.WITHDRAWN: set(),
    }
