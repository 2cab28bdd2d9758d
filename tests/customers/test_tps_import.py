"""Loading the TPS and CTPS files: both published layouts, change files, first-seen dates, and
refusals that leave the register in force untouched."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from customers.models import TpsFile, TpsRegister
from customers.services import tps
from customers.services.imports import ImportRejected
from tests.customers.tps_files import load, plain, spaced

pytestmark = pytest.mark.django_db

D1 = datetime.date(2026, 11, 2)
D2 = datetime.date(2026, 11, 20)


def key(national: str) -> int:
    return tps.national_to_key(national)


def test_a_full_file_with_spaces_is_loaded_and_its_numbers_listed_since_before_its_date(dpo):
    loaded = load(dpo, spaced("0207", "3787244"), spaced("01635", "506160"), spaced("07860", "338653"), on=D1)
    assert (loaded.kind, loaded.lines, loaded.listed, loaded.added) == ("full", 3, 3, 3)
    assert tps.listing(key("02073787244")) == [("tps", None)]  # first file: listing date unknown
    assert tps.listing(key("01635506160")) == [("tps", None)]
    assert tps.listing(key("07700900123")) == []
    assert loaded.history.latest().history_user == dpo


def test_a_full_file_without_spaces_is_read_the_same(dpo):
    load(dpo, plain("02073787244"), plain("0191565715"), on=D1, register=TpsRegister.CTPS)
    assert tps.listing(key("02073787244")) == [("ctps", None)]
    assert tps.listing(key("0191565715")) == [("ctps", None)]


def test_a_later_full_file_keeps_each_numbers_first_seen_date_and_drops_the_delisted(dpo):
    load(dpo, plain("02073787244"), plain("01635506160"), on=D1)
    second = load(dpo, plain("02073787244"), plain("07860338653"), on=D2, name="tps2.txt", allow_shrink=True)
    assert tps.listing(key("02073787244")) == [("tps", None)]
    assert tps.listing(key("07860338653")) == [("tps", D2)]
    assert tps.listing(key("01635506160")) == []
    assert (second.listed, second.added, second.removed) == (2, 1, 1)


def test_additions_and_deletions_change_the_register_and_date_the_new_numbers(dpo):
    load(dpo, plain("02073787244"), plain("01635506160"), on=D1)
    added = load(dpo, plain("07860338653"), plain("02073787244"), kind="additions", on=D2, name="add.txt")
    assert (added.added, added.listed) == (1, 3)
    assert tps.listing(key("07860338653")) == [("tps", D2)]
    assert tps.listing(key("02073787244")) == [("tps", None)]  # already listed: its date is kept
    removed = load(dpo, spaced("01635", "506160"), kind="deletions", on=D2, name="del.txt")
    assert (removed.removed, removed.listed) == (1, 2)
    assert tps.listing(key("01635506160")) == []


def test_a_malformed_line_is_named_and_the_file_in_force_stays(dpo):
    load(dpo, plain("02073787244"), on=D1)
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("07860338653"), plain("01635506160"), b"0163550616X ", on=D2, name="bad.txt")
    assert [e.line for e in refused.value.errors] == [3]
    assert "Not a UK telephone number" in str(refused.value.errors[0])
    assert tps.listing(key("02073787244")) == [("tps", None)]
    assert tps.listing(key("07860338653")) == []
    assert TpsFile.objects.count() == 1


@pytest.mark.parametrize(
    "record, problem",
    [
        (b"0207378724", "12 characters"),  # short
        (b"02073787244  ", "12 characters"),  # long
        (b" 0207 378724", "Not a UK"),  # dialling code not left-justified
        (b"0207 37 8724", "Not a UK"),  # a blank inside the remainder
        (b"00207378724 ", "Not a UK"),  # international prefix
        (b"2073787244  ", "Not a UK"),  # no leading 0
    ],
)
def test_records_that_fit_neither_layout_are_refused_by_line(dpo, record, problem):
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("02073787244"), record, on=D1)
    assert refused.value.errors[0].line == 2
    assert problem in refused.value.errors[0].message
    assert tps.listed_count("tps") == 0


def test_a_change_file_older_than_the_full_file_in_force_is_refused(dpo):
    load(dpo, plain("02073787244"), on=D2)
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("07860338653"), kind="additions", on=D1, name="old-add.txt")
    assert "before the TPS full file in force" in str(refused.value.errors[0])
    assert tps.listing(key("07860338653")) == []


def test_a_change_file_needs_a_full_file_first(dpo):
    with pytest.raises(ImportRejected, match="problem"):
        load(dpo, plain("07860338653"), kind="additions", on=D1)


def test_the_same_file_is_not_loaded_twice(dpo):
    load(dpo, plain("02073787244"), on=D1)
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("02073787244"), on=D2)
    assert "already loaded" in str(refused.value.errors[0])


def test_an_empty_or_truncated_full_file_does_not_wipe_the_register(dpo):
    load(dpo, *[plain(f"0163550{n:04d}") for n in range(10)], on=D1)
    with pytest.raises(ImportRejected):
        load(dpo, on=D2)
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("01635500001"), on=D2)
    assert "under half" in str(refused.value.errors[0])
    assert tps.listed_count("tps") == 10


def test_the_command_loads_a_file_and_shows_progress(dpo, tmp_path):
    path = tmp_path / "tps-20261102.txt"
    path.write_bytes(b"0207 3787244\r\n01635 506160\r\n")
    out = io.StringIO()
    call_command("import_tps", str(path), "--register", "tps", "--date", "2026-11-02", "--user", dpo.username,
                 stdout=out)  # fmt: skip
    assert "2 lines read (100%)" in out.getvalue()
    assert "2 numbers listed" in out.getvalue()


def test_the_command_names_the_bad_line_and_fails(dpo, tmp_path, capsys):
    path = tmp_path / "tps.txt"
    path.write_bytes(b"0207 3787244\r\nhello world!\r\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_tps", str(path), "--register", "tps", "--date", "2026-11-02", "--user", dpo.username,
                     stderr=err)  # fmt: skip
    assert "Line 2" in err.getvalue()


def test_the_command_refuses_a_member_of_staff_without_the_permission(agent, tmp_path):
    path = tmp_path / "tps.txt"
    path.write_bytes(b"0207 3787244\r\n")
    with pytest.raises(CommandError, match="permission"):
        call_command("import_tps", str(path), "--register", "tps", "--date", "2026-11-02", "--user", agent.username)
