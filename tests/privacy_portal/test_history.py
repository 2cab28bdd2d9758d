"""History on every domain model, and readable timelines on record pages."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.urls import reverse

from customers.models import Customer, PreferenceChange
from customers.services import customers as customer_services
from customers.services.preferences import preference_record
from privacy_portal.history import timeline
from privacy_portal.history_labels import record_kind
from privacy_portal.models import AccessEvent
from tests.factories import CaseFactory, CustomerFactory

# Append-only logs are immutable instead of tracked; guardian's permission rows and the
# historical models themselves are bookkeeping, not records.
UNTRACKED = {
    "privacy_portal.AccessEvent",
    # The access log's free text: a history table would keep the text erasure must remove; its one
    # change (redaction) is recorded by a chained scrub entry instead.
    "privacy_portal.AccessEventText",
    "privacy_portal.JobRun",
    "requests.CaseUserObjectPermission",
    "requests.CaseGroupObjectPermission",
    "requests.ComplaintUserObjectPermission",
    "requests.ComplaintGroupObjectPermission",
    # The public form's holding row and its one-time codes are transient by design: deleted once
    # the email is verified (the details become cases, with their own history) or by the nightly
    # sweep after a day. A history table would keep an unverified stranger's details (and the
    # codes' hashes) after the row is gone (requests/models_public.py).
    "requests.PublicSubmission",
    "requests.VerificationCode",
}


def domain_models():
    for app in ("privacy_portal", "customers", "requests"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical") or model._meta.auto_created:
                continue
            yield model


@pytest.mark.parametrize(
    "model", [m for m in domain_models() if m._meta.label not in UNTRACKED], ids=lambda m: m._meta.label
)
def test_every_domain_model_keeps_history(model):
    assert hasattr(model, "history"), f"{model._meta.label} has no HistoricalRecords()"


def test_the_untracked_list_names_only_models_that_exist():
    labels = {m._meta.label for m in domain_models()}
    assert labels >= UNTRACKED


@pytest.mark.django_db
def test_the_timeline_merges_its_sources_oldest_first_each_row_with_the_one_before(agent, dpo):
    customer = CustomerFactory(town="York")
    customer_services.customer_update_contact(
        actor=dpo, customer_id=customer.pk, expected_version=1, reason="Moved house", town="Leeds"
    )
    preference_record(actor=agent, customer=customer, purpose="direct_marketing", channel="post", granted=False,
                      source="phone_call")  # fmt: skip
    customer_services.customer_update_contact(
        actor=dpo, customer_id=customer.pk, expected_version=2, reason="Moved again", town="Hull"
    )
    rows = timeline(
        {
            "customers.Customer": Customer.history.filter(id=customer.pk).order_by("-history_date"),  # any order
            "customers.PreferenceChange": PreferenceChange.history.filter(customer_id=customer.pk),
        }
    )
    kinds = ["customers.Customer", "customers.Customer", "customers.PreferenceChange", "customers.Customer"]
    assert [row.kind for row in rows] == kinds
    assert [rows[1].record.history_change_reason, rows[3].record.history_change_reason] == [
        "Moved house",
        "Moved again",
    ]
    assert rows[0].kind == "customers.Customer" and rows[0].first and rows[0].changes() == []
    assert not rows[3].first and rows[3].previous.history_id == rows[1].record.history_id
    assert [(c.field, c.old, c.new) for c in rows[3].changes(["town"])] == [("town", "Leeds", "Hull")]
    assert rows[2].first  # the preference change's own first row: objects are paired with themselves only


def test_rows_of_different_sources_changed_at_the_same_instant_keep_the_sources_order():
    at = datetime.datetime(2026, 11, 25, 10, 2, tzinfo=datetime.UTC)

    def row(history_id, when):
        return SimpleNamespace(id=1, history_id=history_id, history_date=when)

    later = at + datetime.timedelta(seconds=1)
    rows = timeline({"b.Second": [row(9, at)], "a.First": [row(7, later), row(3, at)]})
    assert [(r.kind, r.record.history_id) for r in rows] == [("b.Second", 9), ("a.First", 3), ("a.First", 7)]
    rows = timeline({"a.First": [row(3, at)], "b.Second": [row(9, at)]})
    assert [r.kind for r in rows] == ["a.First", "b.Second"]


def test_a_kind_of_record_reads_as_its_verbose_name_with_abbreviations_in_capitals():
    assert record_kind("customers.Call") == "call" and record_kind(Customer, capital=True) == "Customer"
    assert record_kind("requests.CaseNote", capital=True) == "Case note"
    assert record_kind("requests.IcoCase", capital=True) == "ICO case"  # capitalize() made it "Ico case"
    assert record_kind("requests.IcoDeadline", capital=True) == "ICO deadline"
    assert record_kind("customers.InboundSms") == "inbound SMS" and record_kind("customers.MpsMatch") == "MPS match"


@pytest.mark.django_db
def test_the_customer_history_page_shows_who_changed_what_from_what_and_why(client_for, agent, dpo):
    customer = CustomerFactory(town="York")
    customer_services.customer_update_contact(
        actor=dpo, customer_id=customer.pk, expected_version=1, reason="Moved house (letter)", town="Leeds"
    )
    preference_record(actor=agent, customer=customer, purpose="direct_marketing", channel="post", granted=False,
                      source="phone_call")  # fmt: skip
    client = client_for(agent)
    response = client.get(reverse("customers:history", args=[customer.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Moved house (letter)" in body and "York" in body and "Leeds" in body
    assert "Preference: Direct marketing by post" in body and "Opt-out via Phone call" in body
    assert dpo.get_full_name() in body


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("dpo", 200), ("itadmin", 404), ("handler", 404)])
def test_customer_history_access_by_role(client_for, cast, role, status):
    customer = CustomerFactory()
    client = client_for(cast[role])
    assert client.get(reverse("customers:history", args=[customer.pk])).status_code == status


@pytest.mark.django_db
def test_a_long_change_reason_is_kept_whole(agent):
    customer = CustomerFactory(town="York")
    reason = "Customer wrote from a new address after moving house; letter scanned to the case file. " * 4
    customer_services.customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason=reason, town="Leeds"
    )
    assert customer.history.first().history_change_reason == reason.strip()


@pytest.mark.django_db
def test_reading_a_customers_change_history_on_the_audit_page_is_recorded_in_the_access_log(client_for, auditor, agent):
    customer = CustomerFactory(town="York")
    customer_services.customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason="Moved", town="Leeds"
    )
    response = client_for(auditor).get(reverse("record_history", args=["customers.Customer", customer.pk]))
    assert response.status_code == 200 and "York" in response.content.decode()
    event = AccessEvent.objects.get(user=auditor)
    assert (event.action, event.customer_id, event.object_type, event.object_id) == (
        AccessEvent.Action.VIEW_HISTORY,
        customer.pk,
        "customers.Customer",
        customer.pk,
    )


@pytest.mark.django_db
def test_reading_a_cases_history_on_the_audit_page_is_recorded_against_its_customer(client_for, auditor):
    case = CaseFactory()
    response = client_for(auditor).get(reverse("record_history", args=["requests.Case", case.pk]))
    assert response.status_code == 200
    event = AccessEvent.objects.get(user=auditor)
    assert (event.action, event.customer_id, event.object_type, event.object_id) == (
        AccessEvent.Action.VIEW_HISTORY,
        case.customer_id,
        "requests.Case",
        case.pk,
    )
