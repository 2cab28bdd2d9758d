"""SendGrid's signed Event Webhook: unsubscribes and spam complaints opt out, hard bounces are flagged.

The events are signed as SendGrid signs them (ECDSA P-256 / SHA-256 over the timestamp header
followed by the body, base64 DER) and every signature the tests send is first checked by SendGrid's
own library (sendgrid.helpers.eventwebhook.EventWebhook): if our receiver and SendGrid's verifier
ever disagreed on the scheme, these tests would fail.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import time

import pytest
from django.utils import timezone

from customers.models import Channel, EmailEvent, PreferenceChange, Purpose, SuppressionEntry
from customers.services import email_events
from customers.services.customers import customer_update_contact
from customers.services.preferences import may_market, preference_record
from customers.services.suppression import identifier_hash
from privacy_portal import legal
from tests.factories import CustomerFactory
from tests.fixtures.sendgrid import EMAIL, OTHER_KEY, URL, deliver, event, sign

pytestmark = pytest.mark.usefixtures("sendgrid_key")


@pytest.fixture
def customer(db):
    return CustomerFactory(email=EMAIL)


def nothing_recorded() -> bool:
    return not (EmailEvent.objects.exists() or PreferenceChange.objects.exists() or SuppressionEntry.objects.exists())


# --- Works ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["unsubscribe", "group_unsubscribe", "spamreport"])
def test_an_unsubscribe_or_spam_complaint_withdraws_email_marketing_with_history(client, customer, kind):
    preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.EMAIL,
        granted=True,
        source=PreferenceChange.Source.ACCOUNT_PAGE,
    )
    response = deliver(client, [event(kind)])
    assert response.status_code == 200
    assert not may_market(customer, Channel.EMAIL)
    change = PreferenceChange.objects.filter(customer=customer, granted=False).get()
    assert (change.channel, change.source) == (Channel.EMAIL, PreferenceChange.Source.EMAIL_PROVIDER)
    assert change.history.get().history_change_reason == "Opt-out via Email provider report"
    received = timezone.localtime(change.received_at).date()
    assert change.takes_effect_by == received + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK)
    record = EmailEvent.objects.get()
    assert (record.event_id, record.outcome, record.customer_id) == ("sendgrid:sg-event-1", "opted_out", customer.pk)
    assert SuppressionEntry.objects.filter(channel=Channel.EMAIL, identifier_hash=identifier_hash(EMAIL)).exists()


@pytest.mark.django_db
def test_a_hard_bounce_is_flagged_on_the_customer_with_history_and_shown_on_the_customer_page(
    client, client_for, agent, customer
):
    response = deliver(client, [event("bounce", type="bounce", reason="550 5.1.1 The email account does not exist")])
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email_bounced_at is not None
    assert customer.history.first().history_change_reason == "Hard bounce reported by the email provider"
    assert EmailEvent.objects.get().outcome == EmailEvent.Outcome.BOUNCE_FLAGGED
    assert not PreferenceChange.objects.exists()  # a bounce is not an opt-out
    page = client_for(agent).get(f"/customers/{customer.pk}/")
    assert "Hard bounce" in page.content.decode()
    assert "this address does not exist" in page.content.decode()


@pytest.mark.django_db
def test_changing_the_email_address_clears_the_bounce(client, customer, agent):
    deliver(client, [event("bounce", type="bounce")])
    customer.refresh_from_db()
    customer_update_contact(
        actor=agent,
        customer_id=customer.pk,
        expected_version=customer.version,
        reason="New address by phone",
        email="philippa.new@example.co.uk",
    )
    customer.refresh_from_db()
    assert customer.email_bounced_at is None


@pytest.mark.django_db
def test_a_soft_bounce_a_delivery_and_an_open_change_nothing(client, customer):
    response = deliver(
        client,
        [event("bounce", "e1", type="blocked"), event("delivered", "e2"), event("open", "e3"), event("deferred", "e4")],
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email_bounced_at is None
    assert nothing_recorded()


@pytest.mark.django_db
def test_an_unsubscribe_for_an_unknown_address_is_still_suppressed(client, customer):
    assert deliver(client, [event(email="Someone.Else@Example.org")]).status_code == 200
    assert EmailEvent.objects.get().outcome == EmailEvent.Outcome.UNKNOWN_ADDRESS
    assert SuppressionEntry.objects.filter(identifier_hash=identifier_hash("someone.else@example.org")).exists()
    assert not PreferenceChange.objects.exists()


@pytest.mark.django_db
def test_a_batch_acts_on_each_event_and_a_redelivered_batch_changes_nothing(client, customer):
    other = CustomerFactory(email="other@example.co.uk")
    batch = [event("spamreport", "a"), event("bounce", "b", email="other@example.co.uk", type="bounce")]
    assert deliver(client, batch).status_code == 200
    # Meanwhile the customer opts back in: the redelivered complaint must not undo it.
    preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.EMAIL,
        granted=True,
        source=PreferenceChange.Source.PHONE_CALL,
    )
    assert deliver(client, batch).status_code == 200
    assert EmailEvent.objects.count() == 2
    assert may_market(customer, Channel.EMAIL)
    other.refresh_from_db()
    assert other.email_bounced_at is not None
    assert other.history.filter(history_change_reason="Hard bounce reported by the email provider").count() == 1


@pytest.mark.django_db
def test_the_record_keeps_no_address(client, customer):
    deliver(client, [event("spamreport")])
    stored = " ".join(str(v) for v in EmailEvent.objects.values().get().values())
    stored += " ".join(str(v) for v in EmailEvent.history.values().get().values())
    assert "philippa" not in stored.lower() and "example" not in stored


# --- Refused ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unsigned_request_or_one_signed_with_another_key_is_refused_with_403(client, customer, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        assert deliver(client, [event()], signed=False).status_code == 403
        response = deliver(client, [event()], key=OTHER_KEY)
    assert response.status_code == 403
    assert response.json() == {"error": email_events.ERR_SIGNATURE}
    assert nothing_recorded()
    assert "sender=sendgrid reason=signature" in caplog.text
    assert EMAIL not in caplog.text


@pytest.mark.django_db
def test_a_body_changed_after_signing_is_refused(client, customer):
    body = json.dumps([event("delivered")]).encode()
    timestamp = str(int(time.time()))
    signature = sign(body, timestamp)
    tampered = json.dumps([event("spamreport")]).encode()
    response = client.post(
        URL,
        data=tampered,
        content_type="application/json",
        headers={email_events.SIGNATURE_HEADER: signature, email_events.TIMESTAMP_HEADER: timestamp},
    )
    assert response.status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_signature_moved_to_another_timestamp_is_refused(client, customer):
    body = json.dumps([event()]).encode()
    signature = sign(body, "1700000000")
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={email_events.SIGNATURE_HEADER: signature, email_events.TIMESTAMP_HEADER: "1700000001"},
    )
    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "not base64!", base64.b64encode(b"not a key").decode()])
def test_without_a_usable_verification_key_everything_is_refused(client, settings, customer, key):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = key
    assert deliver(client, [event()]).status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{broken", email_events.ERR_JSON),
        (b'{"event": "unsubscribe"}', email_events.ERR_JSON),
        (b'["unsubscribe"]', email_events.ERR_JSON),
        (
            json.dumps([event(), event("spamreport", email="not an address")]).encode(),
            email_events.ERR_EVENT_EMAIL.format(index=2),
        ),
        (json.dumps([event(email="")]).encode(), email_events.ERR_EVENT.format(index=1, field="email")),
        (json.dumps([event(event_id="")]).encode(), email_events.ERR_EVENT.format(index=1, field="sg_event_id")),
        (json.dumps([event(event_id=7)]).encode(), email_events.ERR_EVENT.format(index=1, field="sg_event_id")),
        (
            json.dumps([event(event_id="a\x00b")]).encode(),
            email_events.ERR_EVENT_NUL.format(index=1, field="sg_event_id"),
        ),
        (
            json.dumps([event(email="a\x00@example.org")]).encode(),
            email_events.ERR_EVENT_NUL.format(index=1, field="email"),
        ),
        (json.dumps([event(event_id="x" * 101)]).encode(), email_events.ERR_EVENT_LENGTH.format(index=1, max=100)),
    ],
    ids=[
        "broken",
        "object",
        "strings",
        "bad address in 2",
        "empty address",
        "no id",
        "numeric id",
        "NUL id",
        "NUL",
        "long",
    ],
)
def test_a_signed_but_malformed_batch_gets_400_naming_the_event_and_nothing_is_stored(client, customer, body, error):
    response = deliver(client, None, body=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_huge_body_is_refused_with_413(client, customer):
    body = json.dumps([event(event_id=f"e{i}", padding="x" * 1000) for i in range(1100)]).encode()
    response = deliver(client, None, body=body)
    assert response.status_code == 413
    assert nothing_recorded()


@pytest.mark.django_db
def test_get_is_refused_with_405(client):
    assert client.get(URL).status_code == 405


@pytest.mark.parametrize("age", [datetime.timedelta(days=5), -datetime.timedelta(minutes=10)])
def test_a_batch_signed_long_ago_or_in_the_future_is_refused(client, customer, age):
    """Hostile review (r16): the event records are deleted after their retention period, so a
    captured signed batch replayed months later would act again (opting out a customer who has
    agreed since). SendGrid retries for 72 hours: a timestamp older than that, or ahead of now,
    is refused."""
    body = json.dumps([event()]).encode()
    timestamp = str(int(time.time() - age.total_seconds()))
    headers = {email_events.TIMESTAMP_HEADER: timestamp, email_events.SIGNATURE_HEADER: sign(body, timestamp)}
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert not EmailEvent.objects.exists()
