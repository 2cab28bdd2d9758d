"""Screening a number for a marketing call: the TPS/CTPS, the 28-day rule, reg 21(4), our own
do-not-call list; on the desk, for a campaign's call list and for the dialler."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import CampaignScreening, Channel, DiallerToken, Purpose, SuppressionEntry, TpsRegister
from customers.services.dialler import ERR_EXPIRED, ERR_REVOKED, dialler_token_create, dialler_token_revoke
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
    # The day before's change file: NEW's 10 days are counted from its own file (after a gap in
    # the loads they would be counted from the day after the file before).
    load(dpo, plain("01134960001"), kind="additions", on=TODAY - datetime.timedelta(days=11), name="add0.txt")
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


def test_the_28_day_rule_blocks_on_the_28th_day(agent, dpo):
    grace = legal.TPS_LISTED_GRACE_DAYS
    load(dpo, plain("01635506160"), on=TODAY - datetime.timedelta(days=grace + 1))
    load(dpo, plain("07911000456"), kind="additions", on=TODAY - datetime.timedelta(days=grace), name="add-old.txt")
    load(dpo, plain("01134960000"), register=TpsRegister.CTPS, on=CTPS_DATE, name="ctps.txt")
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
    suppression_add(
        actor=None, channel=Channel.PHONE, identifier="+447911123457", reason=SuppressionEntry.Reason.ERASED
    )
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


def test_a_dialler_token_is_issued_for_the_default_days_or_the_dpos_choice_up_to_the_maximum(dpo):
    from customers.services.dialler import ERR_DAYS

    record, _ = dialler_token_create(actor=dpo, name="default")
    assert record.expires_at - record.created_at == datetime.timedelta(days=legal.DIALLER_TOKEN_DEFAULT_DAYS)
    longest, _ = dialler_token_create(actor=dpo, name="a-year", days=legal.DIALLER_TOKEN_MAX_DAYS)
    assert longest.expires_at - longest.created_at == datetime.timedelta(days=legal.DIALLER_TOKEN_MAX_DAYS)
    for days in (0, -1, legal.DIALLER_TOKEN_MAX_DAYS + 1):
        with pytest.raises(ValidationError) as refused:
            dialler_token_create(actor=dpo, name=f"bad-{days}", days=days)
        assert refused.value.message_dict == {"days": [ERR_DAYS]}
    assert not DiallerToken.objects.filter(name__startswith="bad-").exists()


def expire(name, at):
    """As if the token had been issued for the default days, to end at `at`."""
    record = DiallerToken.objects.get(name=name)
    record.created_at = at - datetime.timedelta(days=legal.DIALLER_TOKEN_DEFAULT_DAYS)
    record.expires_at = at
    record.save()


def test_an_expired_dialler_token_is_refused_naming_why_and_logged(client, registers, token, caplog):
    expire("dialler-1", timezone.now() - datetime.timedelta(seconds=1))
    before = AccessEvent.objects.count()
    with caplog.at_level("WARNING", logger="portal.security"):
        response = dial(client, FREE, token)
    assert response.status_code == 401
    assert response.json()["reason"] == "token_expired"
    expires_at = DiallerToken.objects.get(name="dialler-1").expires_at
    assert response.json()["error"] == ERR_EXPIRED.format(when=timezone.localtime(expires_at))
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    token_id = DiallerToken.objects.get(name="dialler-1").pk
    assert f"reason=token_expired token_id={token_id}" in caplog.text
    assert token not in caplog.text and "7911" not in caplog.text
    assert AccessEvent.objects.count() == before  # refused: nothing was read
    # The same without a number to screen: still 401 for the expired token, not 400.
    assert client.get(reverse("public:dialler_screen"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_dialler_token_works_until_its_expiry(client, registers, token):
    expire("dialler-1", timezone.now() + datetime.timedelta(seconds=30))
    assert dial(client, FREE, token).status_code == 200


def test_a_revoked_dialler_token_is_refused_as_revoked_and_an_unknown_one_generically(client, registers, token, dpo):
    dialler_token_revoke(actor=dpo, name="dialler-1")
    revoked = dial(client, FREE, token)
    assert revoked.status_code == 401 and revoked.json()["reason"] == "token_revoked"
    revoked_at = DiallerToken.objects.get(name="dialler-1").revoked_at
    assert revoked.json()["error"] == ERR_REVOKED.format(when=timezone.localtime(revoked_at))
    unknown = dial(client, FREE, "not-the-token")
    assert unknown.status_code == 401 and unknown.json()["reason"] == "token_missing_or_unknown"
    assert dial(client, FREE).json()["reason"] == "token_missing_or_unknown"
    assert dial(client, FREE).headers["WWW-Authenticate"] == "Bearer"


def test_the_token_command_lists_tokens_with_their_expiry_and_status(dpo):
    out = io.StringIO()
    call_command("dialler_token", "create", "dialler-9", "--user", dpo.username, "--days", "30", stdout=out)
    assert "valid until" in out.getvalue() and "(30 days;" in out.getvalue()
    dialler_token_create(actor=dpo, name="old")
    expire("old", timezone.now() - datetime.timedelta(days=1))
    dialler_token_create(actor=dpo, name="stopped")
    dialler_token_revoke(actor=dpo, name="stopped")
    out = io.StringIO()
    call_command("dialler_token", "list", "--user", dpo.username, stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert "active (29 days left)" in lines["dialler-9"]
    assert lines["old"].endswith("expired") and "revoked" in lines["stopped"]
    with pytest.raises(CommandError, match="1 to 365 days"):
        call_command("dialler_token", "create", "long", "--user", dpo.username, "--days", "400")


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


def test_the_dialler_answers_as_screen_number_does_for_every_kind_of_number(client, registers, token, agent, dpo):
    """The pre-dial check reads its facts in one statement (services/dialler.py) but applies the
    same rules (screening.answer): its answer is screen_number's, number by number."""
    opted_in = CustomerFactory(phone="+447911123458")
    opt_in_to_calls(agent, opted_in)
    despite = CustomerFactory(phone=LISTED)
    opt_in_to_calls(agent, despite)
    opt_in_to_calls(agent, despite, purpose=Purpose.CALLS_DESPITE_TPS)
    objected = CustomerFactory(phone="+447911123459")
    opt_in_to_calls(agent, objected)
    customer_object_to_marketing(actor=agent, customer=objected, source="phone_call")
    suppression_add(
        actor=None, channel=Channel.PHONE, identifier="+447911123460", reason=SuppressionEntry.Reason.OPTED_OUT
    )
    numbers = [LISTED, NEW, "01134 960000", FREE, "+447911123458", "+447911123459", "+447911123460",
               "02073787244", "+33 1 42 68 53 00", "not a number"]  # fmt: skip
    for number in numbers:
        body = dial(client, number, token).json()
        assert body == screen_number(number).as_dict(), number
    assert dial(client, LISTED, token).json()["reasons"][0]["code"] == "tps_no_objection"
    assert dial(client, "+447911123459", token).json()["allowed"] is False


