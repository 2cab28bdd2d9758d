"""One CSV-injection guard (privacy_portal.csv_safe) for every CSV the portal writes (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from privacy_portal import csv_safe


def built_export(**kwargs):
    """Build an export and run what follows its commit (the file is written after the commit)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        from requests.services import export

        return export.export_build(**kwargs)


ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "requests", "privacy_portal", "demo")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("", ""),
        (None, None),
        (12, 12),
        ("Moved", "Moved"),
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+44 7911 123456", "+44 7911 123456"),
        ("-12.50", "-12.50"),
    ],
)
def test_the_csv_guard_quotes_formulas_and_leaves_blanks_and_numbers_alone(value, written):
    assert csv_safe.safe_cell(value) == written


def test_the_line_writer_returns_each_guarded_line_for_streaming():
    writer = csv_safe.line_writer()
    assert writer.writerow(["=1+1", "", "+44 7911 123456"]) == "'=1+1,,+44 7911 123456\r\n"


# Every CSV goes through the guard, machine feeds too (a hash or a code never starts like a
# formula, so they are unchanged): only the guard itself calls csv.writer.
NOT_FOR_SPREADSHEETS = {"privacy_portal/csv_safe.py"}


def test_every_csv_the_portal_writes_goes_through_the_one_guard():
    unguarded = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative in NOT_FOR_SPREADSHEETS or "/migrations/" in relative:
                continue
            if re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text()):
                unguarded.append(relative)
    assert unguarded == [], "write CSV with privacy_portal.csv_safe.writer"


@pytest.mark.django_db
def test_blank_cells_of_the_access_exports_csvs_stay_blank(dpo, handler, settings, tmp_path):
    import csv
    import io
    import zipfile

    from privacy_portal.private_storage import private_path
    from requests.services import cases
    from tests.factories import CaseFactory, CustomerFactory

    settings.PRIVATE_STORAGE_ROOT = tmp_path
    customer = CustomerFactory(title="", address_line2="", county="", date_of_birth=None)
    case = cases.case_assign(actor=dpo, case=CaseFactory(customer=customer), handler=handler)
    cases.case_start(actor=handler, case=case)
    with zipfile.ZipFile(private_path(built_export(actor=handler, case=case).path)) as archive:
        files = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist() if name.endswith(".csv")}
    cells = [cell for text in files.values() for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" not in cells
    record = next(csv.DictReader(io.StringIO(files["csv/customer.csv"])))
    assert (record["title"], record["address_line2"], record["county"]) == ("", "", "")


@pytest.mark.django_db
def test_the_register_csv_quotes_a_formula_and_leaves_blank_cells_blank(client_for, dpo):
    import csv
    import io

    from django.urls import reverse

    from privacy_portal.models import ProcessingActivity

    activity = ProcessingActivity.objects.order_by("pk").first()
    activity.purpose = "=HYPERLINK(1)"
    activity.transfers = ""
    activity.save()
    text = client_for(dpo).get(reverse("register_csv")).content.decode("utf-8-sig")
    rows = {row[0]: row for row in csv.reader(io.StringIO(text))}
    row = rows[activity.name]
    assert row[1] == "'=HYPERLINK(1)"
    assert "'" not in row
