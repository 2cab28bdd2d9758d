"""Customer contact details: normalising, validation, reasons, and no lost updates."""

from __future__ import annotations

import datetime
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer
from customers.services import customers as svc
from customers.services.normalise import (
    ERR_EMAIL,
    ERR_PHONE,
    ERR_POSTCODE,
    format_phone,
    normalise_phone,
    normalise_postcode,
)
from privacy_portal.legal import MINIMUM_CUSTOMER_AGE_YEARS
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "written",
    ["07911 123456", "07911123456", "+44 7911 123456", "+44 (0)7911 123456", "0044 7911 123456", "(07911) 123-456"],
)
def test_any_uk_way_of_writing_a_mobile_is_stored_as_e164(written):
    assert normalise_phone(written) == "+447911123456"


def test_landlines_are_accepted_too():
    assert normalise_phone("020 7946 0000") == "+442079460000"
    assert format_phone("+442079460000") == "020 7946 0000"


@pytest.mark.parametrize("bad", ["12345", "0791112345", "not a number", "+44 1234", "07700 900123"])
def test_invalid_phone_numbers_are_refused(bad):
    # 07700 900xxx is Ofcom's range for TV drama: never assigned, so never a real customer's.
    with pytest.raises(ValidationError, match=re.escape(ERR_PHONE)):
        normalise_phone(bad)


@pytest.mark.parametrize(
    ("written", "stored"), [("sw1a1aa", "SW1A 1AA"), (" se5  9df ", "SE5 9DF"), ("M11AE", "M1 1AE")]
)
def test_postcodes_are_normalised(written, stored):
    assert normalise_postcode(written) == stored


def test_a_malformed_postcode_is_refused():
    with pytest.raises(ValidationError, match=ERR_POSTCODE):
        normalise_postcode("ABC 123")


def test_create_normalises_and_names_every_bad_field(agent):
    with pytest.raises(ValidationError) as exc:
        svc.customer_create(
            actor=agent, first_name="Ann", last_name="Lee", email="not-an-email", phone="123", postcode="XX"
        )
    assert set(exc.value.error_dict) == {"email", "phone", "postcode"}
    assert ERR_EMAIL in exc.value.error_dict["email"][0].messages
    assert not Customer.objects.exists()


def test_create_stores_normalised_values_with_history(agent):
    c = svc.customer_create(
        actor=agent, first_name=" Ann ", last_name="Lee", email="Ann.Lee@Example.CO.UK", phone="07911 123456"
    )
    c.refresh_from_db()
    assert (c.first_name, c.email, c.phone) == ("Ann", "ann.lee@example.co.uk", "+447911123456")
    assert c.reference == f"C-{c.pk:06d}"
    assert c.history.count() == 1
    assert c.history.first().history_user == agent


def test_a_date_of_birth_in_the_future_is_refused(agent):
    with pytest.raises(ValidationError, match=svc.ERR_DOB_FUTURE):
        svc.customer_create(
            actor=agent, first_name="A", last_name="B", date_of_birth=timezone.localdate() + datetime.timedelta(days=1)
        )


def test_an_under_18_is_refused_and_an_18th_birthday_today_is_accepted(agent):
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="at least 18"):
        svc.customer_create(
            actor=agent,
            first_name="A",
            last_name="B",
            date_of_birth=today - relativedelta(years=MINIMUM_CUSTOMER_AGE_YEARS) + datetime.timedelta(days=1),
        )
    ok = svc.customer_create(
        actor=agent,
        first_name="A",
        last_name="B",
        date_of_birth=today - relativedelta(years=MINIMUM_CUSTOMER_AGE_YEARS),
    )
    assert ok.pk


def test_editing_contact_details_needs_a_reason(agent):
    c = CustomerFactory()
    with pytest.raises(ValidationError, match="reason"):
        svc.customer_update_contact(actor=agent, customer_id=c.pk, expected_version=c.version, reason=" ", town="Leeds")


def test_an_edit_records_who_why_and_what_changed(agent):
    c = CustomerFactory(town="York")
    svc.customer_update_contact(
        actor=agent, customer_id=c.pk, expected_version=1, reason="Moved (phone call)", town="Leeds"
    )
    c.refresh_from_db()
    assert c.town == "Leeds"
    assert c.version == 2
    latest = c.history.first()
    assert latest.history_user == agent
    assert latest.history_change_reason == "Moved (phone call)"
    delta = latest.diff_against(latest.prev_record)
    assert [(ch.field, ch.old, ch.new) for ch in delta.changes if ch.field == "town"] == [("town", "York", "Leeds")]


def test_the_second_of_two_concurrent_edits_is_refused_showing_what_changed(agent, dpo):
    c = CustomerFactory(email="old@example.co.uk", town="York")
    # Both agents opened the form at version 1.
    svc.customer_update_contact(
        actor=dpo, customer_id=c.pk, expected_version=1, reason="New email (letter)", email="new@example.co.uk"
    )
    with pytest.raises(svc.StaleEditError) as exc:
        svc.customer_update_contact(actor=agent, customer_id=c.pk, expected_version=1, reason="Moved", town="Leeds")
    changes = exc.value.changes
    assert [(ch.field, ch.old, ch.new, ch.by) for ch in changes] == [
        ("email", "old@example.co.uk", "new@example.co.uk", str(dpo))
    ]
    c.refresh_from_db()
    assert (c.email, c.town, c.version) == ("new@example.co.uk", "York", 2)


def test_an_edit_that_changes_nothing_writes_no_history(agent):
    c = CustomerFactory(town="York")
    svc.customer_update_contact(actor=agent, customer_id=c.pk, expected_version=1, reason="Checked", town="York")
    assert c.history.count() == 1
