"""Legal holds: the retention run skips what an open request, complaint, ICO case or breach, or
the DPO's own hold, keeps; it says so; releasing the hold lets the next run purge."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Call, Correspondence, LegalHold
from customers.services import legal_holds as svc
from privacy_portal.retention import retention_apply
from requests.models import Breach, BreachAffected, Complaint
from tests.factories import CallFactory, CaseFactory, ComplaintFactory, CorrespondenceFactory, CustomerFactory

pytestmark = pytest.mark.django_db

SEVEN_MONTHS = relativedelta(months=7)


def _old_call(customer):
    return CallFactory(customer=customer, started_at=timezone.now() - SEVEN_MONTHS)


def test_a_call_held_by_an_open_complaint_survives_the_purge_and_goes_the_night_after_it_closes():
    customer = CustomerFactory()
    call = _old_call(customer)
    letter = CorrespondenceFactory(customer=customer, occurred_at=timezone.now() - SEVEN_MONTHS)
    complaint = ComplaintFactory(customer=customer)

    report = retention_apply()
    assert Call.objects.filter(pk=call.pk).exists()
    assert Correspondence.objects.filter(pk=letter.pk).exists()
    assert report["calls"] == {"calls": 0, "transcripts": 0, "history": 0, "held": 1, "deletion_tasks": 0}
    assert report["correspondence"]["held"] == 1

    complaint.status, complaint.closed_on = Complaint.Status.CLOSED, timezone.localdate()
    complaint.save()
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    report = retention_apply(now=tomorrow)
    assert not Call.objects.filter(pk=call.pk).exists()
    assert not Call.history.filter(id=call.pk).exists()
    assert report["calls"]["calls"] == 1 and report["calls"]["held"] == 0


@pytest.mark.parametrize("matter", ["case", "breach"])
def test_an_open_rights_request_or_breach_holds_the_persons_calls(matter, dpo):
    customer = CustomerFactory()
    call = _old_call(customer)
    unrelated = _old_call(CustomerFactory())
    if matter == "case":
        CaseFactory(customer=customer)
    else:
        breach = Breach.objects.create(
            reference="B-2026-00001", summary="Lost laptop", what_happened="Left on a train",
            reported_by=dpo, aware_at=timezone.now(), due_at=timezone.now(),
        )  # fmt: skip
        BreachAffected.objects.create(breach=breach, customer=customer, linked_by=dpo)
    retention_apply()
    assert Call.objects.filter(pk=call.pk).exists()
    assert not Call.objects.filter(pk=unrelated.pk).exists()
    assert svc.customer_holds(customer).automatic


def test_the_dpos_hold_keeps_the_records_until_released_then_the_next_run_purges(dpo):
    customer = CustomerFactory()
    call = _old_call(customer)
    hold = svc.legal_hold_place(
        actor=dpo, customer=customer, reason="Claim notified", ends_on=timezone.localdate() + relativedelta(months=3)
    )
    assert retention_apply()["calls"]["held"] == 1
    assert Call.objects.filter(pk=call.pk).exists()
    svc.legal_hold_release(actor=dpo, hold=hold)
    retention_apply()
    assert not Call.objects.filter(pk=call.pk).exists()
    hold.refresh_from_db()
    assert [h.history_change_reason for h in hold.history.order_by("history_id")] == [
        "Legal hold placed",
        "Legal hold released",
    ]
    assert hold.history.first().history_user == dpo


def test_a_hold_past_its_end_date_no_longer_holds(dpo):
    customer = CustomerFactory()
    call = _old_call(customer)
    svc.legal_hold_place(
        actor=dpo, customer=customer, reason="Claim", ends_on=timezone.localdate() + relativedelta(days=2)
    )
    retention_apply(now=timezone.now() + relativedelta(days=3))
    assert not Call.objects.filter(pk=call.pk).exists()


def test_a_hold_needs_a_reason_and_a_future_end_date(dpo):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as exc:
        svc.legal_hold_place(actor=dpo, customer=customer, reason="  ", ends_on=timezone.localdate())
    assert exc.value.message_dict == {"reason": [svc.ERR_REASON], "ends_on": [svc.ERR_ENDS_ON]}
    assert not LegalHold.objects.exists()


def test_only_the_dpo_places_a_hold(agent):
    with pytest.raises(ValidationError, match="Only the DPO"):
        svc.legal_hold_place(
            actor=agent, customer=CustomerFactory(), reason="x", ends_on=timezone.localdate() + relativedelta(days=9)
        )


def test_a_hold_is_released_once(dpo):
    hold = svc.legal_hold_place(
        actor=dpo, customer=CustomerFactory(), reason="Claim", ends_on=timezone.localdate() + relativedelta(days=9)
    )
    svc.legal_hold_release(actor=dpo, hold=hold)
    with pytest.raises(ValidationError, match="already been released"):
        svc.legal_hold_release(actor=dpo, hold=hold)


# --- Pages -----------------------------------------------------------------------------------------


def test_the_dpo_places_a_hold_from_the_customer_page_which_then_shows_it(client_for, dpo):
    customer = CustomerFactory()
    client = client_for(dpo)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Place a legal hold" in page and "Legal hold: these records are not purged" not in page
    url = reverse("customers:legal_hold_place", args=[customer.pk])
    assert client.get(url).status_code == 200
    ends = timezone.localdate() + relativedelta(months=2)
    response = client.post(url, {"reason": "Solicitors' letter ref 77", "ends_on": ends.strftime("%d/%m/%Y")})
    assert response.status_code == 302
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Legal hold: these records are not purged" in page
    assert "Solicitors&#x27; letter ref 77" in page
    hold = LegalHold.objects.get()
    assert client.post(reverse("customers:legal_hold_release", args=[hold.pk])).status_code == 302
    hold.refresh_from_db()
    assert hold.released_by == dpo
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Legal hold: these records are not purged" not in page


def test_the_customer_page_shows_an_automatic_hold(client_for, agent):
    customer = CustomerFactory()
    complaint = ComplaintFactory(customer=customer)
    page = client_for(agent).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f"Open complaint {complaint.reference}" in page
    assert "Place a legal hold" not in page


def test_a_bad_hold_form_names_the_field_and_stores_nothing(client_for, dpo):
    customer = CustomerFactory()
    response = client_for(dpo).post(
        reverse("customers:legal_hold_place", args=[customer.pk]), {"reason": "", "ends_on": "01/01/2001"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"reason", "ends_on"}
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_may_place_or_release_a_hold(client_for, cast, role, dpo):
    customer = CustomerFactory()
    hold = svc.legal_hold_place(
        actor=dpo, customer=customer, reason="Claim", ends_on=timezone.localdate() + relativedelta(days=9)
    )
    client = client_for(cast[role])
    assert client.get(reverse("customers:legal_hold_place", args=[customer.pk])).status_code == 403
    assert client.post(reverse("customers:legal_hold_release", args=[hold.pk])).status_code == 403
    hold.refresh_from_db()
    assert hold.released_at is None


def test_release_refuses_get(client_for, dpo):
    hold = svc.legal_hold_place(
        actor=dpo, customer=CustomerFactory(), reason="Claim", ends_on=timezone.localdate() + relativedelta(days=9)
    )
    assert client_for(dpo).get(reverse("customers:legal_hold_release", args=[hold.pk])).status_code == 405
    assert client_for(dpo).put(reverse("customers:legal_hold_place", args=[hold.customer_id])).status_code == 405


def test_a_complaint_opened_after_the_run_read_its_holds_still_stops_the_purge(monkeypatch):
    """The run reads the holds once when it starts; a complaint opened while it runs (here: just
    after that read) must still keep the person's calls, letters and disclosures (s173)."""
    from tests.factories import DisclosureFactory

    customer = CustomerFactory()
    call = _old_call(customer)
    letter = CorrespondenceFactory(customer=customer, occurred_at=timezone.now() - SEVEN_MONTHS)
    disclosure = DisclosureFactory(customer=customer, disclosed_at=timezone.now() - relativedelta(years=7))
    other = _old_call(CustomerFactory())
    read_holds = svc.held_customer_ids

    def then_a_complaint_arrives(*args, **kwargs):
        held = read_holds(*args, **kwargs)
        ComplaintFactory(customer=customer)
        return held

    monkeypatch.setattr(svc, "held_customer_ids", then_a_complaint_arrives)
    report = retention_apply()
    assert Call.objects.filter(pk=call.pk).exists()
    assert Correspondence.objects.filter(pk=letter.pk).exists()
    assert type(disclosure).objects.filter(pk=disclosure.pk).exists()
    assert not Call.objects.filter(pk=other.pk).exists()
    assert report["calls"]["held"] == 1 and report["calls"]["calls"] == 1
    assert report["correspondence"]["held"] == 1


