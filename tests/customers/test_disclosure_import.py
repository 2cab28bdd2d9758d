"""Bulk disclosures: bad input rejects the whole file, guards refuse single rows, a re-sent file
records nothing twice; the upload page and the command."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import DataCategory, Disclosure, Purpose
from customers.services import disclosure_import as imp
from customers.services import disclosures as svc
from customers.services.disclosure_import import DISCLOSURE_HEADER, disclosure_import
from customers.services.imports import ERR_HEADER, ERR_UNKNOWN_CUSTOMER, ImportRejected
from customers.services.preferences import preference_record
from tests.factories import CustomerFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(DISCLOSURE_HEADER)


def yesterday() -> str:
    return (timezone.localdate() - datetime.timedelta(days=1)).isoformat()


def row(to, customer, reference, **cells) -> str:
    values = {
        "recipient": to.code,
        "recipient_reference": reference,
        "customer_reference": customer.reference if hasattr(customer, "reference") else customer,
        "disclosed_at": yesterday() + "T10:30",
        "data_categories": "identity;contact;order",
        "purpose": "order_delivery",
        "lawful_basis": "contract",
        "sensitive": "no",
        "art9_condition": "",
    }
    values.update(cells)
    return ",".join(values[c] for c in DISCLOSURE_HEADER)


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


def run(actor, *rows: str, header: str = HEADER):
    return disclosure_import(actor=actor, file=csv_file(*rows, header=header), name="disclosures.csv")


def rejected(actor, *rows: str, header: str = HEADER) -> list[str]:
    with pytest.raises(ImportRejected) as excinfo:
        run(actor, *rows, header=header)
    assert not Disclosure.objects.exists()
    return [str(e) for e in excinfo.value.errors]


@pytest.fixture
def courier():
    return RecipientFactory(code="courier", name="Courier Ltd")


@pytest.fixture
def customers():
    return CustomerFactory.create_batch(3)


# --- Recorded, idempotently ------------------------------------------------------------------------


def test_an_import_records_every_row_with_who_imported_it(dpo, courier, customers):
    result = run(dpo, *(row(courier, c, f"CONS-{i}") for i, c in enumerate(customers)))
    assert (result.rows, result.created, result.already_recorded, result.refused) == (3, 3, 0, [])
    disclosure = Disclosure.objects.get(recipient_reference="CONS-0")
    assert (disclosure.customer, disclosure.recorded_by, disclosure.via) == (customers[0], dpo, "import")
    assert disclosure.data_categories == ["identity", "contact", "order"]
    assert timezone.localtime(disclosure.disclosed_at).strftime("%H:%M") == "10:30"
    history = disclosure.history.get()
    assert (history.history_user, history.history_change_reason) == (dpo, "Bulk import, line 2")


def test_a_re_sent_file_records_nothing_twice(dpo, courier, customers):
    rows = [row(courier, c, f"CONS-{i}") for i, c in enumerate(customers)]
    run(dpo, *rows[:2])
    result = run(dpo, *rows)
    assert (result.created, result.already_recorded) == (1, 2)
    again = run(dpo, *rows)
    assert (again.created, again.already_recorded) == (0, 3)
    assert Disclosure.objects.count() == 3
    assert Disclosure.history.count() == 3


def test_a_reference_recorded_by_hand_is_not_imported_again(dpo, courier, customers):
    DisclosureFactory(recipient=courier, customer=customers[0], recipient_reference="CONS-0")
    result = run(dpo, row(courier, customers[0], "CONS-0"))
    assert (result.created, result.already_recorded) == (0, 1)


# --- Bad input: nothing partial ----------------------------------------------------------------------


def test_a_file_with_the_wrong_columns_is_rejected(dpo, courier, customers):
    errors = rejected(dpo, row(courier, customers[0], "CONS-1"), header=HEADER.replace("purpose", "why"))
    assert errors == [f"Line 1: {ERR_HEADER.format(expected=HEADER)}"]


def test_a_row_with_too_few_cells_is_named(dpo, courier, customers):
    errors = rejected(dpo, row(courier, customers[0], "CONS-1"), "courier,CONS-2,C-000001")
    assert errors == ["Line 3: Expected 9 columns, found 3."]


def test_one_bad_row_means_nothing_is_imported_and_every_problem_is_listed(dpo, courier, customers):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    errors = rejected(
        dpo,
        row(courier, customers[0], "CONS-1"),
        row(courier, customers[1], "CONS-2", recipient="nobody-ltd"),
        row(courier, customers[1], "CONS-3", data_categories="identity;shoe_size"),
        row(courier, customers[1], "CONS-4", disclosed_at=tomorrow),
        row(courier, customers[1], "CONS-5", lawful_basis="because"),
        row(courier, customers[1], "CONS-6", disclosed_at="last Tuesday"),
        row(courier, customers[1], "CONS-7", sensitive="maybe"),
        row(courier, customers[1], "CONS-8", sensitive="yes"),
        row(courier, customers[1], "CONS-9", purpose=""),
        row(courier, customers[1], ""),
        row(courier, "C-999999", "CONS-10"),
    )
    assert errors == [
        f"Line 3, column recipient: {imp.ERR_UNKNOWN_RECIPIENT}",
        "Line 4, column data_categories: "
        + svc.ERR_CATEGORY.format(value="shoe_size", choices=", ".join(DataCategory.values)),
        f"Line 5, column disclosed_at: {svc.ERR_FUTURE}",
        f"Line 6, column lawful_basis: {svc.ERR_BASIS}",
        f"Line 7, column disclosed_at: {imp.ERR_DATETIME}",
        f"Line 8, column sensitive: {imp.ERR_YES_NO}",
        f"Line 9, column art9_condition: {svc.ERR_CONDITION_NEEDED}",
        f"Line 10, column purpose: {svc.ERR_PURPOSE}",
        f"Line 11, column recipient_reference: {imp.ERR_REQUIRED}",
        f"Line 12, column customer_reference: {ERR_UNKNOWN_CUSTOMER}",
    ]


def test_a_reference_twice_in_the_file_is_rejected(dpo, courier, customers):
    errors = rejected(dpo, row(courier, customers[0], "CONS-1"), row(courier, customers[1], "CONS-1"))
    assert errors == [f"Line 3, column recipient_reference: {imp.ERR_DUPLICATE_REFERENCE.format(line=2)}"]


def test_consent_claimed_where_none_is_recorded_rejects_the_file(dpo, courier, customers):
    errors = rejected(dpo, row(courier, customers[0], "CONS-1", lawful_basis="consent"))
    assert errors == [f"Line 2, column lawful_basis: {svc.ERR_CONSENT_NOT_RECORDED}"]


def test_rows_already_recorded_are_not_checked_again(dpo, courier, customers):
    """A re-sent file must not fail because the customer's situation changed since."""
    preference_record(
        actor=dpo, customer=customers[0], purpose=Purpose.SENSITIVE_SHARING, granted=True, source="letter",
        received_at=timezone.now() - datetime.timedelta(days=10),
    )  # fmt: skip
    line = row(courier, customers[0], "CONS-1", lawful_basis="consent")
    assert run(dpo, line).created == 1
    preference_record(
        actor=dpo, customer=customers[0], purpose=Purpose.SENSITIVE_SHARING, granted=False, source="email"
    )
    assert run(dpo, line).already_recorded == 1


