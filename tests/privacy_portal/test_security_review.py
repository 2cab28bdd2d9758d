"""Findings of the security and need-to-know review of the audit pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from customers.services import customers as customer_services
from privacy_portal.models import AccessEvent
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db


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


def test_the_history_csv_quotes_a_reason_a_spreadsheet_would_run_as_a_formula(client_for, auditor, agent):
    customer = CustomerFactory(town="York")
    customer_services.customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason='=HYPERLINK("http://x")', town="Leeds"
    )
    response = client_for(auditor).get(reverse("history_export"), {"kind": "customers.Customer"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    reasons = {r[5] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in reasons
    assert not any(reason.startswith(("=", "+", "-", "@")) for reason in reasons)
