"""Pages for recipients and disclosures: each works, refuses the wrong method, and shows each role
only what it needs to know (DPO all; auditors read; a handler its cases' customers; agents none)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from customers.models import Disclosure, Recipient
from customers.selectors.disclosures import forget_monthly_counts
from customers.services import disclosures as svc
from customers.services import recipients as recipient_rules
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db

Action = AccessEvent.Action


@pytest.fixture
def customer():
    return CustomerFactory(first_name="Margaret", last_name="Thornbury")


@pytest.fixture
def disclosure(customer):
    return DisclosureFactory(customer=customer, recipient=RecipientFactory(name="Parcel Partner Ltd"))


def recipient_form(**overrides) -> dict:
    data = {
        "name": "Swift Couriers Ltd",
        "code": "swift",
        "category": "logistics",
        "role": "processor",
        "country": "gb",
        "transfer_mechanism": "",
        "agreement_reference": "DPA-2026-1",
        "agreement_renews_on": "31/12/2027",
        "contact": "privacy@swift.example.co.uk",
        "active": "on",
    }
    data.update(overrides)
    return data


# --- Recipient register ----------------------------------------------------------------------------


def test_the_register_lists_the_seeded_recipients_one_per_category_of_the_notice(client_for, dpo):
    assert set(Recipient.objects.values_list("category", flat=True)) == set(Recipient.Category.values)
    response = client_for(dpo).get(reverse("customers:recipients"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Verbatim AI Inc." in body and "EU standard contractual clauses with the UK Addendum" in body


def test_the_seeded_us_transcription_provider_is_safeguarded_by_sccs_with_a_risk_assessment():
    provider = Recipient.objects.get(category="call_transcription")
    assert (provider.country, provider.country_adequate, provider.transfer_mechanism) == (
        "US",
        False,
        "eu_sccs_uk_addendum",
    )
    assert provider.tra_date and provider.tra_reference and provider.role == "processor"
    assert provider.transfer_safeguarded
    assert provider.history.get().history_change_reason == "Seeded from the privacy notice"


@pytest.mark.parametrize(
    ("role", "status"),
    [("dpo", 200), ("auditor", 200), ("agent", 403), ("handler", 403), ("itadmin", 403), ("nobody", 403)],
)
def test_the_recipient_pages_are_for_the_dpo_and_auditors(client_for, cast, disclosure, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("customers:recipients")).status_code == status
    assert client.get(reverse("customers:recipient", args=[disclosure.recipient_id])).status_code == status


def test_the_recipient_page_shows_its_disclosures_paged_and_records_the_read(client_for, dpo, customer):
    recipient = RecipientFactory()
    for n in range(55):
        DisclosureFactory(recipient=recipient, disclosed_at=timezone.now() - datetime.timedelta(hours=n + 1))
    DisclosureFactory(recipient=recipient, customer=customer, disclosed_at=timezone.now() - datetime.timedelta(days=30))
    client = client_for(dpo)
    first = client.get(reverse("customers:recipient", args=[recipient.pk]))
    assert first.context["page"].next_after is not None and len(first.context["page"].rows) == 50
    event = AccessEvent.objects.get(action=Action.VIEW_DISCLOSURES)
    assert (event.object_type, event.object_id, len(event.result_ids)) == ("customers.Recipient", recipient.pk, 50)
    assert "<td>Created</td>" in first.content.decode()  # its history: the type in history_labels' words
    second = client.get(
        reverse("customers:recipient", args=[recipient.pk]), {"after": first.context["page"].next_after}
    )
    assert [d.customer_id for d in second.context["page"].rows][-1] == customer.pk
    assert customer.reference in second.content.decode()
    # Customers appear by reference only.
    assert "Thornbury" not in second.content.decode()


def test_the_recipient_list_makes_no_query_per_recipient(client_for, dpo):
    client = client_for(dpo)
    client.get(reverse("customers:recipients"))  # a session's first request also reads its permissions
    with CaptureQueriesContext(connection) as before:
        assert client.get(reverse("customers:recipients")).status_code == 200
    RecipientFactory.create_batch(5)
    with CaptureQueriesContext(connection) as after:
        assert client.get(reverse("customers:recipients")).status_code == 200
    assert len(after) == len(before)


def test_the_dpo_adds_a_recipient(client_for, dpo):
    response = client_for(dpo).post(reverse("customers:recipient_create"), recipient_form())
    recipient = Recipient.objects.get(code="swift")
    assert response.status_code == 302 and response["Location"] == recipient.get_absolute_url()
    assert (recipient.country, recipient.agreement_renews_on) == ("GB", datetime.date(2027, 12, 31))
    assert recipient.history.get().history_user == dpo


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"country": "ZZ"}, "country", recipient_rules.ERR_COUNTRY),
        ({"transfer_mechanism": "uk_idta"}, "transfer_mechanism", recipient_rules.ERR_UK_MECHANISM),
        (
            {"country": "US", "transfer_mechanism": "uk_idta"},
            "tra_date",
            recipient_rules.ERR_TRA_MISSING.format(what="date"),
        ),
        ({"agreement_reference": ""}, "agreement_reference", recipient_rules.ERR_PROCESSOR_AGREEMENT),
        ({"name": "Verbatim AI Inc.", "code": "other"}, "name", recipient_rules.ERR_DUPLICATE.format(what="name")),
    ],
)
def test_the_register_rules_are_explained_per_field(client_for, dpo, overrides, field, message):
    response = client_for(dpo).post(reverse("customers:recipient_create"), recipient_form(**overrides))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Recipient.objects.filter(code="swift").exists()


def test_the_dpo_edits_a_recipient_with_a_reason_kept_in_its_history(client_for, dpo):
    recipient = RecipientFactory()
    data = recipient_form(name=recipient.name, code=recipient.code, active="", reason="Contract ended")
    response = client_for(dpo).post(reverse("customers:recipient_edit", args=[recipient.pk]), data)
    assert response.status_code == 302
    recipient.refresh_from_db()
    assert not recipient.active
    latest = recipient.history.first()
    assert (latest.history_user, latest.history_change_reason) == (dpo, "Contract ended")


def test_an_edit_without_a_reason_is_refused(client_for, dpo):
    recipient = RecipientFactory()
    data = recipient_form(name=recipient.name, code=recipient.code)
    response = client_for(dpo).post(reverse("customers:recipient_edit", args=[recipient.pk]), data)
    assert response.status_code == 200 and "reason" in response.context["form"].errors


@pytest.mark.parametrize("role", ["auditor", "agent", "handler", "itadmin", "nobody"])
def test_only_the_dpo_changes_the_register(client_for, cast, role):
    recipient = RecipientFactory()
    client = client_for(cast[role])
    assert client.get(reverse("customers:recipient_create")).status_code == 403
    assert client.post(reverse("customers:recipient_create"), recipient_form()).status_code == 403
    assert client.post(reverse("customers:recipient_edit", args=[recipient.pk]), recipient_form()).status_code == 403


def test_the_recipient_pages_refuse_other_methods(client_for, dpo):
    recipient = RecipientFactory()
    client = client_for(dpo)
    assert client.post(reverse("customers:recipients")).status_code == 405
    assert client.post(reverse("customers:recipient", args=[recipient.pk])).status_code == 405
    assert client.delete(reverse("customers:recipient_edit", args=[recipient.pk])).status_code == 405
    assert client.put(reverse("customers:recipient_create")).status_code == 405


# --- A customer's disclosures: who may see them ------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("dpo", 200), ("auditor", 200), ("agent", 404), ("handler", 404), ("itadmin", 404), ("nobody", 403)],
)
def test_a_customers_disclosures_are_shown_only_to_those_who_need_to_know(client_for, cast, disclosure, role, status):
    client = client_for(cast[role])
    for name in ("customers:disclosures", "customers:disclosure_history"):
        response = client.get(reverse(name, args=[disclosure.customer_id]))
        assert response.status_code == status, name
        assert ("Parcel Partner Ltd" in response.content.decode()) == (status == 200)
    events = AccessEvent.objects.filter(action=Action.VIEW_DISCLOSURES, customer_id=disclosure.customer_id)
    assert events.count() == (2 if status == 200 else 0)


def test_a_handler_sees_the_disclosures_of_a_customer_in_its_case_and_no_other(
    client_for, handler, other_handler, disclosure
):
    assign_perm("customers.view_disclosure", handler, disclosure.customer)
    someone_else = DisclosureFactory()
    client = client_for(handler)
    assert client.get(reverse("customers:disclosures", args=[disclosure.customer_id])).status_code == 200
    assert client.get(reverse("customers:disclosure_history", args=[disclosure.customer_id])).status_code == 200
    assert client.get(reverse("customers:disclosures", args=[someone_else.customer_id])).status_code == 404
    # Reading is all: no recording, no register.
    assert client.get(reverse("customers:disclosure_add", args=[disclosure.customer_id])).status_code == 403
    assert client.get(reverse("customers:recipients")).status_code == 403
    other = client_for(other_handler)
    assert other.get(reverse("customers:disclosures", args=[disclosure.customer_id])).status_code == 404


def test_the_disclosures_tab_links_back_to_the_customer_for_whoever_may_open_it(client_for, handler, disclosure):
    """A handler's grant on its case's customer opens the customer page, so the tab links to it."""
    link = reverse("customers:detail", args=[disclosure.customer_id])
    tab = reverse("customers:disclosures", args=[disclosure.customer_id])
    assign_perm("customers.view_disclosure", handler, disclosure.customer)
    client = client_for(handler)
    assert f'href="{link}"'.encode() not in client.get(tab).content  # the tab only: the customer is not granted
    assign_perm("customers.view_customer", handler, disclosure.customer)
    assert client.get(link).status_code == 200
    assert f'href="{link}"'.encode() in client.get(tab).content


def test_the_disclosures_tab_lists_recipients_for_art19_and_the_log(client_for, dpo, disclosure):
    response = client_for(dpo).get(reverse("customers:disclosures", args=[disclosure.customer_id]))
    body = response.content.decode()
    assert "Who has this customer's data" in body
    assert [e.recipient for e in response.context["recipients"]] == [disclosure.recipient]
    assert disclosure.recipient_reference in body


def test_the_disclosures_tab_pages_without_repeating_the_art19_list(client_for, dpo, customer):
    for n in range(52):
        DisclosureFactory(customer=customer, disclosed_at=timezone.now() - datetime.timedelta(hours=n + 1))
    client = client_for(dpo)
    first = client.get(reverse("customers:disclosures", args=[customer.pk]))
    after = first.context["page"].next_after
    second = client.get(reverse("customers:disclosures", args=[customer.pk]), {"after": after})
    assert len(first.context["page"].rows) == 50 and len(second.context["page"].rows) == 2
    assert second.context["recipients"] is None


def test_the_disclosures_tab_makes_as_many_queries_for_twenty_rows_as_for_one(client_for, dpo, customer):
    client = client_for(dpo)
    url = reverse("customers:disclosures", args=[customer.pk])
    DisclosureFactory(customer=customer)
    client.get(url)  # a session's first request also reads its permissions
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    DisclosureFactory.create_batch(19, customer=customer, recipient=RecipientFactory())
    with CaptureQueriesContext(connection) as twenty:
        assert client.get(url).status_code == 200
    assert len(twenty) == len(one)


def test_the_customer_page_links_to_the_disclosures_for_those_who_may_see_them(client_for, dpo, agent, customer):
    link = reverse("customers:disclosures", args=[customer.pk])
    assert link in client_for(dpo).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert link not in client_for(agent).get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_the_disclosure_pages_refuse_other_methods(client_for, dpo, disclosure):
    client = client_for(dpo)
    assert client.post(reverse("customers:disclosures", args=[disclosure.customer_id])).status_code == 405
    assert client.post(reverse("customers:disclosure_history", args=[disclosure.customer_id])).status_code == 405
    assert client.put(reverse("customers:disclosure_add", args=[disclosure.customer_id])).status_code == 405


# --- Recording a disclosure by hand -------------------------------------------------------------------


def disclosure_form(recipient, **overrides) -> dict:
    data = {
        "recipient": recipient.pk,
        "data_categories": ["identity", "contact", "credit_finance"],
        "purpose": "debt_recovery",
        "lawful_basis": "legitimate_interests",
        "disclosed_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        "recipient_reference": "DEBT-4471",
    }
    data.update(overrides)
    return data


def test_the_dpo_records_a_disclosure(client_for, dpo, customer):
    recipient = RecipientFactory(category="debt_collection")
    response = client_for(dpo).post(reverse("customers:disclosure_add", args=[customer.pk]), disclosure_form(recipient))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:disclosures", args=[customer.pk])
    disclosure = Disclosure.objects.get()
    assert (disclosure.customer, disclosure.recorded_by, disclosure.recipient_reference) == (customer, dpo, "DEBT-4471")


def test_the_form_shows_a_guards_refusal_and_records_nothing(client_for, dpo):
    customer = CustomerFactory(processing_restricted=True, restricted_at=timezone.now() - datetime.timedelta(days=1))
    recipient = RecipientFactory(category="debt_collection")
    client = client_for(dpo)
    page = client.get(reverse("customers:disclosure_add", args=[customer.pk]))
    assert "override_reason" in page.context["form"].fields
    response = client.post(reverse("customers:disclosure_add", args=[customer.pk]), disclosure_form(recipient))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [svc.GUARD_RESTRICTED]
    assert not Disclosure.objects.exists()
    data = disclosure_form(recipient, override_reason="Debt of £240 unpaid since March: legal claim.")
    assert client.post(reverse("customers:disclosure_add", args=[customer.pk]), data).status_code == 302
    assert Disclosure.objects.get().overridden_by == dpo


def test_the_override_field_is_offered_only_for_a_restricted_customer(client_for, dpo, customer):
    page = client_for(dpo).get(reverse("customers:disclosure_add", args=[customer.pk]))
    assert "override_reason" not in page.context["form"].fields


def test_bad_input_on_the_form_is_named_by_field(client_for, dpo, customer):
    recipient = RecipientFactory()
    data = disclosure_form(recipient, lawful_basis="consent")
    response = client_for(dpo).post(reverse("customers:disclosure_add", args=[customer.pk]), data)
    assert response.context["form"].errors["lawful_basis"] == [svc.ERR_CONSENT_NOT_RECORDED]


@pytest.mark.parametrize(
    ("role", "status"), [("auditor", 403), ("agent", 403), ("handler", 403), ("itadmin", 403), ("nobody", 403)]
)
def test_only_the_dpo_records_disclosures(client_for, cast, customer, role, status):
    client = client_for(cast[role])
    url = reverse("customers:disclosure_add", args=[customer.pk])
    assert client.get(url).status_code == status
    assert client.post(url, disclosure_form(RecipientFactory())).status_code == status
    assert not Disclosure.objects.exists()


def test_the_history_page_shows_who_overrode_the_restriction_and_why(client_for, dpo):
    customer = CustomerFactory(processing_restricted=True, restricted_at=timezone.now() - datetime.timedelta(days=1))
    recipient = RecipientFactory(category="debt_collection")
    svc.disclosure_record(
        actor=dpo,
        customer=customer,
        recipient=recipient,
        data_categories=["identity"],
        purpose="debt_recovery",
        lawful_basis="legitimate_interests",
        override_reason="Court claim issued",
    )
    response = client_for(dpo).get(reverse("customers:disclosure_history", args=[customer.pk]))
    body = response.content.decode()
    assert "Recorded, overriding the processing restriction (Art 18(2))" in body
    assert f"By {dpo}: Court claim issued" in body


# --- The DPO's chart -----------------------------------------------------------------------------------


def test_the_dpos_home_page_shows_disclosures_by_recipient_and_month_as_svg(client_for, dpo):
    forget_monthly_counts()
    DisclosureFactory.create_batch(2, recipient=RecipientFactory(name="Chart Courier Ltd"), disclosed_at=timezone.now())
    body = client_for(dpo).get(reverse("home")).content.decode()
    assert "<svg" in body and "Disclosures by recipient and month" in body
    assert "Chart Courier Ltd" in body
    assert "<script" not in body.split("<main")[1]


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin"])
def test_only_the_dpo_home_page_carries_the_chart(client_for, cast, role):
    DisclosureFactory(disclosed_at=timezone.now())
    assert "Disclosures by recipient and month" not in client_for(cast[role]).get(reverse("home")).content.decode()
