"""The agent's desk: search, the customer page, editing and recording preferences."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Customer, PreferenceChange
from customers.selectors.customers import SEARCH_PAGE_SIZE, classify, customer_search
from privacy_portal import legal
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return CustomerFactory(
        first_name="Ann", last_name="Leeming", email="ann.leeming@example.co.uk", phone="+447911123456",
        postcode="SE5 9DF", address_line1="1 Carew Street",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("term", "kind"),
    [
        ("C-000042", "reference"),
        ("c42", "reference"),
        ("ann@example.co.uk", "email"),
        ("07911 123 456", "phone"),
        ("+44 7911 123456", "phone"),
        ("se5 9df", "postcode"),
        ("SE5", "outward"),
        ("Leeming", "name"),
        ("ann lee", "name"),
    ],
)
def test_search_terms_are_classified(term, kind):
    assert classify(term) == kind


@pytest.mark.parametrize(
    "term", ["ann.leeming@example.co.uk", "ANN.LEEMING@example.co.uk", "07911 123456", "+44 (0)7911-123456",
             "se59df", "SE5", "leem", "Ann Leeming", "ann leem"],
)  # fmt: skip
def test_each_kind_of_search_finds_the_customer(ann, term):
    CustomerFactory(
        first_name="Bob", last_name="Other", email="bob@example.co.uk", phone="+447911000001", postcode="M1 1AE"
    )
    result = customer_search(term)
    assert [c.pk for c in result.customers] == [ann.pk], term


def test_search_by_reference(ann):
    assert [c.pk for c in customer_search(ann.reference).customers] == [ann.pk]


def test_a_term_under_three_characters_is_refused_with_a_message():
    result = customer_search("an")
    assert result.kind == "too_short" and result.customers == [] and "at least 3" in result.message


def test_results_are_limited_and_paged_by_keyset(db):
    people = CustomerFactory.create_batch(SEARCH_PAGE_SIZE + 5, last_name="Smithson")
    first = customer_search("smithson")
    assert len(first.customers) == SEARCH_PAGE_SIZE and first.next_after is not None
    second = customer_search("smithson", after=first.next_after)
    seen = [c.pk for c in first.customers] + [c.pk for c in second.customers]
    assert sorted(seen) == sorted(p.pk for p in people)
    assert second.next_after is None


def test_search_page_works_and_logs_whom_it_returned_but_not_the_words(client_for, agent, ann):
    client = client_for(agent)
    response = client.get(reverse("customers:search"), {"q": "07911 123456"})
    assert response.status_code == 200
    assert b"Leeming" in response.content
    event = AccessEvent.objects.get(action="search")
    assert event.user == agent and event.result_ids == [ann.pk] and event.search_kind == "phone"
    assert "07911" not in str(event.__dict__)


def test_search_page_asserts_a_fixed_number_of_queries(client_for, agent, django_assert_max_num_queries):
    CustomerFactory.create_batch(30, last_name="Harrowby")
    client = client_for(agent)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("customers:search"), {"q": "harrowby"})
    assert response.content.count(b"Harrowby") >= SEARCH_PAGE_SIZE


def test_search_via_htmx_returns_only_the_results_fragment(client_for, agent, ann):
    client = client_for(agent)
    response = client.get(reverse("customers:search"), {"q": "leeming"}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b"Leeming" in response.content


def test_customer_page_shows_details_preferences_and_records_the_read(client_for, agent, ann):
    client = client_for(agent)
    response = client.get(reverse("customers:detail", args=[ann.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "ann.leeming@example.co.uk" in body and "07911 123456" in body
    assert "Direct marketing by post" in body
    assert AccessEvent.objects.filter(action="view_customer", customer_id=ann.pk, user=agent).count() == 1


@pytest.mark.parametrize("role", ["itadmin", "auditor", "nobody", "handler"])
def test_customer_page_access_by_role(client_for, cast, ann, role):
    client = client_for(cast[role])
    status = client.get(reverse("customers:detail", args=[ann.pk])).status_code
    assert status == {"itadmin": 404, "nobody": 403, "handler": 404, "auditor": 200}[role]


def test_an_unknown_customer_is_404(client_for, agent):
    client = client_for(agent)
    assert client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_agent_records_no_more_post_from_a_phone_call_and_sees_the_date(client_for, agent, ann):
    client = client_for(agent)
    response = client.post(
        reverse("customers:record_preference", args=[ann.pk]),
        {
            "preference": "direct_marketing:post",
            "action": "opt_out",
            "source": "phone_call",
            "received_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        },
        follow=True,
    )
    due = timezone.localdate() + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    assert f"takes effect by {due:%-d %B %Y}" in response.content.decode()
    change = PreferenceChange.objects.get(customer=ann)
    assert (change.channel, change.granted, change.source, change.recorded_by) == ("post", False, "phone_call", agent)


def test_a_bad_preference_form_names_the_field_and_stores_nothing(client_for, agent, ann):
    client = client_for(agent)
    response = client.post(
        reverse("customers:record_preference", args=[ann.pk]),
        {"preference": "direct_marketing:fax", "action": "opt_out", "source": "phone_call", "received_at": "x"},
    )
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b"Received" in response.content and b"Preference" in response.content
    assert not PreferenceChange.objects.exists()


def test_preference_form_rejects_wrong_method(client_for, agent, ann):
    client = client_for(agent)
    assert client.put(reverse("customers:record_preference", args=[ann.pk])).status_code == 405


@pytest.mark.parametrize("role", ["auditor", "itadmin", "handler"])
def test_only_agents_and_the_dpo_record_preferences(client_for, cast, ann, role):
    client = client_for(cast[role])
    response = client.post(reverse("customers:record_preference", args=[ann.pk]), {"preference": "x"})
    assert response.status_code == 403


def test_objection_page_withdraws_everything(client_for, agent, ann):
    client = client_for(agent)
    response = client.post(reverse("customers:object", args=[ann.pk]), {"source": "letter"})
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.marketing_objected


def test_edit_contact_details_with_a_reason(client_for, agent, ann):
    client = client_for(agent)
    url = reverse("customers:edit", args=[ann.pk])
    assert client.get(url).status_code == 200
    data = {
        "first_name": "Ann", "last_name": "Leeming", "email": "ann@new.example.co.uk", "phone": "07911 123456",
        "address_line1": "1 Carew Street", "postcode": "se5 9df", "version": ann.version, "reason": "New email",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.email == "ann@new.example.co.uk" and ann.postcode == "SE5 9DF"
    assert ann.history.first().history_change_reason == "New email"


def test_second_agent_saving_a_stale_form_sees_what_changed(client_for, agent, dpo, ann):
    url = reverse("customers:edit", args=[ann.pk])
    base = {
        "first_name": "Ann", "last_name": "Leeming", "email": "ann.leeming@example.co.uk", "phone": "07911 123456",
        "postcode": "SE5 9DF", "version": ann.version,
    }  # fmt: skip
    client = client_for(dpo)
    client.post(url, {**base, "email": "first@example.co.uk", "reason": "Letter"})
    client = client_for(agent)
    response = client.post(url, {**base, "town": "Leeds", "reason": "Call"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "While you were editing" in body and "first@example.co.uk" in body
    ann.refresh_from_db()
    assert ann.town != "Leeds" and ann.email == "first@example.co.uk"


def test_bad_contact_details_name_each_field_and_save_nothing(client_for, agent, ann):
    client = client_for(agent)
    response = client.post(
        reverse("customers:edit", args=[ann.pk]),
        {"first_name": "Ann", "last_name": "Leeming", "email": "nope", "phone": "123", "postcode": "ZZ",
         "version": ann.version, "reason": "typo"},
    )  # fmt: skip
    body = response.content.decode()
    assert "Email:" in body and "Phone:" in body and "Postcode:" in body
    ann.refresh_from_db()
    assert ann.email == "ann.leeming@example.co.uk" and ann.version == 1


def test_agent_creates_a_customer(client_for, agent):
    client = client_for(agent)
    response = client.post(
        reverse("customers:create"), {"first_name": "Zed", "last_name": "Quill", "phone": "07911 123457"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(last_name="Quill").phone == "+447911123457"


@pytest.mark.parametrize("route", ["customers:record_preference", "customers:object"])
def test_the_preference_and_objection_forms_name_the_customer_so_showing_them_records_the_read(
    client_for, agent, route
):
    customer = CustomerFactory()
    body = client_for(agent).get(reverse(route, args=[customer.pk])).content.decode()
    assert escape(customer.full_name) in body
    event = AccessEvent.objects.get(user=agent)
    assert (event.action, event.customer_id) == (AccessEvent.Action.VIEW_CUSTOMER, customer.pk)
