"""Inbound texts that are not a STOP: kept with their text for an agent, linked to the customer
when exactly one holds the number, listed for the roles that see contact details, marked handled."""

from __future__ import annotations

import datetime
import threading
from urllib.parse import quote

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from customers.models import InboundSms
from customers.services.sms import InboundMessage, sms_inbound_mark_handled, sms_inbound_record
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NUMBER = "+447400123456"
LIST = reverse("customers:inbound_sms")


def text(body: str, *, message_id: str = "m-1", sender: str = NUMBER) -> InboundSms:
    return sms_inbound_record(message=InboundMessage(message_id=message_id, sender=sender, text=body))[0]


def test_a_text_that_is_not_a_stop_keeps_its_words_and_links_the_one_customer_with_the_number():
    customer = CustomerFactory(phone=NUMBER)
    record = text("Please call me about my order")
    assert (record.outcome, record.text, record.sender, record.customer_id) == (
        "not_a_stop", "Please call me about my order", NUMBER, customer.pk)  # fmt: skip
    assert record.history.get().text == "Please call me about my order"


def test_a_number_two_customers_share_links_neither_and_an_unknown_number_links_nobody():
    CustomerFactory(phone=NUMBER)
    CustomerFactory(phone=NUMBER)
    assert text("I've changed my number").customer_id is None
    assert text("Hello", message_id="m-2", sender="+447400999999").customer_id is None


def test_a_stop_still_keeps_no_text_nor_number():
    CustomerFactory(phone=NUMBER)
    record = text("STOP")
    assert (record.outcome, record.text, record.sender) == ("opted_out", "", "")


def test_a_replayed_text_is_kept_once():
    text("Call me")
    text("Call me")
    assert InboundSms.objects.count() == 1


def test_an_agent_reads_the_texts_to_answer_and_marks_one_handled(client_for, agent):
    customer = CustomerFactory(phone=NUMBER, first_name="Ada", last_name="Lovelace")
    record = text("Please call me about my order")
    client = client_for(agent)
    page = client.get(LIST).content.decode()
    assert "Please call me about my order" in page and "07400 123456" in page and customer.reference in page
    assert "Mark handled" in page
    event = AccessEvent.objects.filter(action=AccessEvent.Action.VIEW_INBOUND_SMS).get()
    assert (event.user, event.result_ids) == (agent, [customer.pk])
    response = client.post(reverse("customers:inbound_sms_handled", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.handled_by == agent and record.handled_at is not None
    assert "Please call me" not in client.get(LIST).content.decode()
    assert "Please call me" in client.get(LIST + "?show=handled").content.decode()
    assert record.history.latest().history_user == agent


def test_marking_handled_twice_keeps_the_first(agent, dpo):
    record = text("Call me")
    first = sms_inbound_mark_handled(actor=agent, message_pk=record.pk)
    second = sms_inbound_mark_handled(actor=dpo, message_pk=record.pk)
    assert (first.handled_by, second.handled_by, second.handled_at) == (agent, agent, first.handled_at)


@pytest.mark.django_db(transaction=True)
def test_two_agents_marking_one_text_at_once_record_it_once(agent, dpo):
    record = text("Call me")
    barrier = threading.Barrier(2)
    errors = []

    def mark(actor):
        try:
            barrier.wait(timeout=10)
            sms_inbound_mark_handled(actor=actor, message_pk=record.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=mark, args=(u,)) for u in (agent, dpo)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert record.history.filter(handled_at__isnull=False).count() == 1


def test_a_stop_cannot_be_marked_handled(client_for, agent):
    CustomerFactory(phone=NUMBER)
    record = text("STOP")
    client_for(agent).post(reverse("customers:inbound_sms_handled", args=[record.pk]))
    record.refresh_from_db()
    assert record.handled_at is None


def test_the_list_is_paged_newest_first_at_a_constant_cost(client_for, agent, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(55):
        record = text(f"Message {i:02d}", message_id=f"m-{i}", sender=f"+4474001{i:05d}")
        record.received_at = now - datetime.timedelta(minutes=i)
        record.save()
    client = client_for(agent)
    with django_assert_max_num_queries(20):
        first = client.get(LIST)
    page = first.content.decode()
    assert "Message 00" in page and "Message 49" in page and "Message 50" not in page
    older = first.context["next_before"]  # the page's "Older" link (privacy_portal.paging's cursor)
    assert f"before={quote(older)}" in page
    with django_assert_max_num_queries(20):
        second = client.get(LIST, {"before": older})
    rest = second.content.decode()
    assert "Message 50" in rest and "Message 54" in rest and "Message 49" not in rest
    assert second.context["next_before"] is None


@pytest.mark.parametrize(
    "role, status",
    [("agent", 200), ("dpo", 200), ("auditor", 200), ("handler", 403), ("itadmin", 403), ("nobody", 403)],
)
def test_who_may_read_the_texts(client_for, cast, role, status):
    assert client_for(cast[role]).get(LIST).status_code == status


@pytest.mark.parametrize("role", ["auditor", "handler", "itadmin", "nobody"])
def test_who_may_not_mark_a_text_handled(client_for, cast, role):
    record = text("Call me")
    assert client_for(cast[role]).post(reverse("customers:inbound_sms_handled", args=[record.pk])).status_code == 403
    record.refresh_from_db()
    assert record.handled_at is None


def test_the_pages_reject_the_wrong_method(client_for, agent):
    record = text("Call me")
    client = client_for(agent)
    assert client.post(LIST).status_code == 405
    assert client.get(reverse("customers:inbound_sms_handled", args=[record.pk])).status_code == 405


def test_the_persons_records_include_a_text_from_their_number_that_no_single_customer_was_linked_to():
    from customers.subject import subject_records

    customer = CustomerFactory(phone=NUMBER)
    other = CustomerFactory(phone=NUMBER)  # shared: the message is linked to nobody, found by the number
    record = text("My new address is 5 Oak Lane")
    assert record.customer_id is None
    assert list(subject_records(customer).rows(InboundSms)) == [record]
    assert list(subject_records(other).rows(InboundSms)) == [record]


@pytest.mark.usefixtures("private_storage")
def test_a_text_blanked_by_erasure_shows_when_and_why_it_was_removed_not_an_empty_row(
    client_for, agent, dpo, handler, django_capture_on_commit_callbacks
):
    from customers.selectors.customers import REMOVED_BY_ERASURE, REMOVED_TEXT
    from tests.fixtures.erasure import erasure_case, sign_off

    customer = CustomerFactory(phone=NUMBER)
    erased = text("Please call me about my order", message_id="m-erased")
    kept = text("Where is my parcel?", message_id="m-kept", sender="+447400999888")
    sign_off(dpo, erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer),
             django_capture_on_commit_callbacks)  # fmt: skip
    erased.refresh_from_db()
    assert (erased.text, erased.sender) == ("", "")
    page = client_for(agent).get(LIST)
    html = page.content.decode()
    removed = REMOVED_TEXT.format(on=timezone.localdate(), cause=REMOVED_BY_ERASURE)
    assert html.count(removed) == 1
    assert "Please call me" not in html and "Where is my parcel?" in html
    rows = {message.pk: message for message, _customer, _number in page.context["shown"]}
    assert rows[erased.pk].removed == removed and rows[kept.pk].removed == ""


def test_a_text_that_came_empty_is_not_shown_as_removed(client_for, agent):
    from customers.selectors.customers import REMOVED_TEXT

    text("", message_id="m-empty")
    html = client_for(agent).get(LIST).content.decode()
    assert REMOVED_TEXT.split("{")[0] not in html
    assert "(empty message)" in html
