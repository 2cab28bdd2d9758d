"""Pages whose cost does not grow with history: 10,000 history rows, notes and preference changes
read in the same few statements, and into as small a page, as ten (issue 11)."""

from __future__ import annotations

import datetime
import re
import urllib.parse

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from customers.models import PreferenceChange
from requests.models import Case, CaseNote, Complaint
from requests.services import cases as svc
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MANY = 10_000
MAX_PAGE_BYTES = 120_000  # a page of 50 entries; the unpaged case page was 1.8 MB at 10,000 rows
START = timezone.now() - datetime.timedelta(days=400)


def add_history(obj, count: int, *, user, change) -> None:
    """`count` historical rows of `obj` after its latest, a second apart, bulk-inserted.

    `change(record, i)` edits each copy of the current row, as a save would have.
    """
    history = type(obj).history.model
    latest = obj.history.latest()
    fields = [f.attname for f in history._meta.concrete_fields if f.attname not in ("history_id",)]
    rows = []
    for i in range(count):
        record = history(**{name: getattr(latest, name) for name in fields})
        record.history_date = latest.history_date + datetime.timedelta(seconds=i + 1)
        record.history_type = "~"
        record.history_user_id = user.pk
        record.history_change_reason = f"Change {i}"
        change(record, i)
        rows.append(record)
    history.objects.bulk_create(rows, batch_size=2000)


def entries_on(content: bytes) -> int:
    """Entries of the readable history list (templates/_history.html) on a page."""
    history = content.split(b'<ol class="history">', 1)[1].split(b"</ol>", 1)[0]
    return history.count(b"<li>")


def older_link(content: bytes, name: str) -> str:
    found = re.search(rb'href="\?' + name.encode() + rb'=([^"]+)"', content)
    assert found, f"no link to the older page ({name})"
    return urllib.parse.unquote(found.group(1).decode())


@pytest.fixture
def busy_case(dpo, handler):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    statuses = [Case.Status.IN_PROGRESS, Case.Status.AWAITING_IDENTITY]
    add_history(case, MANY, user=dpo, change=lambda r, i: setattr(r, "status", statuses[i % 2]))
    notes = [
        CaseNote(case=case, author=handler, text=f"Note {i}", created_at=START + datetime.timedelta(minutes=i))
        for i in range(MANY)
    ]
    bulk_create_with_history(notes, CaseNote, batch_size=2000, default_user=handler)
    return case


def test_case_page_reads_the_same_few_statements_at_10000_history_rows_and_notes(
    client_for, handler, busy_case, django_assert_max_num_queries
):
    client = client_for(handler)
    url = reverse("requests:case", args=[busy_case.pk])
    client.get(url)  # warm: the first request of a session pays for its permissions
    with django_assert_max_num_queries(30):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.content) < MAX_PAGE_BYTES
    body = response.content.decode()
    # Newest first: the last note and the last history row are on the first page, the first are not.
    assert f"Note {MANY - 1}<" in body and "Note 0<" not in body
    assert f"Change {MANY - 1}" in body and "Change 0<" not in body


def test_case_page_pages_back_through_notes_and_timeline_without_repeating_or_skipping(
    client_for, handler, busy_case, django_assert_max_num_queries
):
    client = client_for(handler)
    url = reverse("requests:case", args=[busy_case.pk])
    first = client.get(url).content.decode()
    shown = set(re.findall(r"Note (\d+)<", first))
    assert len(shown) == 50
    cursor = older_link(first.encode(), "notes")
    with django_assert_max_num_queries(30):
        second = client.get(url, {"notes": cursor}).content.decode()
    older = set(re.findall(r"Note (\d+)<", second))
    assert len(older) == 50 and not shown & older
    assert {int(n) for n in shown | older} == set(range(MANY - 100, MANY))
    # The timeline pages the same way, by its own link.
    changes = set(re.findall(r"Change (\d+)", first))
    next_changes = set(
        re.findall(
            r"Change (\d+)", client.get(url, {"history": older_link(first.encode(), "history")}).content.decode()
        )
    )
    assert changes and next_changes and not changes & next_changes
    assert min(int(n) for n in changes) == max(int(n) for n in next_changes) + 1


def test_a_bad_cursor_shows_the_newest_page(client_for, handler, busy_case):
    client = client_for(handler)
    response = client.get(
        reverse("requests:case", args=[busy_case.pk]), {"notes": "yesterday|x", "history": "nonsense"}
    )
    assert response.status_code == 200
    assert f"Note {MANY - 1}<" in response.content.decode()


@pytest.fixture
def busy_customer(dpo):
    customer = CustomerFactory()
    add_history(customer, MANY, user=dpo, change=lambda r, i: setattr(r, "town", f"Town {i}"))
    channels = ["email", "sms", "phone", "post"]
    changes = [
        PreferenceChange(
            customer=customer,
            purpose="direct_marketing",
            channel=channels[i % 4],
            granted=True,
            source="phone_call",
            recorded_by=dpo,
            received_at=START + datetime.timedelta(minutes=i),
            takes_effect_by=(START + datetime.timedelta(minutes=i)).date(),
        )
        for i in range(MANY)
    ]
    # The very latest change of post is an opt-out: the page must show that one, not any earlier opt-in.
    changes[-1].granted = False
    changes[-1].takes_effect_by = timezone.localdate() + datetime.timedelta(days=42)
    bulk_create_with_history(changes, PreferenceChange, batch_size=2000, default_user=dpo)
    return customer


