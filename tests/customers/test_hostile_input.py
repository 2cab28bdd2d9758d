"""Hostile input on the customer side (issue 12): dates at the ends of the calendar in every
import, NUL characters in webhook bodies, numbers from abroad, and STOP as any word of an SMS."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Disclosure, InboundSms, PreferenceChange, Purchase
from customers.services import sms
from customers.services.disclosure_import import DISCLOSURE_HEADER, disclosure_import
from customers.services.imports import PREFERENCE_HEADER, ImportRejected, preference_import
from customers.services.purchases import PURCHASE_HEADER, purchase_import
from privacy_portal import bounds
from tests.factories import CustomerFactory, RecipientFactory
from tests.fixtures.sms_gateway import deliver, stop

TOO_EARLY = bounds.ERR_TOO_EARLY.format(earliest=bounds.EARLIEST_DATE, why=bounds.WHY_RECORDS)

pytestmark = pytest.mark.django_db

CALENDAR_ENDS = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31",
    "1996-12-31T23:00",
]


def csv_upload(header: tuple[str, ...], *rows: dict[str, str], name: str = "file.csv") -> SimpleUploadedFile:
    lines = [",".join(header), *(",".join(row.get(col, "") for col in header) for row in rows)]
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(), content_type="text/csv")


def errors_of(service, actor, upload) -> list[str]:
    with pytest.raises(ImportRejected) as info:
        service(actor=actor, file=io.BytesIO(upload.read()), name=upload.name)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_a_preference_import_refuses_a_date_outside_the_companys_records_naming_the_column(dpo, when):
    customer = CustomerFactory()
    row = {
        "customer_reference": customer.reference,
        "purpose": "direct_marketing",
        "channel": "email",
        "action": "opt_out",
        "source": "letter",
        "received_at": when,
    }
    errors = errors_of(preference_import, dpo, csv_upload(PREFERENCE_HEADER, row))
    assert len(errors) == 1
    assert errors[0].startswith("Line 2, column received_at: Enter a date")
    assert not PreferenceChange.objects.exists()


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_a_disclosure_import_refuses_a_date_outside_the_companys_records_naming_the_column(dpo, when):
    customer, courier = CustomerFactory(), RecipientFactory(code="courier")
    row = {
        "recipient": courier.code,
        "recipient_reference": "CONS-1",
        "customer_reference": customer.reference,
        "disclosed_at": when,
        "data_categories": "identity;contact",
        "purpose": "order_delivery",
        "lawful_basis": "contract",
        "sensitive": "no",
    }
    errors = errors_of(disclosure_import, dpo, csv_upload(DISCLOSURE_HEADER, row))
    assert errors and all(e.startswith("Line 2, column disclosed_at: Enter a date") for e in errors)
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("when", ["0001-01-01", "1996-12-31"])
def test_a_purchase_import_refuses_an_order_date_before_the_companys_records(dpo, when):
    customer = CustomerFactory()
    row = {
        "order_ref": "ORD-1",
        "customer_reference": customer.reference,
        "ordered_on": when,
        "description": "Sovereign",
        "quantity": "1",
        "amount": "100.00",
    }
    errors = errors_of(purchase_import, dpo, csv_upload(PURCHASE_HEADER, row))
    assert f"Line 2, column ordered_on: {TOO_EARLY}" in errors[0]
    assert not Purchase.objects.exists()


def test_the_import_pages_answer_a_year_0001_date_with_the_problem_not_a_server_error(client_for, dpo):
    customer = CustomerFactory()
    row = {
        "customer_reference": customer.reference,
        "purpose": "direct_marketing",
        "channel": "email",
        "action": "opt_out",
        "source": "letter",
        "received_at": "0001-01-01T00:00:00+01:00",
    }
    response = client_for(dpo).post(
        reverse("customers:import_preferences"), {"file": csv_upload(PREFERENCE_HEADER, row)}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"<code>received_at</code></td><td>{TOO_EARLY}" in body
    assert not PreferenceChange.objects.exists()


# --- The SMS webhook -------------------------------------------------------------------------------


@pytest.fixture
def _sms_secret(settings):
    settings.SMS_WEBHOOK_SECRET = "test-sms-webhook-secret-of-a-decent-length"


@pytest.mark.usefixtures("_sms_secret")
@pytest.mark.parametrize("field", ["message_id", "from"])
def test_a_signed_sms_with_a_nul_character_is_refused_naming_the_field(client, field):
    CustomerFactory(phone="+447400123456")
    payload = stop()
    payload[field] = payload[field][:3] + "\x00" + payload[field][3:]
    response = deliver(client, payload)
    assert response.status_code == 400
    assert f"'{field}'" in response.json()["error"]
    assert not InboundSms.objects.exists()


@pytest.mark.usefixtures("_sms_secret")
def test_a_nul_character_in_the_text_of_a_stop_still_opts_out(client):
    customer = CustomerFactory(phone="+447400123456")
    response = deliver(client, stop(text="ST\x00OP"))
    assert response.status_code == 200
    assert PreferenceChange.objects.get(customer=customer).granted is False


def test_the_raw_body_of_a_nul_escape_reaches_the_parser_as_a_nul():
    # What the gateway sends is JSON text: \\u0000 is how a NUL travels in it.
    body = json.dumps(stop(message_id="msg\x00-1")).encode()
    assert b"\\u0000" in body
    with pytest.raises(Exception, match="message_id"):
        sms.inbound_parse(body)


def test_the_bounds_rule_refuses_dates_at_both_ends_and_keeps_todays():
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    bounds.check_date(timezone.localdate())
    bounds.check_date(bounds.EARLIEST_DATE)
    bounds.check_date(bounds.latest_date())
    for bad in (bounds.EARLIEST_DATE.replace(year=1996), bounds.latest_date().replace(year=9999)):
        with pytest.raises(ValidationError):
            bounds.check_date(bad)
    bounds.check_birth_date(bounds.EARLIEST_BIRTH_DATE)
    with pytest.raises(ValidationError, match="date of birth"):
        bounds.check_birth_date(bounds.EARLIEST_BIRTH_DATE.replace(year=1899))


# --- The notice version: one rule for the page and the import -------------------------------------


def test_the_preference_import_refuses_a_notice_version_not_in_the_archive_as_the_page_does(client_for, dpo, agent):
    from customers.services.preferences import ERR_NOTICE_VERSION

    customer = CustomerFactory()
    row = {
        "customer_reference": customer.reference,
        "purpose": "direct_marketing",
        "channel": "email",
        "action": "opt_out",
        "source": "letter",
        "received_at": "2026-03-03",
        "notice_version": "1999-01",
    }
    errors = errors_of(preference_import, dpo, csv_upload(PREFERENCE_HEADER, row))
    message = ERR_NOTICE_VERSION.format(version="1999-01")
    assert errors == [f"Line 2, column notice_version: {message}"]
    page = client_for(agent).post(
        reverse("customers:record_preference", args=[customer.pk]),
        {
            "preference": "direct_marketing:email",
            "action": "opt_out",
            "source": "letter",
            "received_at": "03/03/2026 10:00",
            "notice_version": "1999-01",
        },
    )
    assert page.context["form"].errors["notice_version"] == [message]
    assert not PreferenceChange.objects.exists()


def test_the_preference_import_accepts_the_archived_notice_version_with_one_query_for_all_rows(
    dpo, django_assert_max_num_queries
):
    from privacy_portal.models import PrivacyNoticeVersion

    label = PrivacyNoticeVersion.objects.get().label
    customers = CustomerFactory.create_batch(5)
    rows = [
        {
            "customer_reference": c.reference,
            "purpose": "direct_marketing",
            "channel": "email",
            "action": "opt_out",
            "source": "letter",
            "received_at": "2026-03-03",
            "notice_version": label,
        }
        for c in customers
    ]
    upload = csv_upload(PREFERENCE_HEADER, *rows)
    result = preference_import(actor=dpo, file=io.BytesIO(upload.read()), name=upload.name)
    assert result.created == 5
    assert set(PreferenceChange.objects.values_list("notice_version", flat=True)) == {label}


# --- SMS: STOP as any word ------------------------------------------------------------------------


@pytest.mark.usefixtures("_sms_secret")
@pytest.mark.parametrize(
    "text",
    ["Please stop", "please STOP texting me", "Can you stop these?", "I said stop.", "unsubscribe me", "S T O P",
     "Don't text me, STOP", "Stop.Now"],
)  # fmt: skip
def test_stop_as_any_word_of_an_sms_is_an_opt_out(client, text):
    customer = CustomerFactory(phone="+447400123456")
    assert deliver(client, stop(text=text)).status_code == 200
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.OPTED_OUT
    assert PreferenceChange.objects.get(customer=customer).granted is False


# --- Phone numbers: international accepted, extensions refused, labelled truthfully ------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+33 1 23 45 67 89", "+33123456789"),
        ("0033 1 23 45 67 89", "+33123456789"),
        ("+353 1 234 5678", "+35312345678"),
        ("+1 650 253 0000", "+16502530000"),
        ("07911 123456", "+447911123456"),
    ],
)
def test_a_customers_number_from_abroad_is_accepted_and_stored_in_e164(agent, typed, stored):
    from customers.services.customers import customer_update_contact

    customer = CustomerFactory()
    customer_update_contact(actor=agent, customer_id=customer.pk, expected_version=1, reason="Call", phone=typed)
    customer.refresh_from_db()
    assert customer.phone == stored


def test_a_number_with_an_extension_is_refused_with_a_message_not_silently_cut(client_for, agent):
    from customers.services.normalise import ERR_PHONE_EXTENSION

    customer = CustomerFactory(phone="+442079460000")
    data = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": "020 7946 0001 ext. 123",
        "reason": "Call",
        "version": customer.version,
    }
    response = client_for(agent).post(reverse("customers:edit", args=[customer.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [ERR_PHONE_EXTENSION]
    customer.refresh_from_db()
    assert customer.phone == "+442079460000"


def test_the_phone_field_says_it_takes_numbers_from_abroad(client_for, agent):
    customer = CustomerFactory()
    body = client_for(agent).get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert "Any UK format" not in body
    assert "from abroad with its country code" in body
