"""A handler sees its cases' customers and their case file; nothing else; and loses it on reassignment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests.services import cases as svc
from tests.factories import CallFactory, CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PAGES = ["customers:detail", "customers:calls", "customers:correspondence", "customers:purchases"]


@pytest.fixture
def case(dpo, handler):
    return svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)


@pytest.mark.parametrize("page", PAGES)
def test_the_handler_reads_its_case_customer(client_for, handler, case, page):
    client = client_for(handler)
    assert client.get(reverse(page, args=[case.customer_id])).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_another_handler_gets_404(client_for, other_handler, case, page):
    client = client_for(other_handler)
    assert client.get(reverse(page, args=[case.customer_id])).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_the_handler_cannot_see_customers_outside_its_cases(client_for, handler, case, page):
    stranger = CustomerFactory()
    client = client_for(handler)
    assert client.get(reverse(page, args=[stranger.pk])).status_code == 404


def test_the_handler_reads_transcripts_of_its_case_customer_only(client_for, handler, case):
    mine = CallFactory(customer=case.customer, transcript="Caller asked about a medal.")
    other = CallFactory(customer=CustomerFactory(), transcript="Other caller.")
    client = client_for(handler)
    assert client.get(reverse("customers:call_transcript", args=[mine.pk])).status_code == 200
    assert client.get(reverse("customers:call_transcript", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("page", ["customers:calls", "customers:purchases"])
def test_agents_know_the_customer_but_not_the_case_file(client_for, agent, page):
    customer = CustomerFactory()
    client = client_for(agent)
    assert client.get(reverse(page, args=[customer.pk])).status_code == 403


def test_reassignment_takes_the_customer_away(client_for, dpo, handler, other_handler, case):
    svc.case_assign(actor=dpo, case=case, handler=other_handler)
    client = client_for(handler)
    assert client.get(reverse("customers:detail", args=[case.customer_id])).status_code == 404
    client = client_for(other_handler)
    assert client.get(reverse("customers:detail", args=[case.customer_id])).status_code == 200