def test_customer_history_page_is_one_small_page_at_10000_changes_newest_first(
    client_for, dpo, busy_customer, django_assert_max_num_queries
):
    client = client_for(dpo)
    url = reverse("customers:history", args=[busy_customer.pk])
    client.get(url)
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert response.status_code == 200 and len(response.content) < MAX_PAGE_BYTES
    body = response.content.decode()
    assert entries_on(response.content) == 50
    assert f"Town {MANY - 1}" in body and "Town 0<" not in body  # the newest contact changes first
    # Paging on costs the same deep into the history.
    cursor = older_link(response.content, "cursor")
    for _ in range(5):
        page = client.get(url, {"cursor": cursor}).content
        cursor = older_link(page, "cursor")
    with django_assert_max_num_queries(20):
        deep = client.get(url, {"cursor": cursor})
    assert entries_on(deep.content) == 50


def test_customer_history_shows_what_each_contact_change_changed_across_a_page_boundary(client_for, dpo):
    customer = CustomerFactory(town="Leeds")
    add_history(customer, 120, user=dpo, change=lambda r, i: setattr(r, "town", f"Town {i}"))
    client = client_for(dpo)
    url = reverse("customers:history", args=[customer.pk])
    first = client.get(url).content.decode()
    second = client.get(url, {"cursor": older_link(first.encode(), "cursor")}).content.decode()
    # The oldest row on the first page (change 70) is diffed against the newest of the second (69).
    assert "<td>Town 69</td><td>Town 70</td>" in first.replace("\n", "")
    assert "<td>Town 68</td><td>Town 69</td>" in second.replace("\n", "")


def test_customer_page_reads_current_preferences_in_one_statement_at_10000_changes(
    client_for, agent, busy_customer, django_assert_num_queries, django_assert_max_num_queries
):
    client = client_for(agent)
    url = reverse("customers:detail", args=[busy_customer.pk])
    client.get(url)
    with django_assert_max_num_queries(19):
        response = client.get(url)
    assert response.status_code == 200 and len(response.content) < MAX_PAGE_BYTES
    from customers.services.preferences import preference_keys, preference_states

    rows: list[int] = []

    def count_rows(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        rows.append(context["cursor"].rowcount)
        return result

    with django_assert_num_queries(1), connection.execute_wrapper(count_rows):
        states = {(s.purpose, s.channel): s for s in preference_states(busy_customer)}
    assert 1 <= rows[0] <= len(preference_keys())  # the latest per key, never the whole history
    assert states[("direct_marketing", "post")].change.granted is False
    assert states[("direct_marketing", "email")].change.granted is True
    latest_email = PreferenceChange.objects.filter(customer=busy_customer, channel="email").latest("received_at")
    assert states[("direct_marketing", "email")].change == latest_email


def test_auditor_reads_a_record_changed_10000_times_a_page_at_a_time(
    client_for, auditor, dpo, busy_case, django_assert_max_num_queries
):
    client = client_for(auditor)
    url = reverse("record_history", args=["requests.Case", busy_case.pk])
    client.get(url)
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert response.status_code == 200 and len(response.content) < MAX_PAGE_BYTES
    assert entries_on(response.content) == 50
    body = response.content.decode()
    assert f"Change {MANY - 1}" in body and "Change 0<" not in body
    older = client.get(url, {"cursor": older_link(response.content, "cursor")}).content.decode()
    assert f"Change {MANY - 51}" in older


def test_complaint_page_timeline_is_paged_at_10000_history_rows(
    client_for, dpo, handler, django_assert_max_num_queries
):
    complaint = ComplaintFactory()
    statuses = [Complaint.Status.INVESTIGATING, Complaint.Status.ACKNOWLEDGED]
    add_history(complaint, MANY, user=dpo, change=lambda r, i: setattr(r, "status", statuses[i % 2]))
    client = client_for(dpo)
    url = reverse("requests:complaint", args=[complaint.pk])
    client.get(url)
    with django_assert_max_num_queries(40):
        response = client.get(url)
    assert response.status_code == 200 and len(response.content) < MAX_PAGE_BYTES
    body = response.content.decode()
    assert f"Change {MANY - 1}" in body and "Change 0<" not in body
    assert older_link(response.content, "history")


def test_requests_i_logged_costs_the_same_with_1_and_100_open_cases(client_for, agent, django_assert_num_queries):
    from django.test.utils import CaptureQueriesContext

    client = client_for(agent)
    url = reverse("requests:logged")
    CaseFactory(logged_by=agent, extended=True, stopped_days=3)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(99):
        CaseFactory(logged_by=agent, extended=True, stopped_days=3)
    with django_assert_num_queries(len(one)):
        response = client.get(url)
    body = response.content.decode()
    assert body.count("Extended") == 100 and body.count("(+3 days stopped)") == 100