def test_the_dialler_reads_every_holder_as_screen_number_does(client, registers, token, agent, dpo):
    """The holders' facts come from the probe's own subquery (flags, bereavement, the latest of each
    screened preference): the same answer as screen_number for each kind of holder, alone or sharing."""
    from customers.models import Bereavement

    deceased = CustomerFactory(phone="+447911123461")
    opt_in_to_calls(agent, deceased)
    Bereavement.objects.create(customer=deceased, source=Bereavement.Source.AGENT,
                               reported_on=TODAY - datetime.timedelta(days=3), recorded_by=dpo)  # fmt: skip
    erased = CustomerFactory(phone="+447911123462", erased_at=timezone.now())
    restricted = CustomerFactory(phone="+447911123463")
    opt_in_to_calls(agent, restricted)  # before the restriction: a consent it keeps, but may not use
    restricted.processing_restricted, restricted.restricted_at = True, timezone.now()
    restricted.save()
    changed_mind = CustomerFactory(phone="+447911123464")
    opt_in_to_calls(agent, changed_mind)
    opt_in_to_calls(agent, changed_mind, granted=False)  # the latest change counts
    for shares in (CustomerFactory(phone=LISTED), CustomerFactory(phone=LISTED)):
        opt_in_to_calls(agent, shares)
    opt_in_to_calls(agent, shares, purpose=Purpose.CALLS_DESPITE_TPS)
    assert erased.erased_at is not None
    for number in ("+447911123461", "+447911123462", "+447911123463", "+447911123464", LISTED):
        body = dial(client, number, token).json()
        assert body == screen_number(number).as_dict(), number
    assert "deceased" in [r["code"] for r in dial(client, "+447911123461", token).json()["reasons"]]
    assert dial(client, "+447911123464", token).json()["reasons"][-1]["code"] == "opted_out"


