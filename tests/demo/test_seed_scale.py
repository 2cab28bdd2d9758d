"""seed_scale: bulk customers with preferences, calls, purchases and history, in normalised form."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import Call, Customer, PreferenceChange, Purchase, Purpose, SuppressionEntry
from customers.services.normalise import format_phone, normalise_email, normalise_phone, normalise_postcode
from customers.services.preferences import take_effect_by
from customers.services.suppression import channel_identifier, is_suppressed
from demo.scale_customers import SEED_REASON
from privacy_portal.legal import MINIMUM_CUSTOMER_AGE_YEARS

pytestmark = pytest.mark.django_db

COUNT = 500


@pytest.fixture
def seeded():
    out = io.StringIO()
    call_command("seed_scale", customers=COUNT, seed=7, batch_size=200, stdout=out)
    return out.getvalue()


def test_it_adds_the_customers_with_preferences_calls_and_purchases_reporting_each_batch(seeded):
    assert Customer.objects.count() == COUNT
    assert PreferenceChange.objects.count() > COUNT / 10
    assert Call.objects.count() > 10 and Purchase.objects.count() > COUNT / 3
    assert SuppressionEntry.objects.exists()
    # batches of 200: 200, 400, 500
    assert [line.split(" customers")[0] for line in seeded.splitlines()[:3]] == ["200/500", "400/500", "500/500"]
    assert f"Added {COUNT} customers" in seeded


@pytest.mark.parametrize("model", [Customer, PreferenceChange, Call, Purchase, SuppressionEntry])
def test_every_seeded_row_has_its_creation_history_row(seeded, model):
    history = model.history.model.objects.all()
    assert Counter(history.values_list("id", flat=True)) == Counter(model.objects.values_list("id", flat=True))
    assert set(history.values_list("history_type", "history_change_reason", "history_user")) == {
        ("+", SEED_REASON, None)
    }


def test_a_history_row_holds_the_same_values_as_the_row(seeded):
    customer = Customer.objects.exclude(email="").exclude(phone="").first()
    record = customer.history.get()
    assert (record.first_name, record.email, record.phone, record.postcode) == (
        customer.first_name,
        customer.email,
        customer.phone,
        customer.postcode,
    )


def test_contact_details_are_stored_in_their_normalised_form(seeded):
    customers = list(Customer.objects.all())
    assert sum(1 for c in customers if c.phone) > COUNT * 0.6 and sum(1 for c in customers if c.email) > COUNT * 0.6
    for c in customers:
        assert not c.phone or normalise_phone(c.phone) == c.phone, c.phone
        assert not c.email or normalise_email(c.email) == c.email, c.email
        assert normalise_postcode(c.postcode) == c.postcode, c.postcode
        assert c.first_name and c.last_name and c.address_line1 and c.town


def test_names_are_varied_with_common_ones_more_frequent(seeded):
    surnames = Counter(Customer.objects.values_list("last_name", flat=True))
    assert len(surnames) > 150
    assert surnames.most_common(1)[0][1] >= 5  # a Smith or a Jones turns up again and again


def test_nobody_is_under_eighteen(seeded):
    adult = timezone.localdate() - relativedelta(years=MINIMUM_CUSTOMER_AGE_YEARS)
    births = Customer.objects.exclude(date_of_birth=None).values_list("date_of_birth", flat=True)
    assert len(births) > COUNT / 2 and max(births) <= adult


def test_preference_changes_follow_the_rules_of_the_service(seeded):
    changes = list(PreferenceChange.objects.select_related("customer"))
    assert {c.granted for c in changes} == {True, False}
    suppressed = 0
    for change in changes:
        expected = take_effect_by(
            purpose=change.purpose,
            channel=change.channel,
            granted=change.granted,
            received_at=change.received_at,
            source=change.source,
        )
        assert change.takes_effect_by == expected
        # Opt-outs of direct marketing are on the suppression list, as preference_record does
        # (an objection also withdraws channels the customer gave us no identifier for).
        identifier = channel_identifier(change.customer, change.channel) if change.channel else ""
        if not change.granted and change.purpose == Purpose.DIRECT_MARKETING and identifier:
            suppressed += 1
            assert is_suppressed(channel=change.channel, identifier=identifier)
        # Opt-outs past their deadline are already actioned: the list of missed deadlines starts realistic.
        if not change.granted and change.takes_effect_by < timezone.localdate():
            assert change.actioned_at is not None
    assert suppressed > 10


def test_calls_are_both_recent_and_past_the_retention_period(seeded):
    six_months_ago = timezone.now() - relativedelta(months=6)
    assert Call.objects.filter(started_at__gte=six_months_ago).exists()
    assert Call.objects.filter(started_at__lt=six_months_ago).exists()


def test_a_seeded_customer_is_found_by_typing_their_mobile_with_spaces(seeded, client_for, agent):
    customer = Customer.objects.exclude(phone="").order_by("-id").first()
    typed = format_phone(customer.phone)  # "07911 123456"
    assert " " in typed
    client = client_for(agent)
    response = client.get(reverse("customers:search"), {"q": typed})
    assert response.status_code == 200
    assert customer.get_absolute_url().encode() in response.content


def test_each_run_adds_more_and_the_same_seed_gives_the_same_people(seeded):
    call_command("seed_scale", customers=COUNT, seed=7, batch_size=200, stdout=io.StringIO())
    fields = ("first_name", "last_name", "email", "phone", "postcode")
    people = list(Customer.objects.order_by("id").values_list(*fields))
    assert len(people) == 2 * COUNT
    assert people[:COUNT] == people[COUNT:]
    assert Customer.history.count() == 2 * COUNT


def test_seed_scale_refuses_to_run_in_production(settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        call_command("seed_scale", customers=10, stdout=io.StringIO())
    assert not Customer.objects.exists()
