"""UK GDPR Art 12(4): a refusal must reach the requester, with its reasons, before the end of the
time limit. The date they were told is recorded; a refusal approved (or told) late is flagged on
the case, in the queue and on the DPO's dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from requests.models import Case
from requests.selectors.cases import case_queue, dashboard_figures
from requests.services import cases as svc
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
S = Case.Status


def today():
    return timezone.localdate()


def refusal_pending(dpo, handler, *, received_ago: int, **kwargs) -> Case:
    case = CaseFactory(received_on=today() - datetime.timedelta(days=received_ago), **kwargs)
    case = svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    return svc.case_request_signoff(
        actor=handler, case=case, kind="refusal", reason="Fourth identical request", refusal_ground="excessive"
    )


def test_a_refusal_within_the_month_records_the_date_told_and_is_not_flagged(dpo, handler):
    case = refusal_pending(dpo, handler, received_ago=10)
    told = today() - datetime.timedelta(days=1)
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=told)
    case.refresh_from_db()
    assert case.status == S.REFUSED and case.refusal_told_on == told and not case.refused_late
    latest = case.history.first()
    assert latest.refusal_told_on == told and latest.history_change_reason == "Refusal approved by the DPO"


def test_a_refusal_approved_after_the_due_date_is_flagged_with_its_history(dpo, handler):
    case = refusal_pending(dpo, handler, received_ago=45)
    due = case.due_on
    assert due < today()
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today())
    case.refresh_from_db()
    assert case.refused_late and case.refusal_told_on == today()
    latest = case.history.first()
    assert latest.refused_late
    assert latest.history_change_reason == (
        f"Refusal approved by the DPO after the time limit (due {due:%-d %B %Y}; Art 12(4))"
    )


@pytest.mark.parametrize(
    ("received_ago", "told_ago", "late"),
    [
        (10, 0, False),  # approved and told within the month
        (45, 40, True),  # told in time by the handler, but approved after the due date
        (45, 0, True),  # approved and told late
    ],
)
def test_lateness_is_judged_by_the_later_of_approval_and_telling(dpo, handler, received_ago, told_ago, late):
    case = refusal_pending(dpo, handler, received_ago=received_ago)
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today() - datetime.timedelta(days=told_ago))
    assert Case.objects.get(pk=case.pk).refused_late is late


def test_a_refusal_with_no_clock_running_is_never_late(dpo, handler):
    # Identity asked for promptly and never received: no time limit ran.
    case = CaseFactory(received_on=today() - datetime.timedelta(days=60))
    case = svc.case_assign(actor=dpo, case=case, handler=handler)
    case.received_on = today() - datetime.timedelta(days=60)
    svc.case_request_identity(actor=handler, case=case, on=case.received_on + datetime.timedelta(days=1))
    assert case.due_on is None
    svc.case_request_signoff(actor=handler, case=case, kind="refusal", reason="No identity", refusal_ground="identity")
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today())
    assert not Case.objects.get(pk=case.pk).refused_late


@pytest.mark.parametrize(
    "told",
    [
        None,
        "future",
        "before_received",
    ],
)
def test_approving_a_refusal_needs_the_date_the_requester_was_told(dpo, handler, told):
    case = refusal_pending(dpo, handler, received_ago=10)
    notified_on = {
        None: None,
        "future": today() + datetime.timedelta(days=1),
        "before_received": case.received_on - datetime.timedelta(days=1),
    }[told]
    with pytest.raises(ValidationError) as exc:
        svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=notified_on)
    assert exc.value.message_dict == {"notified_on": [svc.ERR_REFUSAL_TOLD_DATE]}
    case.refresh_from_db()
    assert case.status == S.AWAITING_SIGNOFF and case.refusal_told_on is None


def test_the_case_page_and_the_queue_flag_a_late_refusal(client_for, dpo, handler):
    case = refusal_pending(dpo, handler, received_ago=45)
    on_time = refusal_pending(dpo, handler, received_ago=5)
    client = client_for(dpo)
    response = client.post(
        reverse("requests:case_action", args=[case.pk, "signoff"]),
        {"approve": "yes", "notified_on": today().strftime("%d/%m/%Y")},
    )
    assert response.status_code == 302
    svc.case_signoff(actor=dpo, case=on_time, approve=True, notified_on=today())
    case.refresh_from_db()
    assert case.refused_late and case.refusal_told_on == today()
    page = client.get(reverse("requests:case", args=[case.pk])).content.decode()
    assert "Refused after the time limit" in page and f"{today():%-d %b %Y}" in page
    late = case_queue(dpo, status="refused", window="refused_late")
    assert [c.pk for c in late.cases] == [case.pk]
    listing = client.get(reverse("requests:queue"), {"status": "refused", "window": "refused_late"}).content.decode()
    assert case.reference in listing and on_time.reference not in listing and "Refused late" in listing


def test_the_signoff_without_a_date_on_the_page_names_the_field(client_for, dpo, handler):
    case = refusal_pending(dpo, handler, received_ago=5)
    response = client_for(dpo).post(
        reverse("requests:case_action", args=[case.pk, "signoff"]), {"approve": "yes"}, follow=True
    )
    assert "Date the requester was told" in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.AWAITING_SIGNOFF


def test_the_dpo_dashboard_counts_late_refusals(client_for, dpo, handler):
    late = refusal_pending(dpo, handler, received_ago=45)
    svc.case_signoff(actor=dpo, case=late, approve=True, notified_on=today())
    on_time = refusal_pending(dpo, handler, received_ago=5)
    svc.case_signoff(actor=dpo, case=on_time, approve=True, notified_on=today())
    assert dashboard_figures().refused_late == 1
    body = client_for(dpo).get(reverse("home")).content.decode()
    assert "Refused after the time limit" in body
    assert reverse("requests:queue") + "?status=refused&amp;window=refused_late" in body
