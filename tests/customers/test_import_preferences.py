"""Bulk import of marketing preference changes by the DPO: all or nothing, every bad row listed."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from customers.models import Channel, Customer, PreferenceChange, Purpose, SuppressionEntry
from customers.services import imports as svc
from customers.services import preferences
from customers.services.suppression import channel_identifier, identifier_hash, suppression_add
from customers.views import imports as views
from privacy_portal import legal
from privacy_portal.models import PrivacyNoticeVersion
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
HEADER = "customer_reference,purpose,channel,action,source,received_at,evidence,notice_version"
URL = "/customers/import/preferences/"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def run_import(actor, data: bytes, name: str = "changes.csv"):
    return svc.preference_import(actor=actor, file=io.BytesIO(data), name=name)


def rejection(actor, data: bytes, name: str = "changes.csv") -> list[tuple[int | None, str, str]]:
    with pytest.raises(svc.ImportRejected) as info:
        run_import(actor, data, name)
    return [(e.line, e.column, e.message) for e in info.value.errors]


@pytest.fixture(autouse=True)
def _archived_versions(db):
    """The notice versions the files below name, in the archive (the import checks them)."""
    for n, label in enumerate(("v1", "v3", "v4")):
        PrivacyNoticeVersion.objects.create(label=label, effective_on=datetime.date(2020, 1, 1 + n), text="Notice")


@pytest.fixture
def customer(db) -> Customer:
    return CustomerFactory(email="ann@example.co.uk", address_line1="1 High Street", postcode="SW1A 1AA")


# --- The service ---------------------------------------------------------------------------


def test_each_imported_change_has_its_deadline_evidence_author_and_history(dpo, customer):
    ref = customer.reference
    data = csv_bytes(
        f"{ref},direct_marketing,email,opt_out,letter,2026-03-03,Letter dated 1 March,v3",
        f"{ref},direct_marketing,post,opt_out,letter,2026-03-03T10:00:00,,v3",
        f"{ref},sensitive_sharing,,opt_in,account_page,2026-03-04T09:30,Ticked the box,v4",
    )
    result = run_import(dpo, data)
    assert (result.rows, result.created, result.unchanged) == (3, 3, 0)
    email = PreferenceChange.objects.get(customer=customer, channel=Channel.EMAIL)
    post = PreferenceChange.objects.get(customer=customer, channel=Channel.POST)
    sharing = PreferenceChange.objects.get(customer=customer, purpose=Purpose.SENSITIVE_SHARING)
    received = datetime.date(2026, 3, 3)
    assert email.takes_effect_by == received + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL)
    assert post.takes_effect_by == received + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    assert sharing.granted and sharing.takes_effect_by == datetime.date(2026, 3, 4)
    assert (email.source, email.evidence, email.notice_version) == ("letter", "Letter dated 1 March", "v3")
    assert {c.recorded_by for c in (email, post, sharing)} == {dpo}
    history = email.history.get()
    assert history.history_user == dpo
    assert history.history_change_reason == "Bulk import, line 2: Opt-out via Letter"
    assert PreferenceChange.history.filter(history_type="+").count() == 3


def test_naive_times_are_uk_time_and_a_date_alone_is_its_midnight(dpo, customer):
    ref = customer.reference
    run_import(
        dpo,
        csv_bytes(
            f"{ref},direct_marketing,email,opt_out,email,2025-07-01T09:00,,",
            f"{ref},direct_marketing,sms,opt_out,email,2025-12-01,,",
            f"{ref},direct_marketing,phone,opt_out,email,2025-07-01T09:00:00+00:00,,",
        ),
    )
    received = dict(PreferenceChange.objects.values_list("channel", "received_at"))
    assert received["email"] == datetime.datetime(2025, 7, 1, 8, 0, tzinfo=datetime.UTC)  # BST
    assert received["sms"] == datetime.datetime(2025, 12, 1, 0, 0, tzinfo=LONDON)
    assert received["phone"] == datetime.datetime(2025, 7, 1, 9, 0, tzinfo=datetime.UTC)


def test_one_bad_row_means_nothing_is_written_and_each_bad_row_is_listed_with_its_column(dpo, customer):
    ref = customer.reference
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    data = csv_bytes(
        f"{ref},direct_marketing,email,opt_out,letter,2026-03-03,,",
        "X-12,direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{ref},direct_marketing,fax,opt_out,letter,2026-03-03,,",
        f"{ref},personalised_ads,email,opt_out,letter,2026-03-03,,",
        f"{ref},direct_marketing,email,unsubscribe,pigeon,03/03/2026,,",
        "C-999999,direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{ref},direct_marketing,email,opt_out,letter,{future},,",
        f"{ref},direct_marketing,email,opt_out,letter,2026-03-03,{'x' * 501},",
        f"{ref},direct_marketing,email,opt_out",
    )
    sources = ", ".join(PreferenceChange.Source.values)
    assert rejection(dpo, data) == [
        (3, "customer_reference", svc.ERR_REFERENCE),
        (4, "channel", preferences.ERR_CHANNEL),
        (5, "channel", preferences.ERR_NO_CHANNEL.format(purpose="Personalised online advertising")),
        (6, "action", svc.ERR_ACTION),
        (6, "source", svc.ERR_SOURCE.format(choices=sources)),
        (6, "received_at", svc.ERR_DATETIME),
        (7, "customer_reference", svc.ERR_UNKNOWN_CUSTOMER),
        (8, "received_at", preferences.ERR_FUTURE),
        (9, "evidence", svc.ERR_TOO_LONG.format(limit=500)),
        (10, "", svc.ERR_COLUMNS.format(expected=8, found=4)),
    ]
    assert PreferenceChange.objects.count() == 0
    assert PreferenceChange.history.count() == 0
    assert SuppressionEntry.objects.count() == 0


def test_opt_ins_for_objected_or_restricted_customers_and_rows_for_erased_ones_are_row_errors(dpo):
    objected = CustomerFactory(marketing_objected=True, objected_at=timezone.now())
    restricted = CustomerFactory(processing_restricted=True, restricted_at=timezone.now())
    erased = CustomerFactory(erased_at=timezone.now())
    fine = CustomerFactory()
    data = csv_bytes(
        f"{objected.reference},direct_marketing,email,opt_in,phone_call,2026-01-05,,",
        f"{restricted.reference},sensitive_sharing,,opt_in,phone_call,2026-01-05,,",
        f"{erased.reference},direct_marketing,email,opt_out,phone_call,2026-01-05,,",
        f"{objected.reference},direct_marketing,post,opt_out,phone_call,2026-01-05,,",
        f"{fine.reference},direct_marketing,post,opt_in,phone_call,2026-01-05,,",
    )
    assert rejection(dpo, data) == [
        (2, "action", preferences.ERR_OBJECTED),
        (3, "action", preferences.ERR_RESTRICTED),
        (4, "customer_reference", preferences.ERR_ERASED),
    ]
    assert PreferenceChange.objects.count() == 0


def test_opt_outs_of_direct_marketing_suppress_each_identifier_once_and_keep_existing_entries(dpo, customer):
    other = CustomerFactory(email="bob@example.co.uk")
    existing = suppression_add(
        actor=None, channel=Channel.EMAIL, identifier=customer.email, reason=SuppressionEntry.Reason.OBJECTED
    )
    data = csv_bytes(
        f"{customer.reference},direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{customer.reference},direct_marketing,post,opt_out,letter,2026-03-03,,",
        f"{other.reference},direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{other.reference},personalised_ads,,opt_out,letter,2026-03-03,,",
    )
    result = run_import(dpo, data)
    assert result.suppressed == 2
    hashes = set(SuppressionEntry.objects.values_list("channel", "identifier_hash"))
    assert hashes == {
        ("email", identifier_hash(customer.email)),
        ("post", identifier_hash(channel_identifier(customer, Channel.POST))),
        ("email", identifier_hash(other.email)),
    }
    existing.refresh_from_db()
    assert existing.reason == SuppressionEntry.Reason.OBJECTED
    new_history = SuppressionEntry.history.exclude(id=existing.pk)
    assert new_history.count() == 2
    assert {h.history_user for h in new_history} == {dpo}


def test_reimporting_the_same_file_records_nothing_new(dpo, customer):
    ref = customer.reference
    data = csv_bytes(
        f"{ref},direct_marketing,email,opt_out,letter,2026-01-10,,",
        f"{ref},direct_marketing,email,opt_in,phone_call,2026-02-10,,",
        f"{ref},direct_marketing,sms,opt_out,sms_stop,2026-02-11,,",
    )
    first = run_import(dpo, data)
    second = run_import(dpo, data)
    assert (first.created, second.created, second.unchanged) == (3, 0, 3)
    assert PreferenceChange.objects.count() == 3
    assert PreferenceChange.history.count() == 3


def test_a_repeated_opt_out_does_not_push_the_deadline_later(dpo, customer):
    first, _ = preferences.preference_record(
        actor=dpo,
        customer=customer,
        purpose=Purpose.DIRECT_MARKETING,
        channel=Channel.POST,
        granted=False,
        source="letter",
        received_at=datetime.datetime(2026, 1, 5, 10, tzinfo=LONDON),
    )
    result = run_import(dpo, csv_bytes(f"{customer.reference},direct_marketing,post,opt_out,letter,2026-01-20,,"))
    assert (result.created, result.unchanged) == (0, 1)
    assert list(PreferenceChange.objects.all()) == [first]
    assert preferences.current_change(customer, Purpose.DIRECT_MARKETING, Channel.POST).takes_effect_by == (
        datetime.date(2026, 1, 5) + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    )


def test_rows_are_applied_in_the_order_received_whatever_their_order_in_the_file(dpo, customer):
    ref = customer.reference
    data = csv_bytes(
        f"{ref},direct_marketing,email,opt_in,account_page,2026-02-01,,",
        f"{ref},direct_marketing,email,opt_out,letter,2026-01-01,,",
        f"{ref},direct_marketing,email,opt_out,email,2026-01-15,,",
    )
    result = run_import(dpo, data)
    # Jan 1 opt-out recorded; Jan 15 opt-out says the same (skipped); Feb 1 opt-in recorded.
    assert (result.created, result.unchanged) == (2, 1)
    current = preferences.current_change(customer, Purpose.DIRECT_MARKETING, Channel.EMAIL)
    assert current.granted and current.received_at.date() == datetime.date(2026, 2, 1)


@pytest.mark.slow  # bench-like: 2,000 rows
def test_two_thousand_rows_import_in_bulk_in_a_fixed_number_of_queries(dpo, django_assert_max_num_queries):
    customers = [Customer(first_name="Bulk", last_name=f"Customer{i}", email=f"b{i}@example.co.uk") for i in range(500)]
    customers = bulk_create_with_history(customers, Customer)
    keys = [
        ("direct_marketing", "email"),
        ("direct_marketing", "post"),
        ("personalised_ads", ""),
        ("sensitive_sharing", ""),
    ]
    rows = [
        f"{c.reference},{purpose},{channel},opt_out,import,2026-01-{(i % 28) + 1:02d}T12:00,,v1"
        for i, c in enumerate(customers)
        for purpose, channel in keys
    ]
    with django_assert_max_num_queries(20):
        result = run_import(dpo, csv_bytes(*rows))
    assert result.created == 2000
    assert PreferenceChange.history.count() == 2000
    # Email opt-outs suppress; the customers have no postal address, so post has nothing to hash.
    assert result.suppressed == 500 == SuppressionEntry.objects.count()


# --- The file as a whole -------------------------------------------------------------------


def test_a_wrong_header_is_refused_and_says_what_it_must_be(dpo, customer):
    data = csv_bytes(f"{customer.reference},direct_marketing,email,opt_out,letter,2026-01-01,,", header="ref,purpose")
    assert rejection(dpo, data) == [(1, "", svc.ERR_HEADER.format(expected=HEADER))]


def test_columns_in_another_order_are_a_wrong_header(dpo):
    header = "purpose,customer_reference,channel,action,source,received_at,evidence,notice_version"
    assert rejection(dpo, csv_bytes(header=header))[0][2] == svc.ERR_HEADER.format(expected=HEADER)


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(dpo, customer):
    data = csv_bytes(f"{customer.reference},direct_marketing,email,opt_out,letter,2026-01-01,Café note,").replace(
        "é".encode(), "é".encode("latin-1")
    )
    assert rejection(dpo, data) == [(None, "", svc.ERR_ENCODING.format(line=2))]


def test_a_utf8_file_with_a_byte_order_mark_is_accepted(dpo, customer):
    data = "\ufeff".encode() + csv_bytes(f"{customer.reference},direct_marketing,email,opt_out,letter,2026-01-01,Café,")
    assert run_import(dpo, data).created == 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("changes.xlsx", csv_bytes()),
        ("changes.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"),
        ("changes.csv", HEADER.encode() + b'\n"C-000001,direct_marketing'),
    ],
    ids=["not a .csv name", "a spreadsheet renamed", "an unclosed quote"],
)
def test_a_file_that_is_not_csv_is_refused(dpo, name, data):
    assert [m for _, _, m in rejection(dpo, data, name)] == [svc.ERR_NOT_CSV]


def test_an_oversized_file_is_refused_unread(dpo, customer, monkeypatch):
    data = csv_bytes(f"{customer.reference},direct_marketing,email,opt_out,letter,2026-01-01,,")
    monkeypatch.setattr(svc, "MAX_IMPORT_BYTES", len(data) - 1)
    assert rejection(dpo, data) == [(None, "", svc.ERR_TOO_BIG)]
    assert PreferenceChange.objects.count() == 0


def test_a_file_with_only_the_header_has_nothing_to_import(dpo):
    assert rejection(dpo, csv_bytes()) == [(None, "", svc.ERR_EMPTY)]


def test_blank_lines_are_skipped_and_line_numbers_count_them(dpo, customer):
    ref = customer.reference
    data = csv_bytes(
        "", f"{ref},direct_marketing,email,opt_out,letter,2026-01-01,,", "", f"{ref},nope,,opt_out,letter,2026-01-01,,"
    )
    assert rejection(dpo, data) == [(5, "purpose", preferences.ERR_PURPOSE)]


# --- The management command ----------------------------------------------------------------


@pytest.fixture
def csv_file(tmp_path, customer):
    def _write(*rows: str):
        path = tmp_path / "changes.csv"
        path.write_bytes(csv_bytes(*rows))
        return str(path)

    return _write


def test_the_command_imports_as_the_named_user(dpo, customer, csv_file):
    path = csv_file(f"{customer.reference},direct_marketing,sms,opt_out,sms_stop,2026-01-01,,")
    out = io.StringIO()
    call_command("import_preferences", path, "--user", dpo.username, stdout=out)
    assert "Imported 1 change(s) from 1 row(s)" in out.getvalue()
    change = PreferenceChange.objects.get()
    assert change.recorded_by == dpo and change.history.get().history_user == dpo


def test_the_command_lists_every_bad_row_and_fails_writing_nothing(dpo, customer, csv_file):
    path = csv_file(
        f"{customer.reference},direct_marketing,sms,opt_out,sms_stop,2026-01-01,,",
        f"{customer.reference},direct_marketing,fax,opt_out,sms_stop,2026-01-01,,",
        "C-999999,direct_marketing,sms,opt_out,sms_stop,2026-01-01,,",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 2 problem"):
        call_command("import_preferences", path, "--user", dpo.username, stderr=err)
    assert err.getvalue().splitlines() == [
        f"Line 3, column channel: {preferences.ERR_CHANNEL}",
        f"Line 4, column customer_reference: {svc.ERR_UNKNOWN_CUSTOMER}",
    ]
    assert PreferenceChange.objects.count() == 0


def test_the_command_needs_a_user_who_may_import(agent, customer, csv_file):
    path = csv_file(f"{customer.reference},direct_marketing,sms,opt_out,sms_stop,2026-01-01,,")
    with pytest.raises(CommandError, match=r"does not have the permission customers\.import_preferences"):
        call_command("import_preferences", path, "--user", agent.username)
    with pytest.raises(CommandError, match="No active member of staff"):
        call_command("import_preferences", path, "--user", "ghost")
    with pytest.raises(CommandError, match="--user"):
        call_command("import_preferences", path)
    assert PreferenceChange.objects.count() == 0


def test_the_command_reports_a_missing_file(dpo, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_preferences", str(tmp_path / "missing.csv"), "--user", dpo.username)


# --- The upload page -----------------------------------------------------------------------


def upload(data: bytes, name: str = "changes.csv") -> dict:
    return {"file": SimpleUploadedFile(name, data, content_type="text/csv")}


def test_the_url_is_named():
    assert reverse("customers:import_preferences") == URL


def test_the_dpo_sees_the_upload_page_with_the_exact_header(client_for, dpo):
    response = client_for(dpo).get(URL)
    assert response.status_code == 200
    assert f"<code>{HEADER}</code>".encode() in response.content
    assert b'enctype="multipart/form-data"' in response.content


def test_the_dpo_uploads_a_file_and_is_told_what_was_imported(client_for, dpo, customer):
    data = csv_bytes(
        f"{customer.reference},direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{customer.reference},direct_marketing,post,opt_out,letter,2026-03-03,,",
    )
    response = client_for(dpo).post(URL, upload(data), follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert b"Imported 2 change(s) from 2 row(s)" in response.content
    assert b"2 identifier(s) added to the suppression list" in response.content
    assert set(PreferenceChange.objects.values_list("recorded_by", flat=True)) == {dpo.pk}


def test_a_bad_upload_lists_each_bad_row_and_imports_nothing(client_for, dpo, customer):
    data = csv_bytes(
        f"{customer.reference},direct_marketing,email,opt_out,letter,2026-03-03,,",
        f"{customer.reference},direct_marketing,email,maybe,letter,2026-03-03,,",
        "C-999999,direct_marketing,email,opt_out,letter,2026-03-03,,",
    )
    response = client_for(dpo).post(URL, upload(data))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Nothing was imported" in content
    assert f"<tr><td>3</td><td><code>action</code></td><td>{svc.ERR_ACTION}</td></tr>" in content
    assert f"<tr><td>4</td><td><code>customer_reference</code></td><td>{svc.ERR_UNKNOWN_CUSTOMER}</td></tr>" in content
    assert PreferenceChange.objects.count() == 0


def test_the_page_lists_a_limited_number_of_problems_and_counts_the_rest(client_for, dpo, monkeypatch):
    monkeypatch.setattr(views, "MAX_LISTED_ERRORS", 2)
    data = csv_bytes(*[f"C-{i:06d},direct_marketing,email,opt_out,letter,2026-03-03,," for i in range(900001, 900006)])
    response = client_for(dpo).post(URL, upload(data))
    assert response.content.count(svc.ERR_UNKNOWN_CUSTOMER.encode()) == 2
    assert b"and 3 more problems not listed here" in response.content


def test_a_wrong_header_or_a_non_csv_upload_gets_a_clear_error_on_the_page(client_for, dpo):
    client = client_for(dpo)
    response = client.post(URL, upload(b"name,email\r\nAnn,ann@example.co.uk\r\n"))
    assert svc.ERR_HEADER.format(expected=HEADER).encode() in response.content
    response = client.post(URL, upload(csv_bytes(), name="changes.xlsx"))
    assert svc.ERR_NOT_CSV.encode() in response.content


def test_posting_without_a_file_asks_for_one(client_for, dpo):
    response = client_for(dpo).post(URL, {})
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert PreferenceChange.objects.count() == 0


def test_the_upload_page_rejects_other_methods(client_for, dpo):
    assert client_for(dpo).put(URL).status_code == 405


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 403), ("handler", 403), ("auditor", 403), ("itadmin", 403), ("nobody", 403), ("dpo", 200)],
)
def test_only_the_dpo_may_import(client_for, cast, customer, role, status):
    client = client_for(cast[role])
    assert client.get(URL).status_code == status
    data = csv_bytes(f"{customer.reference},direct_marketing,email,opt_out,letter,2026-03-03,,")
    response = client.post(URL, upload(data))
    assert response.status_code == (302 if role == "dpo" else 403)
    assert PreferenceChange.objects.count() == (1 if role == "dpo" else 0)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
