"""The auditors' history search: by staff member, record, kind and period; keyset paged; CSV."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import InboundSms
from customers.services import customers as customer_services
from customers.services.preferences import preference_record
from privacy_portal.services import history_search
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def changes(agent, dpo):
    a = CustomerFactory(town="York")
    b = CustomerFactory(town="Hull")
    customer_services.customer_update_contact(
        actor=agent, customer_id=a.pk, expected_version=1, reason="Moved", town="Leeds"
    )
    customer_services.customer_update_contact(
        actor=dpo, customer_id=b.pk, expected_version=1, reason="Letter", town="Bath"
    )
    preference_record(
        actor=agent, customer=a, purpose="direct_marketing", channel="post", granted=False, source="letter"
    )
    return a, b


def test_every_tracked_model_is_searchable():
    kinds = history_search.tracked_kinds()
    assert {"customers.Customer", "customers.PreferenceChange", "requests.Case", "requests.Complaint"} <= set(kinds)


def test_search_by_staff_member(agent, changes):
    rows, _ = history_search.search(user_id=agent.pk)
    assert {(r.kind, r.reason) for r in rows} == {
        ("customers.Customer", "Moved"),
        ("customers.PreferenceChange", "Opt-out via Letter"),
        # The opt-out's suppression entry is the agent's change too: suppression_add records the
        # actor the step passes (before f6d41b4 it took whoever the middleware saw, none here).
        ("customers.SuppressionEntry", "Suppressed: Opted out"),
    }


def test_search_by_record_and_kind(changes):
    a, _ = changes
    rows, _ = history_search.search(kind="customers.Customer", record_id=a.pk)
    assert [r.change for r in rows] == ["changed", "created"]


def test_search_by_period(changes):
    today = timezone.localdate()
    assert history_search.search(date_from=today, date_to=today)[0]
    assert history_search.search(date_to=today - datetime.timedelta(days=1))[0] == []


def test_keyset_paging_visits_every_row_once_across_tables(changes):
    everything, _ = history_search.search(limit=1000)
    seen, cursor = [], ""
    while True:
        page, cursor = history_search.search(cursor=cursor, limit=2)
        seen += page
        if not cursor:
            break
    assert [(r.kind, r.history_id) for r in seen] == [(r.kind, r.history_id) for r in everything]
    assert len(seen) == len(set((r.kind, r.history_id) for r in seen)) >= 5


def test_the_page_lists_changes_and_links_each_to_its_readable_history(client_for, auditor, agent, changes):
    a, _ = changes
    client = client_for(auditor)
    response = client.get(reverse("history_search"), {"staff": agent.pk})
    body = response.content.decode()
    assert (
        response.status_code == 200 and "Moved" in body and "Letter" not in body.split("<tbody>")[1].split("Opt-out")[0]
    )
    detail = client.get(reverse("record_history", args=["customers.Customer", a.pk])).content.decode()
    assert "York" in detail and "Leeds" in detail and "Moved" in detail


def test_the_kinds_of_record_read_as_the_bundle_and_the_export_name_them(client_for, auditor, changes):
    client = client_for(auditor)
    body = client.get(reverse("history_search")).content.decode()
    assert ">ICO case</option>" in body and ">ICO deadline</option>" in body and ">Inbound SMS</option>" in body
    assert "Ico case" not in body and "Inbound sms" not in body
    sms = InboundSms.objects.create(message_id="m-kinds", outcome="opted_out", customer_id=changes[0].pk)
    detail = client.get(reverse("record_history", args=["customers.InboundSms", sms.pk])).content.decode()
    assert f"Inbound SMS #{sms.pk}: change history" in detail


def test_the_period_downloads_as_csv(client_for, auditor, changes):
    client = client_for(auditor)
    response = client.get(reverse("history_export"), {"kind": "customers.Customer"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["when", "staff_id", "kind", "record_id", "change", "reason"]
    assert {r[5] for r in rows[1:]} >= {"Moved", "Letter"}


def test_a_record_id_without_a_kind_is_refused_with_a_message(client_for, auditor):
    client = client_for(auditor)
    body = client.get(reverse("history_search"), {"record": 5}).content.decode()
    assert "Choose the kind of record" in body


@pytest.mark.parametrize(
    ("role", "status"), [("auditor", 200), ("dpo", 200), ("agent", 403), ("handler", 403), ("itadmin", 403)]
)
def test_history_search_by_role(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("history_search")).status_code == status
    assert client.get(reverse("history_export")).status_code == status


def test_the_user_date_indexes_exist_on_every_history_table(django_db_setup):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_indexes WHERE indexname LIKE %s", ["%_user_date"])
        indexed = {row[0] for row in cursor.fetchall()}
    assert {m._meta.db_table for m in history_search.tracked_kinds().values()} <= indexed


def test_rows_of_different_kinds_at_the_same_instant_page_without_loss_or_repeat(agent):
    from customers.models import Customer, PreferenceChange

    a = CustomerFactory()
    preference_record(
        actor=agent, customer=a, purpose="direct_marketing", channel="sms", granted=False, source="letter"
    )
    instant = timezone.now().replace(microsecond=0)
    Customer.history.update(history_date=instant)  # test set-up: every row at one instant
    PreferenceChange.history.update(history_date=instant)
    everything, _ = history_search.search(limit=1000)
    seen, cursor = [], ""
    while True:
        page, cursor = history_search.search(cursor=cursor, limit=1)
        seen += page
        if not cursor:
            break
    assert [(r.kind, r.history_id) for r in seen] == [(r.kind, r.history_id) for r in everything]
    assert {r.kind for r in seen} >= {"customers.Customer", "customers.PreferenceChange"}


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
