"""The SMS gateway's inbound webhook: signed, STOP withdraws SMS marketing, replays change nothing."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from customers.models import Channel, InboundSms, PreferenceChange, Purpose, SuppressionEntry
from customers.services import sms
from customers.services.preferences import may_market, preference_record
from customers.services.suppression import identifier_hash
from tests.factories import CustomerFactory
from tests.fixtures.sms_gateway import NUMBER, RECEIVED, URL, deliver, sign, stop

pytestmark = pytest.mark.usefixtures("sms_secret")


def nothing_recorded() -> bool:
    return not (InboundSms.objects.exists() or PreferenceChange.objects.exists() or SuppressionEntry.objects.exists())


@pytest.fixture
def customer(db):
    return CustomerFactory(phone=NUMBER)


# --- Works -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_stop_opts_the_customer_out_of_sms_marketing(client, customer):
    response = deliver(client, stop())
    assert response.status_code == 200
    assert response.json() == RECEIVED
    change = PreferenceChange.objects.get(customer=customer)
    assert (change.purpose, change.channel, change.granted) == (Purpose.DIRECT_MARKETING, Channel.SMS, False)
    assert change.source == PreferenceChange.Source.SMS_STOP
    assert change.recorded_by is None
    record = InboundSms.objects.get()
    assert (record.message_id, record.outcome, record.customer_id) == ("msg-1", "opted_out", customer.pk)


@pytest.mark.django_db
def test_a_stop_puts_the_number_on_the_sms_suppression_list(client, customer):
    deliver(client, stop())
    entry = SuppressionEntry.objects.get()
    assert (entry.channel, entry.identifier_hash) == (Channel.SMS, identifier_hash(NUMBER))


@pytest.mark.django_db
def test_a_stop_withdraws_an_earlier_sms_opt_in(client, customer):
    preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.SMS,
        granted=True,
        source=PreferenceChange.Source.ACCOUNT_PAGE,
    )
    assert may_market(customer, Channel.SMS)
    deliver(client, stop())
    assert not may_market(customer, Channel.SMS)


@pytest.mark.django_db
def test_a_stop_leaves_the_other_channels_alone(client, customer):
    deliver(client, stop())
    assert set(PreferenceChange.objects.values_list("channel", flat=True)) == {Channel.SMS}
    assert set(SuppressionEntry.objects.values_list("channel", flat=True)) == {Channel.SMS}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " stop ", "Stop.", "STOP ALL", "STOPALL", "stop all", "UNSUBSCRIBE", "unsubscribe", "Stop!"],
)
def test_every_way_of_writing_stop_opts_out(client, customer, text):
    deliver(client, stop(text=text))
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.OPTED_OUT
    assert PreferenceChange.objects.filter(customer=customer, channel=Channel.SMS, granted=False).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["", "Thanks!", "STOPPING BY LATER", "Yes please", "ST0P", "Unstoppable"])
def test_other_texts_are_kept_for_an_agent_and_change_nothing(client, customer, text):
    response = deliver(client, stop(text=text))
    assert response.status_code == 200
    assert response.json() == RECEIVED
    record = InboundSms.objects.get()
    assert (record.outcome, record.customer_id, record.text, record.sender) == (
        InboundSms.Outcome.NOT_A_STOP, customer.pk, text, NUMBER)  # fmt: skip
    assert not PreferenceChange.objects.exists()
    assert not SuppressionEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number", ["07400 123456", "07400123456", "+44 (0)7400 123456", "0044 7400 123456", "+447400123456"]
)
def test_the_sender_is_matched_in_any_uk_format(client, customer, number):
    deliver(client, stop(number=number))
    assert InboundSms.objects.get().customer_id == customer.pk
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_every_customer_sharing_the_number_is_opted_out(client):
    sharing = [CustomerFactory(phone=NUMBER) for _ in range(3)]
    elsewhere = CustomerFactory(phone="+447400999999")
    deliver(client, stop())
    for customer in sharing:
        assert not may_market(customer, Channel.SMS)
        assert PreferenceChange.objects.filter(customer=customer, channel=Channel.SMS, granted=False).count() == 1
    assert not PreferenceChange.objects.filter(customer=elsewhere).exists()
    assert InboundSms.objects.get().customer_id == sharing[0].pk


@pytest.mark.django_db
def test_an_unknown_number_gets_the_same_answer_and_is_still_suppressed(client, customer):
    known = deliver(client, stop(message_id="known"))
    unknown = deliver(client, stop(message_id="unknown", number="+447400654321"))
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    record = InboundSms.objects.get(message_id="unknown")
    assert (record.outcome, record.customer_id) == (InboundSms.Outcome.UNKNOWN_NUMBER, None)
    assert PreferenceChange.objects.count() == 1  # only the known customer's
    assert SuppressionEntry.objects.filter(
        channel=Channel.SMS, identifier_hash=identifier_hash("+447400654321")
    ).exists()


@pytest.mark.django_db
def test_an_erased_customer_with_the_number_is_not_touched(client):
    from django.utils import timezone

    erased = CustomerFactory(phone=NUMBER, erased_at=timezone.now())
    response = deliver(client, stop())
    assert response.status_code == 200
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.UNKNOWN_NUMBER
    assert not PreferenceChange.objects.filter(customer=erased).exists()


@pytest.mark.django_db
def test_the_record_keeps_neither_the_number_nor_the_text(client, customer):
    deliver(client, stop(text="STOP please, from Philippa"))
    record = InboundSms.objects.get()
    stored = " ".join(str(v) for v in InboundSms.objects.values().get().values())
    stored += " ".join(str(v) for v in record.history.values().get().values())
    for value in (NUMBER, "7400123456", "Philippa", "please"):
        assert value not in stored


@pytest.mark.django_db
def test_a_sha256_prefixed_or_upper_case_signature_is_accepted(client, customer):
    assert deliver(client, stop(message_id="a"), prefix="sha256=").status_code == 200
    body = json.dumps(stop(message_id="b")).encode()
    response = client.post(URL, data=body, content_type="application/json", headers={"X-Signature": sign(body).upper()})
    assert response.status_code == 200
    assert InboundSms.objects.count() == 2


# --- Replays -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_replayed_message_changes_nothing_and_gets_the_same_answer(client, customer):
    first = deliver(client, stop())
    # Meanwhile the customer opts back in by phone: a replay of the old STOP must not undo it.
    preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.SMS,
        granted=True,
        source=PreferenceChange.Source.PHONE_CALL,
    )
    again = deliver(client, stop())
    assert again.status_code == 200
    assert again.content == first.content
    assert InboundSms.objects.count() == 1
    assert PreferenceChange.objects.filter(customer=customer).count() == 2
    assert may_market(customer, Channel.SMS)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_delivery_is_answered_200_and_acted_on_once(customer):
    """Delivery A holds its transaction open; delivery B of the same message must wait, then
    find it already done (the unique message id), rather than fail with a 500."""
    inside = threading.Event()
    release = threading.Event()
    outcome: dict = {}
    message = sms.InboundMessage(message_id="dup-1", sender=NUMBER, text="STOP")

    def delivery_a():
        try:
            with transaction.atomic():
                outcome["a"] = sms.sms_inbound_record(message=message)
                inside.set()
                release.wait(10)
        finally:
            connections.close_all()

    def delivery_b():
        try:
            outcome["b"] = deliver(Client(), stop(message_id="dup-1"))
        finally:
            connections.close_all()

    a = threading.Thread(target=delivery_a)
    a.start()
    assert inside.wait(10)
    b = threading.Thread(target=delivery_b)
    b.start()
    _wait_until_blocked_on_a_lock()
    release.set()
    a.join(10)
    b.join(10)

    assert outcome["a"][1] is True
    assert outcome["b"].status_code == 200
    assert outcome["b"].json() == RECEIVED
    assert InboundSms.objects.count() == 1
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


def _wait_until_blocked_on_a_lock(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("delivery B never waited on delivery A")


# --- Refused -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",
        "sha256=",
        "not-hex",
        "0" * 64,
        sign(json.dumps(stop()).encode(), secret="the wrong secret"),
        sign(json.dumps(stop(text="Hello")).encode()),  # signed for another body
    ],
    ids=["missing", "empty", "prefix only", "not hex", "zeros", "wrong secret", "other body"],
)
def test_a_bad_or_missing_signature_is_refused_with_403_and_nothing_recorded(client, customer, signature):
    response = deliver(client, stop(), signature=signature)
    assert response.status_code == 403
    assert response.json() == {"error": sms.ERR_SIGNATURE}
    assert nothing_recorded()


@pytest.mark.django_db
def test_without_a_configured_secret_everything_is_refused(client, settings, customer):
    settings.SMS_WEBHOOK_SECRET = ""
    body = json.dumps(stop()).encode()
    response = client.post(URL, data=body, content_type="application/json", headers={"X-Signature": sign(body, "")})
    assert response.status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", sms.ERR_JSON),
        (b"", sms.ERR_JSON),
        (b"\xff\xfe", sms.ERR_JSON),
        (b'["STOP"]', sms.ERR_JSON),
        (json.dumps({"from": NUMBER, "body": "STOP"}).encode(), "Field 'message_id' is missing."),
        (json.dumps({"message_id": "m", "body": "STOP"}).encode(), "Field 'from' is missing."),
        (json.dumps({"message_id": "m", "from": NUMBER}).encode(), "Field 'body' is missing."),
        (json.dumps({"message_id": "", "from": NUMBER, "body": "STOP"}).encode(), "Field 'message_id' must be"),
        (json.dumps({"message_id": 7, "from": NUMBER, "body": "STOP"}).encode(), "Field 'message_id' must be"),
        (json.dumps({"message_id": "x" * 101, "from": NUMBER, "body": "STOP"}).encode(), "at most 100"),
        (json.dumps({"message_id": "m", "from": "not a number", "body": "STOP"}).encode(), sms.ERR_FROM),
        (json.dumps({"message_id": "m", "from": NUMBER, "body": None}).encode(), "Field 'body' must be"),
    ],
    ids=[
        "broken json",
        "empty",
        "not utf-8",
        "not an object",
        "no message_id",
        "no from",
        "no body",
        "empty message_id",
        "numeric message_id",
        "long message_id",
        "bad number",
        "null body",
    ],
)
def test_a_signed_but_malformed_message_gets_400_naming_the_problem(client, customer, body, error):
    response = deliver(client, body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert nothing_recorded()


@pytest.mark.django_db
def test_get_is_refused_with_405(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- Public ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_gateway_needs_no_csrf_token(customer):
    gateway = Client(enforce_csrf_checks=True)
    assert deliver(gateway, stop()).status_code == 200
    assert InboundSms.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "agent", "handler", "dpo", "auditor", "itadmin", "nobody"])
def test_the_webhook_is_public_and_acts_the_same_for_anyone(request, client, client_for, customer, role):
    caller = client if role == "anonymous" else client_for(request.getfixturevalue(role))
    assert deliver(caller, stop()).status_code == 200
    assert deliver(caller, stop(message_id="unsigned"), signature=None).status_code == 403
    assert PreferenceChange.objects.get(customer=customer).recorded_by is None
