"""The unsubscribe link: signed per customer and channel, public, idempotent, no personal data."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from customers.models import Channel, Customer, PreferenceChange, Purpose, SuppressionEntry
from customers.services.preferences import may_market, preference_record
from customers.services.suppression import channel_identifier, identifier_hash
from customers.services.unsubscribe import (
    ERR_EXPIRED,
    ERR_GONE,
    ERR_INVALID,
    PROMISE,
    SALT,
    UnsubscribeLinkError,
    unsubscribe_target,
    unsubscribe_token,
    unsubscribe_url,
)
from privacy_portal import legal
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


@pytest.fixture
def customer() -> Customer:
    # Distinctive values, so that finding them on a page cannot be a coincidence.
    return CustomerFactory(
        title="Dr",
        first_name="Philippa",
        last_name="Quarrington",
        email="philippa.quarrington@example.co.uk",
        phone="+447400123456",
        address_line1="17 Wexcombe Lane",
        postcode="SW1A 1AA",
    )


def _token_made_days_ago(monkeypatch, customer, channel, days: float) -> str:
    now = time.time()
    with monkeypatch.context() as m:
        m.setattr(signing.time, "time", lambda: now - days * DAY)
        return unsubscribe_token(customer, channel)


def _changes(customer) -> int:
    return PreferenceChange.objects.filter(customer=customer).count()


# --- The token ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", Channel.values)
def test_a_token_leads_back_to_its_customer_and_channel(customer, channel):
    target = unsubscribe_target(unsubscribe_token(customer, channel))
    assert (target.customer.pk, target.channel) == (customer.pk, channel)


def test_tokens_differ_for_each_customer_and_channel(customer):
    other = CustomerFactory()
    tokens = {unsubscribe_token(c, ch) for c in (customer, other) for ch in Channel.values}
    assert len(tokens) == 2 * len(Channel.values)


def test_the_token_carries_no_personal_value(customer):
    token = unsubscribe_token(customer, Channel.EMAIL)
    payload = signing.TimestampSigner(salt=SALT).unsign_object(token)
    assert payload == [customer.pk, "email"]
    for value in (customer.email, customer.first_name, customer.last_name, customer.phone):
        assert value.lower() not in token.lower()


def test_a_token_signed_for_another_purpose_is_refused(customer):
    # Same key, different salt: a value signed elsewhere in the project cannot be used as a link.
    token = signing.TimestampSigner(salt="some.other.purpose").sign_object([customer.pk, "email"])
    with pytest.raises(UnsubscribeLinkError) as exc:
        unsubscribe_target(token)
    assert (exc.value.message, exc.value.status) == (ERR_INVALID, 400)


def test_an_unknown_channel_gets_no_token(customer):
    with pytest.raises(ValueError):
        unsubscribe_token(customer, "fax")


def test_the_url_is_the_public_unsubscribe_page(customer):
    url = unsubscribe_url(customer, Channel.EMAIL)
    assert url.startswith("/p/unsubscribe/")
    match = resolve(url)
    assert match.view_name == "public:unsubscribe"
    # The token is timestamped (it expires), so one signed a second later differs: the URL's token
    # is checked by what it reads back to, the customer and the channel.
    target = unsubscribe_target(match.kwargs["token"])
    assert (target.customer.pk, target.channel) == (customer.pk, Channel.EMAIL)


# --- The page ----------------------------------------------------------------------------


def test_the_page_offers_a_plain_form_button_and_records_nothing_yet(client, customer):
    response = client.get(unsubscribe_url(customer, Channel.EMAIL))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unsubscribe from marketing by email" in html
    # Works without JavaScript: a plain form POST to the same address with a submit button.
    assert '<form method="post">' in html
    assert '<button type="submit"' in html
    assert _changes(customer) == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_page_shows_no_personal_data(client, customer, method):
    response = getattr(client, method)(unsubscribe_url(customer, Channel.EMAIL))
    assert response.status_code == 200
    html = response.content.decode().lower()
    for value in (
        customer.first_name,
        customer.last_name,
        customer.email,
        customer.email.split("@")[0],
        customer.phone,
        "07400 123456",
        customer.address_line1,
        customer.postcode,
        customer.reference,
    ):
        assert value.lower() not in html, value


def test_unsubscribing_records_the_withdrawal_with_its_source_and_deadline(client, customer):
    response = client.post(unsubscribe_url(customer, Channel.EMAIL))
    assert response.status_code == 200
    change = PreferenceChange.objects.get(customer=customer)
    assert (change.purpose, change.channel, change.granted) == (Purpose.DIRECT_MARKETING, Channel.EMAIL, False)
    assert change.source == PreferenceChange.Source.UNSUBSCRIBE_LINK
    assert change.recorded_by is None
    assert change.takes_effect_by == timezone.localdate() + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL)
    html = response.content.decode()
    assert f"within {legal.OPT_OUT_DAYS_EMAIL} days" in html
    assert change.takes_effect_by.strftime("%-d %B %Y") in html


def test_unsubscribing_withdraws_an_earlier_opt_in(client, customer):
    preference_record(
        actor=None,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.EMAIL,
        granted=True,
        source=PreferenceChange.Source.ACCOUNT_PAGE,
        received_at=timezone.now() - datetime.timedelta(days=30),
    )
    assert may_market(customer, Channel.EMAIL)
    client.post(unsubscribe_url(customer, Channel.EMAIL))
    assert not may_market(customer, Channel.EMAIL)
    assert _changes(customer) == 2


def test_unsubscribing_adds_the_email_to_the_suppression_list(client, customer):
    assert not SuppressionEntry.objects.exists()
    client.post(unsubscribe_url(customer, Channel.EMAIL))
    entry = SuppressionEntry.objects.get()
    assert entry.channel == Channel.EMAIL
    assert entry.identifier_hash == identifier_hash(customer.email)
    assert entry.reason == SuppressionEntry.Reason.OPTED_OUT


def test_unsubscribing_twice_records_one_change_and_shows_the_same_confirmation(client, customer):
    url = unsubscribe_url(customer, Channel.EMAIL)
    first = client.post(url)
    second = client.post(url)
    assert first.status_code == second.status_code == 200
    assert _changes(customer) == 1
    assert SuppressionEntry.objects.count() == 1
    assert first.content == second.content


@pytest.mark.parametrize("channel", Channel.values)
def test_a_token_works_for_every_channel_with_that_channels_deadline(client, customer, channel):
    response = client.post(unsubscribe_url(customer, channel))
    assert response.status_code == 200
    change = PreferenceChange.objects.get(customer=customer)
    assert change.channel == channel
    assert PROMISE[channel] in response.content.decode()
    assert SuppressionEntry.objects.filter(
        channel=channel, identifier_hash=identifier_hash(channel_identifier(customer, channel))
    ).exists()


def test_the_post_deadline_is_weeks_not_days(customer):
    assert PROMISE[Channel.POST] == f"within {legal.OPT_OUT_WEEKS_POST} weeks"


def test_a_one_click_post_from_a_mail_provider_needs_no_csrf_token(customer):
    # RFC 8058: the provider POSTs "List-Unsubscribe=One-Click" with no cookie and no token.
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(
        unsubscribe_url(customer, Channel.EMAIL),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _changes(customer) == 1


@pytest.mark.parametrize(
    "body", ["List-Unsubscribe=Nope", "List-Unsubscribe=%00", "List-Unsubscribe=One-Click&List-Unsubscribe=x"]
)
def test_a_post_with_any_other_one_click_value_is_refused_and_records_nothing(client, customer, body):
    response = client.post(
        unsubscribe_url(customer, Channel.EMAIL), data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "List-Unsubscribe" in response.content.decode()
    assert _changes(customer) == 0


def test_the_pages_are_not_cached(client, customer):
    response = client.get(unsubscribe_url(customer, Channel.EMAIL))
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(client, customer, method):
    response = getattr(client, method)(unsubscribe_url(customer, Channel.EMAIL))
    assert response.status_code == 405
    assert _changes(customer) == 0


@pytest.mark.parametrize(
    "role", ["anonymous", "agent", "handler", "other_handler", "dpo", "auditor", "itadmin", "nobody"]
)
def test_anyone_can_use_the_link_signed_in_or_not(request, client, client_for, customer, role):
    browser = client if role == "anonymous" else client_for(request.getfixturevalue(role))
    url = unsubscribe_url(customer, Channel.EMAIL)
    assert browser.get(url).status_code == 200
    assert browser.post(url).status_code == 200
    assert PreferenceChange.objects.get(customer=customer).recorded_by is None


# --- Links that do not work --------------------------------------------------------------


def _tampered(customer) -> dict[str, str]:
    good = unsubscribe_token(customer, Channel.EMAIL)
    other = unsubscribe_token(CustomerFactory(), Channel.EMAIL)
    sms = unsubscribe_token(customer, Channel.SMS)
    payload, stamp, signature = good.split(":")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    return {
        "signature changed": f"{payload}:{stamp}:{flipped}",
        "another customer's signature": f"{payload}:{stamp}:{other.split(':')[2]}",
        "channel swapped": f"{sms.split(':')[0]}:{stamp}:{signature}",
        "signature cut off": f"{payload}:{stamp}",
        "truncated": good[:-5],
        "garbage": "not-a-token",
        "unsigned payload": payload,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "signature changed",
        "another customer's signature",
        "channel swapped",
        "signature cut off",
        "truncated",
        "garbage",
        "unsigned payload",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_or_malformed_link_gets_a_friendly_400_and_changes_nothing(client, customer, kind, method):
    token = _tampered(customer)[kind]
    response = getattr(client, method)(f"/p/unsubscribe/{token}/")
    assert response.status_code == 400
    html = response.content.decode()
    assert ERR_INVALID in html
    assert "Nothing has been changed" in html
    assert "<form" not in html.split("<main", 1)[1]
    assert PreferenceChange.objects.count() == 0
    assert SuppressionEntry.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_gets_a_friendly_400_and_changes_nothing(client, monkeypatch, customer, method):
    token = _token_made_days_ago(monkeypatch, customer, Channel.EMAIL, legal.UNSUBSCRIBE_LINK_MAX_AGE_DAYS + 1)
    response = getattr(client, method)(f"/p/unsubscribe/{token}/")
    assert response.status_code == 400
    assert ERR_EXPIRED in response.content.decode()
    assert _changes(customer) == 0
    assert SuppressionEntry.objects.count() == 0


def test_a_link_just_younger_than_the_limit_still_works(client, monkeypatch, customer):
    token = _token_made_days_ago(monkeypatch, customer, Channel.EMAIL, legal.UNSUBSCRIBE_LINK_MAX_AGE_DAYS - 1)
    response = client.post(f"/p/unsubscribe/{token}/")
    assert response.status_code == 200
    assert _changes(customer) == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_erased_customers_link_gets_a_friendly_404_and_records_nothing(client, customer, method):
    url = unsubscribe_url(customer, Channel.EMAIL)
    customer.erased_at = timezone.now()
    customer.save()
    response = getattr(client, method)(url)
    assert response.status_code == 404
    assert ERR_GONE in response.content.decode()
    assert _changes(customer) == 0
    assert SuppressionEntry.objects.count() == 0


def test_a_deleted_customers_link_gets_a_friendly_404(client, customer):
    url = unsubscribe_url(customer, Channel.EMAIL)
    customer.delete()
    response = client.post(url)
    assert response.status_code == 404
    assert ERR_GONE in response.content.decode()
    assert PreferenceChange.objects.count() == 0


def test_a_one_click_unsubscribe_is_recorded_as_such_and_due_within_two_days(customer):
    Client().post(
        unsubscribe_url(customer, Channel.EMAIL),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    change = PreferenceChange.objects.get(customer=customer)
    assert change.source == PreferenceChange.Source.ONE_CLICK
    received = timezone.localtime(change.received_at).date()
    assert change.takes_effect_by == received + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK)
    assert legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK < legal.OPT_OUT_DAYS_EMAIL


def test_the_pages_own_button_is_the_unsubscribe_link_held_to_the_notices_seven_days(client, customer):
    client.post(unsubscribe_url(customer, Channel.EMAIL))
    change = PreferenceChange.objects.get(customer=customer)
    assert change.source == PreferenceChange.Source.UNSUBSCRIBE_LINK
    received = timezone.localtime(change.received_at).date()
    assert change.takes_effect_by == received + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL)