def test_the_dialler_check_stays_right_when_a_new_file_is_swapped_in(client, registers, token, dpo):
    """The probe is a prepared statement (planned once per connection); a full file renames a new
    register table into place, and the next check in the same connection reads the new one."""
    assert dial(client, LISTED, token).json()["tps_listed"] is True
    load(dpo, plain("07911123456"), on=TODAY - datetime.timedelta(days=2), name="full-2.txt", allow_shrink=True)
    assert dial(client, LISTED, token).json()["tps_listed"] is False
    assert dial(client, FREE, token).json()["tps_listed"] is True


def test_the_dialler_check_is_one_statement_and_one_log_entry(client, registers, token, agent):
    """Per request: the probe (token, files, suppression, registers, and the customers holding the
    number with their preferences) and the access-log insert, held or not."""
    held = CustomerFactory(phone="+447911123458")
    opt_in_to_calls(agent, held)
    dial(client, FREE, token)  # warm-up (the session's first statements)
    with CaptureQueriesContext(connection) as unheld:
        assert dial(client, FREE, token).status_code == 200
    with CaptureQueriesContext(connection) as listed:
        assert dial(client, LISTED, token).json()["allowed"] is False
    with CaptureQueriesContext(connection) as holder:
        assert dial(client, "+447911123458", token).json()["allowed"] is True
    assert len(unheld) == len(listed) == len(holder) == 2, [q["sql"][:80] for q in holder]


def test_the_dialler_check_is_in_the_access_log_by_ids_only(client, registers, token, agent):
    held = CustomerFactory(phone="+447911123458")
    other = CustomerFactory(phone="+447911123458")
    before = AccessEvent.objects.count()
    dial(client, "07911 123458", token)
    dial(client, FREE, token)
    dial(client, FREE, "not-the-token")
    events = list(AccessEvent.objects.order_by("id")[before:])
    assert len(events) == 2  # the refused request read nothing
    first, second = events
    assert first.action == AccessEvent.Action.DIALLER_SCREEN and first.user is None
    assert first.details == {"actor": "dialler", "allowed": False}
    assert first.result_ids == [held.pk, other.pk] and first.customer_id is None
    assert (first.object_type, first.object_id) == ("customers.DiallerToken", DiallerToken.objects.get().pk)
    assert second.result_ids == [] and second.details["allowed"] is True
    for event in events:
        values = " ".join(str(v) for v in (event.details, event.result_ids, event.object_type, event.search_kind))
        assert "7911" not in values and "123458" not in values


def test_the_dialler_checks_entries_chain_and_verify_like_any_other(client, registers, token, agent):
    """The entry is written by a prepared INSERT, not by AccessEvent.save: the chainer links it and
    verification recomputes its hash from the row as stored, as for every other entry."""
    from privacy_portal.audit import chain_pending, verify_chain

    CustomerFactory(phone="+447911123458")
    for number in ("07911 123458", FREE, LISTED):
        dial(client, number, token)
    assert chain_pending() >= 3
    report = verify_chain()
    assert report.ok, report.summary()
    entries = AccessEvent.objects.filter(action=AccessEvent.Action.DIALLER_SCREEN)
    assert entries.count() == 3 and not entries.filter(hash__isnull=True).exists()
    assert {e.ip_address for e in entries} == {"127.0.0.1"}


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


