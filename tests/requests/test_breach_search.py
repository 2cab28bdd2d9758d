"""A breach's affected customers chosen from search: the desk's customer search on the breach,
each row with "Link to this breach" (the existing link service), for the DPO only; the search
recorded like the desk's; erased customers not offered, already linked ones said so."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy_portal.models import AccessEvent
from requests.models import BreachAffected
from requests.services import breaches as svc
from requests.services.cases import case_assign
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def report(actor):
    return svc.breach_report(
        actor=actor, summary="Parcel delivered to the wrong address", what_happened="Left next door.",
        aware_at=timezone.now() - datetime.timedelta(hours=2),
    )  # fmt: skip


def search_url(breach) -> str:
    return reverse("requests:breach_affected_search", args=[breach.pk])


def link_url(breach) -> str:
    return reverse("requests:breach_action", args=[breach.pk, "link_customers"])


def test_the_breach_page_offers_the_search_to_the_dpo(client_for, dpo, agent):
    breach = report(agent)
    page = client_for(dpo).get(breach.get_absolute_url()).content.decode()
    assert search_url(breach) in page and "Find a customer to link" in page


def test_the_search_lists_matches_with_reference_name_and_postcode_and_is_logged(client_for, dpo, agent):
    breach = report(agent)
    ann = CustomerFactory(first_name="Ann", last_name="Vantongeren", postcode="SE5 9DF")
    bob = CustomerFactory(first_name="Bob", last_name="Vantongeren", postcode="M1 1AE")
    other = CustomerFactory(first_name="Cat", last_name="Ollerenshaw")
    response = client_for(dpo).get(search_url(breach), {"q": "vantongeren"})
    text = response.content.decode()
    assert response.status_code == 200
    for c in (ann, bob):
        assert c.reference in text and c.full_name in text and c.postcode in text
        assert f'value="{c.reference}"' in text
    assert other.reference not in text
    assert text.count("Link to this breach") == 2
    event = AccessEvent.objects.get(user=dpo, action=AccessEvent.Action.SEARCH)
    assert sorted(event.result_ids) == sorted([ann.pk, bob.pk])
    assert event.search_kind == "name" and event.object_id == breach.pk
    assert "vantongeren" not in str(event.__dict__).lower()  # never the words typed


def test_link_links_that_one_customer_with_history(client_for, dpo, agent):
    breach = report(agent)
    ann, bob = CustomerFactory.create_batch(2, last_name="Vantongeren")
    response = client_for(dpo).post(link_url(breach), {"references": ann.reference}, follow=True)
    assert "Linked 1 customer." in response.content.decode()
    row = BreachAffected.objects.get(breach=breach)
    assert row.customer == ann and row.linked_by == dpo
    assert row.history.get().history_change_reason == "Linked from search"
    assert row.history.get().history_user == dpo
    # Searched again: Ann is already linked, Bob is still offered.
    text = client_for(dpo).get(search_url(breach), {"q": "vantongeren"}).content.decode()
    assert text.count("Already linked") == 1 and text.count("Link to this breach") == 1
    assert f'value="{bob.reference}"' in text and f'value="{ann.reference}"' not in text


def test_an_already_linked_customer_posted_again_is_refused_by_name(client_for, dpo, agent):
    breach = report(agent)
    ann = CustomerFactory()
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[ann])
    response = client_for(dpo).post(link_url(breach), {"references": ann.reference}, follow=True)
    assert svc.ERR_ALREADY_LINKED.format(reference=ann.reference) in response.content.decode()
    assert BreachAffected.objects.filter(breach=breach).count() == 1


def test_an_erased_customer_is_not_offered_and_is_refused_if_posted(client_for, dpo, agent):
    breach = report(agent)
    erased = CustomerFactory(postcode="EH1 1YZ")
    erased.erased_at = timezone.now()
    erased.save()
    client = client_for(dpo)
    text = client.get(search_url(breach), {"q": erased.reference}).content.decode()
    assert erased.reference in text and "Erased: cannot be linked" in text
    assert "Link to this breach" not in text
    response = client.post(link_url(breach), {"references": erased.reference}, follow=True)
    assert svc.ERR_ERASED_CUSTOMER.format(reference=erased.reference) in response.content.decode()
    assert not BreachAffected.objects.filter(breach=breach).exists()


@pytest.mark.parametrize("role", ["agent", "auditor", "itadmin", "handler"])
def test_who_may_not_link_may_neither_search_nor_link(client_for, cast, dpo, agent, role):
    breach = report(agent)
    case = CaseFactory()
    case_assign(actor=dpo, case=case, handler=cast["handler"])
    svc.breach_link_records(actor=dpo, breach=breach, case_references=[case.reference])  # the handler sees it
    target = CustomerFactory(last_name="Vantongeren")
    client = client_for(cast[role])
    assert client.get(search_url(breach), {"q": "vantongeren"}).status_code in (403, 404)
    assert client.post(link_url(breach), {"references": target.reference}).status_code in (403, 404)
    assert not BreachAffected.objects.filter(breach=breach).exists()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.SEARCH).exists()
    if role == "handler":  # it reads the breach page, but is not offered the search
        assert search_url(breach) not in client.get(breach.get_absolute_url()).content.decode()


def test_the_search_refuses_post_and_an_unknown_breach(client_for, dpo):
    client = client_for(dpo)
    assert client.post(reverse("requests:breach_affected_search", args=[1])).status_code in (404, 405)
    assert client.get(reverse("requests:breach_affected_search", args=[999999]), {"q": "smith"}).status_code == 404


def test_a_closed_breach_offers_no_link_and_refuses_one(client_for, dpo, agent):
    from tests.fixtures.breaches import assess

    breach = assess(dpo, report(agent), report_to_ico=False, likelihood="remote", severity="remote",
                    ico_decision_reason="Returned unopened", tell_people="not_high",
                    tell_people_reason="Returned unopened")  # fmt: skip
    svc.breach_close(actor=dpo, breach=breach, lessons_learned="Check labels")
    ann = CustomerFactory(last_name="Vantongeren")
    client = client_for(dpo)
    text = client.get(search_url(breach), {"q": "vantongeren"}).content.decode()
    assert ann.reference in text and "Link to this breach" not in text
    response = client.post(link_url(breach), {"references": ann.reference}, follow=True)
    assert svc.ERR_CLOSED in response.content.decode()
    assert not BreachAffected.objects.filter(breach=breach).exists()
