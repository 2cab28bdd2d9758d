"""A second ICO outcome is refused, and the DPO corrects a wrongly recorded one: with a reason,
kept in the history, under the complaint's row lock (raced in test_workflow_locks.py)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from requests.models import IcoCase
from requests.services import complaints as svc
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


@pytest.fixture
def escalated(dpo, handler):
    complaint = svc.complaint_assign(
        actor=dpo, complaint=ComplaintFactory(received_on=TODAY() - 5 * DAY), handler=handler
    )
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=complaint.received_on)
    svc.complaint_escalate(
        actor=dpo, complaint=complaint, ico_reference="IC-123456-A1B2", contacted_on=TODAY() - 3 * DAY,
        contact_method="email", requested="Our records of the opt-out", deadlines=[],
    )  # fmt: skip
    svc.ico_outcome_record(actor=dpo, complaint=complaint, outcome="nfa", on=TODAY() - DAY)
    return complaint


def test_a_second_outcome_is_refused_and_points_to_the_correction(dpo, escalated):
    with pytest.raises(ValidationError) as refused:
        svc.ico_outcome_record(actor=dpo, complaint=escalated, outcome="reprimand", on=TODAY())
    assert "correct it" in refused.value.messages[0]


def test_the_dpo_corrects_the_outcome_with_a_reason_kept_in_the_history(dpo, escalated):
    ico = svc.ico_outcome_correct(
        actor=dpo, complaint=escalated, outcome="reprimand", on=TODAY(), reason="Misread the ICO's letter"
    )
    ico = IcoCase.objects.get(pk=ico.pk)
    assert (ico.outcome, ico.outcome_on) == ("reprimand", TODAY())
    latest = ico.history.order_by("-history_id").first()
    assert latest.history_user == dpo
    assert "No further action" in latest.history_change_reason and "Reprimand" in latest.history_change_reason
    assert "Misread the ICO's letter" in latest.history_change_reason
    assert ico.history.filter(outcome="nfa").exists()  # the wrong value is still on record


def test_a_correction_needs_a_reason_and_a_change(dpo, escalated):
    with pytest.raises(ValidationError) as no_reason:
        svc.ico_outcome_correct(actor=dpo, complaint=escalated, outcome="reprimand", on=TODAY(), reason="  ")
    assert no_reason.value.message_dict == {"reason": [svc.ERR_ICO_CORRECTION_REASON]}
    with pytest.raises(ValidationError) as same:
        svc.ico_outcome_correct(actor=dpo, complaint=escalated, outcome="nfa", on=TODAY() - DAY, reason="Checked")
    assert same.value.messages == [svc.ERR_ICO_CORRECTION_SAME]


def test_only_the_dpo_corrects_and_only_a_recorded_outcome(dpo, handler, escalated):
    with pytest.raises(ValidationError) as handler_refused:
        svc.ico_outcome_correct(actor=handler, complaint=escalated, outcome="reprimand", on=TODAY(), reason="x")
    assert handler_refused.value.messages == [svc.ERR_ICO_ONLY]
    fresh = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    svc.complaint_acknowledge(actor=handler, complaint=fresh, on=fresh.received_on)
    svc.complaint_escalate(
        actor=dpo, complaint=fresh, ico_reference="IC-654321-B2C3", contacted_on=TODAY(), contact_method="email",
        requested="Records", deadlines=[],
    )  # fmt: skip
    with pytest.raises(ValidationError) as none_yet:
        svc.ico_outcome_correct(actor=dpo, complaint=fresh, outcome="reprimand", on=TODAY(), reason="x")
    assert none_yet.value.messages == [svc.ERR_ICO_OUTCOME_NONE]


def test_the_complaint_page_offers_the_dpo_the_correction(client_for, dpo, escalated):
    client = client_for(dpo)
    page = client.get(escalated.get_absolute_url())
    assert b"Correct the ICO&#x27;s outcome" in page.content or b"Correct the ICO's outcome" in page.content
    response = client.post(
        reverse("requests:complaint_action", args=[escalated.pk, "ico_outcome_correct"]),
        {"outcome": "recommendations", "on": TODAY().strftime("%d/%m/%Y"), "reason": "Wrong box ticked"},
        follow=True,
    )
    assert "ICO outcome corrected." in [str(m) for m in response.context["messages"]]
    assert IcoCase.objects.get(complaint=escalated).outcome == "recommendations"