@pytest.mark.parametrize(
    "written", ["+44 (0)1635 506160", "0044 1635 506160", "01635-506-160", "+44(0)1635506160", " 01635 506 160 "]
)
def test_a_listed_number_in_any_writing_is_the_same_listed_number(registers, written):
    """Hostile review (r16): the ways a call list or a dialler writes one UK number."""
    result = screen_number(written)
    assert (result.number, codes(result)[0], result.allowed) == (LISTED, "tps_listed", False)


@pytest.mark.parametrize("written", ["44 1635 506160", "+44 0 1635 506160 ext 2", "01635 5061600", "+33 1635 506160"])
def test_a_number_not_surely_the_listed_one_is_never_cleared(registers, written):
    assert not screen_number(written).allowed


@pytest.mark.parametrize("written", ["01635 5O6l6O", "01635 5OOO6O", "0800 FLOWERS"])
def test_a_number_written_with_letters_is_not_a_number_and_never_cleared(client, registers, token, written):
    """Hostile review (r16): the listed 01635 506160 typed with letter O and l for 0 and 1 was read
    as a keypad word (01635 566566, on no register) and cleared; the dialler dials what it was
    given, not our reading of it."""
    result = screen_number(written)
    assert (result.allowed, codes(result), result.number) == (False, ["not_a_number"], written)
    assert dial(client, written, token).json()["allowed"] is False


# --- screening a batch at once (campaign lists) -----------------------------------------------


def test_a_batch_is_answered_as_screen_number_answers_each_number(registers, agent, dpo):
    from customers.services.mps import customer_record_bereavement
    from customers.services.screening import screen_numbers

    opted_in = CustomerFactory(phone=NEW)
    opt_in_to_calls(agent, opted_in)
    told_us = CustomerFactory(phone=LISTED)  # reg 21(4): listed, but does not object
    opt_in_to_calls(agent, told_us)
    opt_in_to_calls(agent, told_us, purpose=Purpose.CALLS_DESPITE_TPS)
    objected = CustomerFactory(phone="+447911123460")
    customer_object_to_marketing(actor=agent, customer=objected, source="phone_call")
    shared = [CustomerFactory(phone="+447911123461"), CustomerFactory(phone="+447911123461")]
    opt_in_to_calls(agent, shared[0])
    dead = CustomerFactory(phone="+447911123462")
    opt_in_to_calls(agent, dead)
    customer_record_bereavement(actor=agent, customer=dead, source="agent", reported_on=TODAY)
    suppression_add(
        actor=None, channel=Channel.PHONE, identifier="+447911123463", reason=SuppressionEntry.Reason.OPTED_OUT
    )
    free = CustomerFactory(phone=FREE)
    opt_in_to_calls(agent, free)
    items = [(NEW, []), ("01635 506160", [told_us]), ("+447911123460", []), ("07911 123461", [shared[0]]),
             ("+447911123462", [dead]), ("+447911123463", []), (FREE, [free]), ("+33123456789", []),
             ("not a number", []), ("+441134960000", []), ("07911 123464", [])]  # fmt: skip
    batch = screen_numbers(items)
    one_by_one = [screen_number(raw, customers=given) for raw, given in items]
    assert [(b.number, b.allowed, b.because) for b in batch] == [(o.number, o.allowed, o.because) for o in one_by_one]
    assert [b.allowed for b in batch] == [True, True, False, False, False, False, True, False, False, False, True]


@pytest.mark.slow  # bench-like: 200 numbers
def test_a_batch_costs_the_same_statements_at_10_and_at_200_numbers(registers, agent):
    from customers.services.screening import ScreeningContext, screen_numbers

    def count(n):
        for i in range(n):
            CustomerFactory(phone=f"+4479111{i:05d}")
        context = ScreeningContext.now()
        items = [(f"+4479111{i:05d}", []) for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            screen_numbers(items, context=context)
        return len(queries)

    small = count(10)
    assert count(200) == small <= 5
