"""Files no row names are replaced at once, atomically, with their mode: file_write_now and
file_writing (the feeds, the access log's checkpoint); and a service reads a row's file through
file_read / file_read_text, None when it is not there."""

from __future__ import annotations

import pytest

from privacy_portal import private_storage
from privacy_portal.private_storage import (
    FILE_MODE,
    TEMPORARY_DIR,
    file_read,
    file_read_text,
    file_write_now,
    file_writing,
    private_path,
)

pytestmark = pytest.mark.usefixtures("private_storage")


def _mode(relative: str) -> int:
    return private_path(relative).stat().st_mode & 0o777


def _temporary_files() -> list[str]:
    folder = private_path(TEMPORARY_DIR)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_file_written_now_is_the_portal_s_own_unless_its_writer_names_another_mode():
    file_write_now("audit/a.json", b"{}")
    file_write_now("suppression/2026-01-01/email.csv", b"identifier_hash,reason\r\n", mode=0o640)
    assert FILE_MODE == 0o600 and _mode("audit/a.json") == 0o600
    assert _mode("suppression/2026-01-01/email.csv") == 0o640
    assert file_read("audit/a.json") == b"{}" and _temporary_files() == []


def test_a_file_written_again_is_replaced_whole():
    file_write_now("audit/a.json", b"old")
    file_write_now("audit/a.json", b"new")
    assert file_read("audit/a.json") == b"new"


def test_a_streamed_file_appears_only_once_its_block_ends_and_an_error_in_it_keeps_the_old_file():
    file_write_now("suppression/day/email.csv", b"old\r\n", mode=0o640)
    with file_writing("suppression/day/email.csv", mode=0o640) as fh:
        fh.write("new\r\n")
        assert file_read("suppression/day/email.csv") == b"old\r\n"  # a reader sees the old file meanwhile
    assert file_read("suppression/day/email.csv") == b"new\r\n"  # newlines as written
    with pytest.raises(RuntimeError), file_writing("suppression/day/email.csv") as fh:
        fh.write("half")
        raise RuntimeError("the query failed")
    assert file_read("suppression/day/email.csv") == b"new\r\n" and _temporary_files() == []
    assert _mode("suppression/day/email.csv") == 0o640


def test_a_write_that_fails_leaves_no_temporary_file(monkeypatch):
    def _full(fd):
        raise OSError("No space left on device")

    monkeypatch.setattr(private_storage.os, "fsync", _full)
    with pytest.raises(OSError, match="No space"):
        file_write_now("audit/a.json", b"{}")
    assert _temporary_files() == [] and file_read("audit/a.json") is None


def test_reading_a_file_not_there_or_named_by_no_row_answers_none():
    assert file_read("") is None and file_read_text("") is None
    assert file_read("cases/1/identity/gone.png") is None and file_read_text("cases/1/x.csv") is None
    file_write_now("cases/1/x.csv", b"a,b\r\n")
    assert file_read_text("cases/1/x.csv") == "a,b\n"  # as Path.read_text reads it


def test_a_path_outside_private_storage_is_refused_before_anything_is_written():
    with pytest.raises(ValueError):
        file_write_now("../outside.json", b"{}")
    with pytest.raises(ValueError), file_writing("../outside.csv"):
        pass
    assert _temporary_files() == []