def test_the_purge_run_by_hand_keeps_what_a_hold_keeps(dpo):
    """manage.py purge_expired_calls (and its task) is bound by the holds as the nightly run is."""
    from django.core.management import call_command

    customer = CustomerFactory()
    call = _old_call(customer)
    letter = CorrespondenceFactory(customer=customer, occurred_at=timezone.now() - SEVEN_MONTHS)
    ComplaintFactory(customer=customer)
    held_by_dpo = CustomerFactory()
    call2 = _old_call(held_by_dpo)
    svc.legal_hold_place(
        actor=dpo, customer=held_by_dpo, reason="Claim", ends_on=timezone.localdate() + relativedelta(days=9)
    )
    call_command("purge_expired_calls")
    assert Call.objects.filter(pk__in=[call.pk, call2.pk]).count() == 2
    assert Correspondence.objects.filter(pk=letter.pk).exists()


def test_a_hold_released_then_placed_again_between_runs_still_holds(dpo):
    customer = CustomerFactory()
    call = _old_call(customer)
    ends = timezone.localdate() + relativedelta(months=1)
    first = svc.legal_hold_place(actor=dpo, customer=customer, reason="Claim", ends_on=ends)
    assert retention_apply()["calls"]["held"] == 1
    svc.legal_hold_release(actor=dpo, hold=first)
    second = svc.legal_hold_place(actor=dpo, customer=customer, reason="Claim again", ends_on=ends)
    assert retention_apply()["calls"]["held"] == 1
    assert Call.objects.filter(pk=call.pk).exists()
    svc.legal_hold_release(actor=dpo, hold=second)
    retention_apply()
    assert not Call.objects.filter(pk=call.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_hold_released_twice_at_once_is_released_once_and_the_second_is_told():
    """Hostile review: two DPOs (or one double click) release the same hold at the same moment."""
    import threading

    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    from privacy_portal.models import User
    from privacy_portal.roles import sync_role_groups
    from tests.factories import UserFactory

    sync_role_groups(Group, Permission)  # a transactional test starts from a flushed database
    first, second = UserFactory(role=User.Role.DPO), UserFactory(role=User.Role.DPO)
    hold = svc.legal_hold_place(actor=first, customer=CustomerFactory(), reason="Claim",
                                        ends_on=timezone.localdate() + datetime.timedelta(days=30))  # fmt: skip
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list = []

    def release(actor_pk):
        try:
            barrier.wait()
            svc.legal_hold_release(actor=User.objects.get(pk=actor_pk), hold=LegalHold.objects.get(pk=hold.pk))
            outcomes.append("released")
        except ValidationError as exc:
            outcomes.append(exc.messages)
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=release, args=(u.pk,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, outcomes)) == sorted(["released", str([svc.ERR_ALREADY_RELEASED])])
    assert LegalHold.history.filter(id=hold.pk, history_change_reason="Legal hold released").count() == 1


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_releases_a_hold_by_the_page_or_the_service(client_for, cast, role, dpo):
    hold = svc.legal_hold_place(actor=dpo, customer=CustomerFactory(), reason="Claim",
                                        ends_on=timezone.localdate() + datetime.timedelta(days=30))  # fmt: skip
    response = client_for(cast[role]).post(reverse("customers:legal_hold_release", args=[hold.pk]) + "?from=list")
    assert response.status_code == 403
    with pytest.raises(ValidationError) as raised:
        svc.legal_hold_release(actor=cast[role], hold=hold)
    assert raised.value.messages == [svc.ERR_PERMISSION]
    hold.refresh_from_db()
    assert hold.released_at is None