# --- Guards per row: refused rows are reported, the others recorded ----------------------------------


def test_every_guard_is_applied_per_row_and_refused_rows_are_reported(dpo, courier, customers):
    restricted = CustomerFactory(processing_restricted=True, restricted_at=timezone.now() - datetime.timedelta(days=9))
    us_provider = RecipientFactory(code="us-ai", name="US AI Inc.", country="US")
    lapsed = RecipientFactory(
        code="lapsed", name="Lapsed Ltd", agreement_renews_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    result = run(
        dpo,
        row(courier, customers[0], "CONS-1"),
        row(courier, restricted, "CONS-2"),
        row(courier, customers[1], "CONS-3", sensitive="yes", art9_condition="explicit_consent"),
        row(us_provider, customers[1], "AI-1", data_categories="call_recording", purpose="call_transcription"),
        row(lapsed, customers[2], "L-1"),
        row(courier, customers[2], "CONS-4"),
    )
    assert (result.rows, result.created, result.already_recorded) == (6, 2, 0)
    assert {d.recipient_reference for d in Disclosure.objects.all()} == {"CONS-1", "CONS-4"}
    assert [(r.line, r.recipient, r.recipient_reference, r.reasons) for r in result.refused] == [
        (3, "courier", "CONS-2", (svc.GUARD_RESTRICTED,)),
        (4, "courier", "CONS-3", (svc.GUARD_SENSITIVE,)),
        (5, "us-ai", "AI-1", (svc.GUARD_TRANSFER.format(recipient="US AI Inc."),)),
        (
            6,
            "lapsed",
            "L-1",
            (svc.GUARD_LAPSED.format(recipient="Lapsed Ltd", date=timezone.localdate() - datetime.timedelta(days=30)),),
        ),
    ]
    assert result.refused[0].customer_reference == restricted.reference


def test_a_refused_row_is_recorded_when_sent_again_once_the_guard_is_satisfied(dpo, courier, customers):
    line = row(courier, customers[0], "CONS-1", sensitive="yes", art9_condition="explicit_consent")
    assert len(run(dpo, line).refused) == 1
    preference_record(
        actor=dpo, customer=customers[0], purpose=Purpose.SENSITIVE_SHARING, granted=True, source="letter",
        received_at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    assert run(dpo, line).created == 1


def test_a_restricted_customers_row_disclosed_before_the_restriction_is_recorded(dpo, courier):
    customer = CustomerFactory(processing_restricted=True, restricted_at=timezone.now())
    result = run(dpo, row(courier, customer, "CONS-1"))
    assert (result.created, result.refused) == (1, [])


# --- The command ----------------------------------------------------------------------------------


def test_the_command_imports_and_reports_refusals(dpo, courier, customers, tmp_path):
    restricted = CustomerFactory(processing_restricted=True, restricted_at=timezone.now() - datetime.timedelta(days=9))
    path = tmp_path / "consignments.csv"
    path.write_bytes(csv_file(row(courier, customers[0], "CONS-1"), row(courier, restricted, "CONS-2")).getvalue())
    out, err = io.StringIO(), io.StringIO()
    call_command("import_disclosures", str(path), user=dpo.username, stdout=out, stderr=err)
    assert "Recorded 1 disclosure(s) from 2 row(s); 0 row(s) were already recorded; 1 row(s) refused" in out.getvalue()
    assert f"Refused: Line 3: {svc.GUARD_RESTRICTED}" in err.getvalue()


def test_the_command_lists_every_problem_and_imports_nothing(dpo, courier, customers, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file(row(courier, customers[0], "CONS-1", purpose="nope")).getvalue())
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 1 problem"):
        call_command("import_disclosures", str(path), user=dpo.username, stderr=err)
    assert f"Line 2, column purpose: {svc.ERR_PURPOSE}" in err.getvalue()
    assert not Disclosure.objects.exists()


def test_the_command_needs_a_user_allowed_to_import(auditor, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n")
    with pytest.raises(CommandError, match=r"does not have the permission customers\.import_disclosures"):
        call_command("import_disclosures", str(path), user=auditor.username)


# --- The upload page ---------------------------------------------------------------------------------


def upload(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("disclosures.csv", csv_file(*rows).getvalue(), content_type="text/csv")


def test_the_dpo_uploads_a_file_and_reads_the_report(client_for, dpo, courier, customers):
    restricted = CustomerFactory(processing_restricted=True, restricted_at=timezone.now() - datetime.timedelta(days=9))
    response = client_for(dpo).post(
        reverse("customers:import_disclosures"),
        {"file": upload(row(courier, customers[0], "CONS-1"), row(courier, restricted, "CONS-2"))},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Import report" in body
    assert "<dt>Recorded</dt><dd>1</dd>" in body
    assert "<dt>Refused</dt><dd>1</dd>" in body
    assert svc.GUARD_RESTRICTED.replace("'", "&#x27;") in body
    assert Disclosure.objects.count() == 1


def test_the_upload_page_lists_the_problems_of_a_rejected_file(client_for, dpo, courier, customers):
    response = client_for(dpo).post(
        reverse("customers:import_disclosures"), {"file": upload(row(courier, customers[0], "CONS-1", recipient="x"))}
    )
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert imp.ERR_UNKNOWN_RECIPIENT in body
    assert not Disclosure.objects.exists()


def test_the_upload_page_shows_the_file_format(client_for, dpo, courier):
    response = client_for(dpo).get(reverse("customers:import_disclosures"))
    assert response.status_code == 200
    assert HEADER in response.content.decode()
    assert "<code>courier</code>" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [("dpo", 200), ("auditor", 403), ("agent", 403), ("handler", 403), ("itadmin", 403), ("nobody", 403)],
)
def test_only_the_dpo_may_import_disclosures(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("customers:import_disclosures")).status_code == status
    assert client.post(reverse("customers:import_disclosures")).status_code == status


def test_the_upload_page_rejects_other_methods(client_for, dpo):
    assert client_for(dpo).put(reverse("customers:import_disclosures")).status_code == 405
