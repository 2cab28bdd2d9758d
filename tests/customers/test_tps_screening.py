"""Screening a number for a marketing call: the TPS/CTPS, the 28-day rule, reg 21(4), our own
do-not-call list; on the desk, for a campaign's call list and for the dialler."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import CampaignScreening, Channel, Purpose, SuppressionEntry, TpsRegister
from customers.services.dialler import dialler_token_create, dialler_token_revoke
from customers.services.preferences import customer_object_to_marketing, preference_record
from customers.services.screening import screen_customer, screen_number
from customers.services.suppression import suppression_add
from privacy_portal import legal
from privacy_portal.models import AccessEvent
from tests.customers.tps_files import load, plain
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LISTED = "+441635506160"  # on the first file: listed since before it
NEW = "+447860338653"  # added by a change file 10 days ago
FREE = "+447911123456"  # on no register
CTPS_DATE = TODAY - datetime.timedelta(days=5)


@pytest.fixture
def registers(dpo):
    base = TODAY - datetime.timedelta(days=40)
    load(dpo, plain("01635506160"), plain("02073787244"), on=base)
    load(dpo, plain("07860338653"), kind="additions", on=TODAY - datetime.timedelta(days=10), name="add.txt")
    load(dpo, plain("01134960000"), register=TpsRegister.CTPS, on=CTPS_DATE, name="ctps.txt")
    return base


def opt_in_to_calls(actor, customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.PHONE, granted=True):
    return preference_record(actor=actor, customer=customer, purpose=purpose, channel=channel if purpose ==
                             Purpose.DIRECT_MARKETING else "", granted=granted, source="phone_call",
                             evidence="Call 2026-11-30")  # fmt: skip


def codes(result):
    return [r.code for r in result.reasons]


def test_a_number_on_the_first_file_is_blocked_as_listed_since_before_it(registers):
    result = screen_number("01635 506160")
    assert not result.allowed
    assert codes(result)[0] == "tps_listed"
    assert result.listed_text == f"TPS-listed since before {registers:%-d %B %Y}"


def test_a_number_listed_less_than_28_days_ago_may_be_called_until_the_28th_day(registers, agent):
    customer = CustomerFactory(phone=NEW)
    opt_in_to_calls(agent, customer)
    result = screen_number(NEW)
    assert result.allowed, result.because
    assert result.listed_since == TODAY - datetime.timedelta(days=10)
    until = result.listed_since + datetime.timedelta(days=legal.TPS_LISTED_GRACE_DAYS - 1)
    assert f"callable until {until:%-d %B %Y}" in result.because


def test_the_28_day_rule_blocks_on_the_28th_day(registers, agent, dpo):
    load(dpo, plain("07911000456"), kind="additions", on=TODAY - datetime.timedelta(days=legal.TPS_LISTED_GRACE_DAYS),
         name="add-old.txt")  # fmt: skip
    customer = CustomerFactory(phone="+447911000456")
    opt_in_to_calls(agent, customer)
    assert codes(screen_number("+447911000456"))[0] == "tps_listed"


def test_a_ctps_listed_number_is_blocked(registers):
    result = screen_number("0113 496 0000")
    assert "tps_listed" in codes(result)
    assert result.listed_text.startswith("CTPS-listed")


def test_reg_21_4_notification_clears_a_listed_number_until_withdrawn(registers, agent):
    customer = CustomerFactory(phone=LISTED)
    opt_in_to_calls(agent, customer)
    assert not screen_number(LISTED).allowed
    opt_in_to_calls(agent, customer, purpose=Purpose.CALLS_DESPITE_TPS)
    result = screen_number(LISTED)
    assert result.allowed
    assert "do not object to our calls (reg 21(4))" in result.because
    opt_in_to_calls(agent, customer, purpose=Purpose.CALLS_DESPITE_TPS, granted=False)
    assert not screen_number(LISTED).allowed


def test_an_objection_withdraws_the_reg_21_4_notification_too(registers, agent):
    customer = CustomerFactory(phone=LISTED)
    opt_in_to_calls(agent, customer)
    opt_in_to_calls(agent, customer, purpose=Purpose.CALLS_DESPITE_TPS)
    customer_object_to_marketing(actor=agent, customer=customer, source="phone_call")
    result = screen_number(LISTED)
    assert not result.allowed
    assert {"tps_listed", "objected", "opted_out"} <= set(codes(result))


def test_a_number_on_no_register_is_cleared_only_with_the_customers_opt_in(registers, agent):
    customer = CustomerFactory(phone=FREE)
    assert codes(screen_number(FREE)) == ["not_listed", "no_consent"]
    opt_in_to_calls(agent, customer)
    assert screen_number(FREE).allowed
    opt_in_to_calls(agent, customer, granted=False)
    assert "opted_out" in codes(screen_number(FREE))


def test_a_prospects_number_on_no_register_is_cleared(registers):
    assert screen_number("07911 123457").allowed


def test_the_suppression_list_blocks_a_number_nobody_holds_any_more(registers):
    suppression_add(channel=Channel.PHONE, identifier="+447911123457", reason=SuppressionEntry.Reason.ERASED)
    assert "suppressed" in codes(screen_number("07911 123457"))


def test_a_non_uk_number_is_not_cleared_with_a_clear_reason(registers):
    result = screen_number("+33 1 23 45 67 89")
    assert not result.allowed
    assert codes(result) == ["not_uk"]
    assert "Not a UK number" in result.because


def test_without_a_loaded_file_nothing_is_cleared(db):
    result = screen_number("07911 123457")
    assert [c for c in codes(result) if c == "no_file"] == ["no_file", "no_file"]
    assert not result.allowed


def test_a_file_older_than_28_days_clears_nothing(dpo):
    old = TODAY - datetime.timedelta(days=legal.TPS_FILE_MAX_AGE_DAYS + 1)
    load(dpo, plain("01635506160"), on=old)
    load(dpo, plain("01134960000"), register=TpsRegister.CTPS, on=TODAY, name="ctps.txt")
    assert "stale_file" in codes(screen_number("07911 123457"))


def test_the_desk_shows_do_not_call_beside_each_number(client_for, agent, registers):
    customer = CustomerFactory(phone=LISTED)
    page = client_for(agent).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f"Do not call: TPS-listed since before {registers:%-d %B %Y}" in page
    assert "01635 506160" in page


def test_the_desk_screens_a_former_number_too(agent, registers):
    customer = CustomerFactory(phone=LISTED)
    customer.phone = FREE
    customer.save()
    assert [s.number for s in screen_customer(customer)] == [FREE, LISTED]


# --- the dialler's pre-dial check --------------------------------------------------------------


@pytest.fixture
def token(dpo):
    return dialler_token_create(actor=dpo, name="dialler-1")[1]


def dial(client, number, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(reverse("public:dialler_screen"), {"number": number}, **headers)


def test_the_dialler_gets_allowed_reasons_and_file_dates(client, registers, token):
    response = dial(client, "01635 506160", token)
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is False
    assert body["number"] == LISTED
    assert body["reasons"][0]["code"] == "tps_listed"
    assert body["tps_file_date"] == (TODAY - datetime.timedelta(days=10)).isoformat()
    assert body["ctps_file_date"] == CTPS_DATE.isoformat()
    assert dial(client, "07911 123457", token).json()["allowed"] is True


def test_the_dialler_is_refused_without_a_valid_token(client, registers, token, dpo):
    assert dial(client, LISTED).status_code == 401
    assert dial(client, LISTED, "not-the-token").status_code == 401
    dialler_token_revoke(actor=dpo, name="dialler-1")
    assert dial(client, LISTED, token).status_code == 401


def test_the_dialler_token_is_stored_hashed(dpo, token):
    from customers.models import DiallerToken

    stored = DiallerToken.objects.get()
    assert token not in stored.token_hash and len(stored.token_hash) == 64


def test_the_dialler_check_answers_get_only_and_needs_a_number(client, token):
    assert client.post(reverse("public:dialler_screen"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405
    assert dial(client, "", token).status_code == 400


def test_the_token_command_prints_a_token_that_works(client, dpo, registers):
    out = io.StringIO()
    call_command("dialler_token", "create", "dialler-2", "--user", dpo.username, stdout=out)
    assert dial(client, FREE, out.getvalue().split()[-1]).status_code == 200


# --- campaign screening ------------------------------------------------------------------------


def upload(text: str, name="list.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_dpo_screens_a_call_list_and_downloads_the_result(
    client_for, dpo, agent, registers, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(phone=FREE)
    opt_in_to_calls(agent, customer)
    listed = CustomerFactory(phone=LISTED)
    client = client_for(dpo)
    body = (
        f"customer_reference,phone\r\n{customer.reference},\r\n{listed.reference},\r\n"
        ",+33123456789\r\n,07911 123457\r\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:screenings"), {"file": upload(body)})
    record = CampaignScreening.objects.get()
    assert response.status_code == 302 and response.url == reverse("customers:screening", args=[record.pk])
    assert (record.rows, record.allowed, record.blocked) == (4, 2, 2)
    assert record.tps_file.file_date == TODAY - datetime.timedelta(days=10)
    download = client.get(reverse("customers:screening_download", args=[record.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r["allowed"] for r in rows] == ["allowed", "blocked", "blocked", "allowed"]
    assert rows[1]["reasons"].startswith("TPS-listed since before")
    assert "Not a UK number" in rows[2]["reasons"]
    assert rows[0]["tps_file_date"] == record.tps_file.file_date.isoformat()
    assert AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT, object_id=record.pk).exists()
    page = client.get(reverse("customers:screenings")).content.decode()
    assert "list.csv" in page and "Download CSV" in page


def test_a_call_list_with_a_bad_header_or_cell_is_refused_whole(client_for, dpo, registers):
    client = client_for(dpo)
    response = client.post(reverse("customers:screenings"), {"file": upload("number\r\n0770\r\n")})
    assert "The first line must be exactly" in response.content.decode()
    response = client.post(reverse("customers:screenings"), {"file": upload("phone\r\n0770=HYPERLINK()\r\n")})
    assert response.context["errors"][0].line == 2
    assert not CampaignScreening.objects.exists()


@pytest.mark.parametrize("role, status", [("agent", 403), ("auditor", 403), ("handler", 403), ("itadmin", 403),
                                          ("nobody", 403), ("dpo", 200)])  # fmt: skip
def test_only_the_dpo_screens_call_lists(client_for, cast, role, status):
    assert client_for(cast[role]).get(reverse("customers:screenings")).status_code == status


def test_the_screening_page_rejects_other_methods(client_for, dpo):
    assert client_for(dpo).put(reverse("customers:screenings")).status_code == 405
