"""Marketing preferences: evidence, take-effect deadlines per channel, objection, restriction."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Channel, PreferenceChange, Purpose, SuppressionEntry
from customers.services import preferences as svc
from customers.services.suppression import channel_identifier, identifier_hash, is_suppressed
from privacy_portal import legal
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
Source = PreferenceChange.Source


def at(y, m, d, h=10):
    return datetime.datetime(y, m, d, h, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (Channel.EMAIL, datetime.date(2026, 3, 10)),
        (Channel.SMS, datetime.date(2026, 3, 10)),
        (Channel.PHONE, datetime.date(2026, 3, 10)),
        (Channel.POST, datetime.date(2026, 4, 14)),
    ],
)
def test_each_channel_has_its_own_opt_out_deadline(channel, expected):
    received = at(2026, 3, 3)
    assert (
        svc.take_effect_by(purpose=Purpose.DIRECT_MARKETING, channel=channel, granted=False, received_at=received)
        == expected
    )


def test_the_deadlines_come_from_the_named_legal_figures():
    received = at(2026, 3, 3)
    email = svc.take_effect_by(purpose="direct_marketing", channel="email", granted=False, received_at=received)
    post = svc.take_effect_by(purpose="direct_marketing", channel="post", granted=False, received_at=received)
    assert (email - received.date()).days == legal.OPT_OUT_DAYS_EMAIL
    assert (post - received.date()).days == legal.OPT_OUT_WEEKS_POST * 7


def test_the_deadline_counts_from_the_london_date_received():
    # 23:30 UTC on 31 March is 00:30 on 1 April in London (BST).
    received = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=datetime.UTC)
    assert svc.take_effect_by(
        purpose="direct_marketing", channel="email", granted=False, received_at=received
    ) == datetime.date(2026, 4, 8)


def test_opt_ins_take_effect_at_once():
    received = at(2026, 3, 3)
    assert (
        svc.take_effect_by(purpose="direct_marketing", channel="post", granted=True, received_at=received)
        == received.date()
    )


def test_recording_an_opt_out_keeps_the_evidence_and_suppresses_the_channel(agent):
    customer = CustomerFactory()
    change, created = svc.preference_record(
        actor=agent,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.POST,
        granted=False,
        source=Source.PHONE_CALL,
        evidence="Call ref 123",
        notice_version="2026-06",
    )
    assert created
    assert (change.source, change.evidence, change.notice_version, change.recorded_by) == (
        Source.PHONE_CALL,
        "Call ref 123",
        "2026-06",
        agent,
    )
    assert change.takes_effect_by == timezone.localdate() + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    assert is_suppressed(channel=Channel.POST, identifier=channel_identifier(customer, Channel.POST))
    assert not is_suppressed(channel=Channel.EMAIL, identifier=customer.email)
    assert change.history.first().history_user == agent


def test_repeating_an_opt_out_records_nothing_and_keeps_the_first_deadline(agent):
    customer = CustomerFactory()
    first, _ = svc.preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=False,
        source=Source.EMAIL, received_at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    again, created = svc.preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=False, source=Source.EMAIL
    )
    assert not created
    assert again.pk == first.pk
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


def test_sensitive_sharing_never_defaults_to_yes():
    customer = CustomerFactory()
    states = {(s.purpose, s.channel): s for s in svc.preference_states(customer)}
    assert states[(Purpose.SENSITIVE_SHARING, "")].granted is False
    assert all(not s.granted for s in states.values())


@pytest.mark.parametrize(
    ("purpose", "channel", "field"),
    [
        ("direct_marketing", "fax", "channel"),
        ("direct_marketing", "", "channel"),
        ("profiling", "", "purpose"),
        ("personalised_ads", "email", "channel"),
    ],
)
def test_an_unknown_channel_or_purpose_is_refused_naming_the_field(agent, purpose, channel, field):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as exc:
        svc.preference_record(
            actor=agent, customer=customer, purpose=purpose, channel=channel, granted=False, source=Source.EMAIL
        )
    assert field in exc.value.error_dict
    assert not PreferenceChange.objects.exists()


def test_a_change_received_in_the_future_is_refused(agent):
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_FUTURE)):
        svc.preference_record(
            actor=agent, customer=CustomerFactory(), purpose="direct_marketing", channel="sms", granted=True,
            source=Source.PHONE_CALL, received_at=timezone.now() + datetime.timedelta(days=1),
        )  # fmt: skip


def test_an_objection_withdraws_every_marketing_purpose_on_every_channel_at_once(agent):
    customer = CustomerFactory()
    for channel in Channel.values:
        svc.preference_record(
            actor=agent, customer=customer, purpose="direct_marketing", channel=channel, granted=True,
            source=Source.ACCOUNT_PAGE, received_at=timezone.now() - datetime.timedelta(days=30),
        )  # fmt: skip
    svc.preference_record(
        actor=agent, customer=customer, purpose="personalised_ads", granted=True, source=Source.ACCOUNT_PAGE,
        received_at=timezone.now() - datetime.timedelta(days=30),
    )  # fmt: skip
    svc.customer_object_to_marketing(actor=agent, customer=customer, source=Source.LETTER)
    customer.refresh_from_db()
    assert customer.marketing_objected and customer.objected_at
    states = {(s.purpose, s.channel): s.granted for s in svc.preference_states(customer)}
    assert not any(v for (p, _), v in states.items() if p in svc.MARKETING_PURPOSES)
    for channel in Channel.values:
        assert not svc.may_market(customer, channel)
        assert is_suppressed(channel=channel, identifier=channel_identifier(customer, channel))
    assert customer.history.first().history_change_reason == "Objection to direct marketing (Art 21)"


def test_after_an_objection_no_marketing_opt_in_can_be_recorded(agent):
    customer = CustomerFactory()
    svc.customer_object_to_marketing(actor=agent, customer=customer, source=Source.LETTER)
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_OBJECTED)):
        svc.preference_record(
            actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=True,
            source=Source.PHONE_CALL,
        )  # fmt: skip


def test_a_restricted_customer_is_never_marketed_to(agent):
    customer = CustomerFactory()
    svc.preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=True,
        source=Source.ACCOUNT_PAGE, received_at=timezone.now() - datetime.timedelta(days=1),
    )  # fmt: skip
    assert svc.may_market(customer, "email")
    customer.processing_restricted = True
    customer.restricted_at = timezone.now()
    customer.save()
    assert not svc.may_market(customer, "email")
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_RESTRICTED)):
        svc.preference_record(
            actor=agent, customer=customer, purpose="direct_marketing", channel="sms", granted=True,
            source=Source.PHONE_CALL,
        )  # fmt: skip


def test_suppression_survives_erasure_of_the_hash_source(agent):
    customer = CustomerFactory(email="ann.lee@example.co.uk")
    svc.preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=False, source=Source.EMAIL
    )
    customer.delete()  # the harshest erasure: the source row is gone
    entry = SuppressionEntry.objects.get(channel="email")
    assert entry.identifier_hash == identifier_hash("ann.lee@example.co.uk")
    assert "ann.lee" not in entry.identifier_hash
    assert is_suppressed(channel="email", identifier="ann.lee@example.co.uk")


def test_the_hash_is_keyed(settings):
    plain = identifier_hash("ann.lee@example.co.uk")
    settings.SUPPRESSION_HASH_KEY = "another-installation"
    assert identifier_hash("ann.lee@example.co.uk") != plain
