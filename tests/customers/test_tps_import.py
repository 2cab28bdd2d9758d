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
    # Not on 2 Nov's file, on 20 Nov's: listed since 3 Nov at the earliest (nothing loaded between).
    assert tps.listing(key("07860338653")) == [("tps", D1 + datetime.timedelta(days=1))]
    assert tps.listing(key("01635506160")) == []
    assert (second.listed, second.added, second.removed) == (2, 1, 1)


def test_additions_and_deletions_change_the_register_and_date_the_new_numbers(dpo):
    load(dpo, plain("02073787244"), plain("01635506160"), on=D1)
    added = load(dpo, plain("07860338653"), plain("02073787244"), kind="additions", on=D2, name="add.txt")
    assert (added.added, added.listed) == (1, 3)
    assert tps.listing(key("07860338653")) == [("tps", D1 + datetime.timedelta(days=1))]  # the gap's first day
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


# --- the fast path: whole blocks checked at once, a bad block read line by line --------------------

# Every shape of record; the three ways of writing 0163550616 are one number.
MIXED = [plain("02073787244"), spaced("01635", "506160"), spaced("0207", "3787245"), spaced("016", "3550616"),
         spaced("01635", "50616"), spaced("0163", "550616"), plain("0191565715"),
         spaced("0163", "5506161")]  # fmt: skip


def _registered() -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number FROM {tps.TABLES[TpsRegister.TPS]}")  # noqa: S608 (a constant)
        return {n for (n,) in cursor.fetchall()}


@pytest.mark.parametrize("block", [64, 100, 1 << 20])
def test_every_block_size_loads_the_same_numbers_blank_lines_lf_and_a_last_line_without_crlf(dpo, monkeypatch, block):
    monkeypatch.setattr(tps, "BLOCK_BYTES", block)
    body = b"".join(r + b"\r\n" for r in MIXED[:4]) + b"\r\n" + b"".join(r + b"\n" for r in MIXED[4:7]) + MIXED[7]
    loaded = tps.tps_load(actor=dpo, register=TpsRegister.TPS, kind="full", file=io.BytesIO(body), name="t.txt",
                          file_date=D1)  # fmt: skip
    expected = {tps.parse_record(r, 1) for r in MIXED}
    assert _registered() == expected and loaded.listed == len(expected) == 6
    assert loaded.lines == 9  # the blank line counts as a line, as the TPS numbers them


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_a_bad_line_in_a_later_block_is_named_by_its_line_in_the_file(dpo, monkeypatch, block):
    monkeypatch.setattr(tps, "BLOCK_BYTES", block)
    records = [plain(f"0207378{i:04d}") for i in range(40)]
    records[33] = b"0207 37 8724"
    with pytest.raises(ImportRejected) as refused:
        load(dpo, *records, on=D1)
    assert [e.line for e in refused.value.errors] == [34]
    assert tps.listed_count("tps") == 0 and not TpsFile.objects.exists()


def test_the_block_check_accepts_exactly_what_the_line_parser_does():
    import itertools

    samples = [*MIXED, b"0207378724  ", b"02073787244 ", b"0207  378724", b"02073 787244", b"020  3787244",
               b"0207 3787244", b"01635 50616 ", b" 0207378724 ", b"00207378724 ", b"020 73787244", b"0207378724 x",
               b"02 073787244", b"0163 55 0616", b"012345678901", b"1207378724  "]  # fmt: skip
    for record in samples:
        try:
            tps.parse_record(record, 1)
            parsed = True
        except ImportRejected:
            parsed = False
        assert bool(tps._BLOCK.fullmatch(record + b"\r\n")) is parsed, record
    for a, b in itertools.product(samples[:3], repeat=2):
        assert tps._BLOCK.fullmatch(a + b"\r\n" + b + b"\r\n")


# --- Hostile review (r16): change files in real-life order, files loaded late or after a gap ---

D3 = datetime.date(2026, 11, 25)


def test_a_number_removed_then_re_added_is_listed_again_from_its_re_addition(dpo):
    """The TPS's daily change files of one number are byte-identical (the same record): the
    re-addition must not be refused as 'already loaded', or the number stays off the register."""
    load(dpo, plain("02073787244"), on=D1)
    load(dpo, plain("07860338653"), kind="additions", on=D1 + datetime.timedelta(days=1), name="a1.txt")
    load(dpo, plain("07860338653"), kind="deletions", on=D1 + datetime.timedelta(days=2), name="d2.txt")
    assert tps.listing(key("07860338653")) == []
    again = D1 + datetime.timedelta(days=3)
    load(dpo, plain("07860338653"), kind="additions", on=again, name="a3.txt")
    assert tps.listing(key("07860338653")) == [("tps", again)]


def test_a_deletions_file_older_than_an_additions_file_in_force_is_refused(dpo):
    """Deletions of 20 Nov loaded after the additions of 25 Nov would take a number listed again
    on 25 Nov off the register: a change file older than any file in force is refused."""
    load(dpo, plain("02073787244"), on=D1)
    load(dpo, plain("07860338653"), kind="deletions", on=D1 + datetime.timedelta(days=1), name="d0.txt")
    load(dpo, plain("07860338653"), kind="additions", on=D3, name="a.txt")
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("07860338653"), plain("02073787244"), kind="deletions", on=D2, name="late-del.txt")
    assert "dated 2026-11-20" in str(refused.value.errors[0])
    assert tps.listing(key("07860338653")) == [("tps", D1 + datetime.timedelta(days=2))]  # the gap's first day


def test_a_full_file_older_than_a_change_file_in_force_is_refused(dpo):
    """A full file of 20 Nov over the additions of 25 Nov would drop the numbers listed on 25 Nov
    while the register's date (25 Nov) still looked current."""
    load(dpo, plain("02073787244"), on=D1)
    load(dpo, plain("07860338653"), kind="additions", on=D3, name="a.txt")
    with pytest.raises(ImportRejected) as refused:
        load(dpo, plain("02073787244"), plain("01635506160"), on=D2, name="late-full.txt")
    assert "dated 2026-11-20" in str(refused.value.errors[0])
    assert tps.listing(key("07860338653")) == [("tps", D1 + datetime.timedelta(days=1))]
    assert tps.listing(key("01635506160")) == []


def test_a_number_new_in_a_file_after_a_gap_is_dated_the_day_after_the_file_before(dpo):
    """Nothing was loaded for 18 days: a number first seen on 20 Nov's file may have been listed
    since 3 Nov. The 28 days are counted from the earliest day it can have been listed, never
    from the day we happened to load it (that would let it be called for up to 18 days too long)."""
    load(dpo, plain("02073787244"), on=D1)
    load(dpo, plain("02073787244"), plain("07860338653"), on=D2, name="tps2.txt")
    assert tps.listing(key("07860338653")) == [("tps", D1 + datetime.timedelta(days=1))]
    load(dpo, plain("01635506160"), kind="additions", on=D3, name="a.txt")
    assert tps.listing(key("01635506160")) == [("tps", D2 + datetime.timedelta(days=1))]
    next_day = D3 + datetime.timedelta(days=1)
    load(dpo, plain("0191565715"), kind="additions", on=next_day, name="a2.txt")
    assert tps.listing(key("0191565715")) == [("tps", next_day)]  # daily files: its own date
