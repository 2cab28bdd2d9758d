"""Loading the TPS and CTPS files, and looking a number up in them.

The files are the TPS's own: telephone numbers only, one 12-character record per line ended by
CR LF, in either published layout, told apart by the record's last character:

- with spaces: the national dialling code, 5 characters left-justified with trailing blanks,
  then the remainder, 7 characters right-justified with leading blanks (``01635 506160``,
  ``0207 3787244``): always ends in a digit;
- without spaces: the whole number, 12 characters left-justified with trailing blanks
  (``01635506160 ``): always ends in a blank (a UK national number has at most 11 digits).

A full download replaces the register; a day's additions or deletions change it. Each register
(TPS, CTPS) is one plain table, number (its E.164 digits as a bigint, 447700900123) and
first_seen (the earliest day it can have been listed: the date of the first file that listed
it, or, after a gap in the loads, the day after the file before that one; NULL for numbers
already on the first full file ever loaded, whose listing date nobody told us). Files apply in
date order: one dated before the newest file loaded is refused. A full file is COPYed into a
temporary table, joined with the register in force to carry each number's first_seen over,
written to a new table, indexed, and renamed into place, all in one transaction: screening sees
the old register until the commit and the whole new one after it, never half a file; a bad line
rolls everything back, the old file staying in force. Change files are applied in one
transaction too.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import TpsFile, TpsRegister
from .imports import ImportRejected, RowError

Kind = TpsFile.Kind

TABLES = {TpsRegister.TPS: "customers_tps_listed_tps", TpsRegister.CTPS: "customers_tps_listed_ctps"}
RECORD_LENGTH = 12
# One load at a time (pg_advisory_xact_lock key: "TPS" in ASCII).
LOAD_LOCK = 0x545053
PROGRESS_EVERY = 1_000_000

ERR_LINE_LENGTH = "A record is 12 characters and CR LF; this line has {length}."
ERR_LINE_DIGITS = (
    "Not a UK telephone number in either TPS layout (dialling code 5 characters left-justified"
    " then 7 right-justified, or 12 characters left-justified): {shown}"
)
ERR_EMPTY = "The file holds no numbers: nothing was loaded, the register in force is unchanged."
ERR_NO_FULL = "Load a full {register} file before its change files."
ERR_OLDER_THAN_FULL = (
    "This change file is dated {date}, before the {register} full file in force ({full}): it is already"
    " in that file. Nothing was loaded."
)
ERR_OLDER_FULL = "A full {register} file of {full} is already in force; this one is dated {date}. Nothing was loaded."
ERR_OLDER_THAN_NEWEST = (
    "This file is dated {date}, before the {register} {kind} file of {newest} already loaded: applied now it"
    " would undo that file's changes. Nothing was loaded."
)
ERR_ALREADY = "This file was already loaded on {when} ({file}). Nothing was loaded."
ERR_SHRINK = (
    "This full file lists {new:,} numbers, under half the {old:,} in force: a truncated download? Nothing was"
    " loaded (use --allow-shrink if the TPS really shrank)."
)
ERR_POSTGRES = "Loading a TPS file needs PostgreSQL (COPY)."


@dataclass(frozen=True)
class Progress:
    lines: int
    bytes_read: int
    bytes_total: int


def parse_record(record: bytes, line: int) -> int:
    """One record (without its line end) to the number's E.164 digits as an int. Raises
    ImportRejected naming the line."""
    if len(record) != RECORD_LENGTH:
        raise ImportRejected([RowError(line, "", ERR_LINE_LENGTH.format(length=len(record)))])
    if record[-1:] == b" ":  # without spaces: 12 left-justified
        national = record.rstrip(b" ")
    else:  # with spaces: 5 left-justified, then 7 right-justified
        code, rest = record[:5].rstrip(b" "), record[5:].lstrip(b" ")
        national = code + rest if code and rest and b" " not in code else b"x"
    if not (national.isdigit() and national[:1] == b"0" and national[1:2] != b"0" and 10 <= len(national) <= 11):
        shown = record.decode("ascii", "replace").replace("\x00", "?")
        raise ImportRejected([RowError(line, "", ERR_LINE_DIGITS.format(shown=repr(shown)))])
    return int(b"44" + national[1:])


def national_to_key(national: str) -> int:
    """'01635506160' -> 441635506160 (the key the registers hold)."""
    return int("44" + national[1:])


def e164_to_key(e164: str) -> int | None:
    """'+441635506160' -> 441635506160; None for a non-UK number."""
    return int(e164[1:]) if e164.startswith("+44") and e164[1:].isdigit() else None


def records(handle, *, on_progress: Callable[[Progress], None] | None = None, total: int = 0, first_line: int = 1):
    """Yield (line number, key) for every record of an open binary file (`first_line`: the number
    of its first line, when it is a block from within a file)."""
    read = number = 0
    for number, raw in enumerate(handle, start=first_line):
        read += len(raw)
        if raw.endswith(b"\r\n"):
            record = raw[:-2]
        elif raw.endswith(b"\n"):
            record = raw[:-1]
        else:
            record = raw  # the last line without its CR LF
        if not record and raw in (b"\r\n", b"\n"):
            continue  # a blank line (a trailing one, typically)
        yield number, parse_record(record, number)
        if on_progress is not None and number % PROGRESS_EVERY == 0:
            on_progress(Progress(number, read, total))
    if on_progress is not None:
        on_progress(Progress(number, read, total))


def current_files() -> dict[str, TpsFile | None]:
    """The newest file loaded per register (its date is the register's date): one query."""
    files: dict[str, TpsFile | None] = dict.fromkeys(TpsRegister.values)
    newest: Iterable[TpsFile | None]
    if connection.vendor == "postgresql":
        newest = TpsFile.objects.order_by("register", "-file_date", "-id").distinct("register")
    else:  # SQLite (the demo): DISTINCT ON is PostgreSQL's
        newest = [TpsFile.objects.filter(register=r).order_by("-file_date", "-id").first() for r in TpsRegister.values]
    for loaded in newest:
        if loaded is not None:
            files[loaded.register] = loaded
    return files


def baselines() -> dict[str, datetime.date]:
    """Per register, the date of the first full file ever loaded (its numbers' listing date unknown)."""
    firsts = {}
    for register in TpsRegister.values:
        first = TpsFile.objects.filter(register=register, kind=Kind.FULL).order_by("file_date", "id").first()
        if first is not None:
            firsts[register] = first.file_date
    return firsts


def _latest_full(register: str) -> TpsFile | None:
    return TpsFile.objects.filter(register=register, kind=Kind.FULL).order_by("-file_date", "-id").first()


def _count(cursor, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (table names are constants)
    return cursor.fetchone()[0]


# The fast path's check of a whole block of lines at once (in C, not line by line in Python): every
# line blank or one record in either layout exactly as parse_record accepts it (a national number of
# 10 or 11 digits, 0 then not 0). Without spaces: 10 or 11 digits left-justified in 12. With spaces:
# the dialling code (3-5 digits) left-justified in 5, the rest right-justified in 7.
_RECORD = (
    rb"0[1-9][0-9]{8}(?:[0-9] |  )"  # without spaces
    rb"|0[1-9][0-9]  [0-9]{7}|0[1-9][0-9]{2}  [0-9]{6}|0[1-9][0-9]{2} [0-9]{7}"
    rb"|0[1-9][0-9]{3}  [0-9]{5}|0[1-9][0-9]{3} [0-9]{6}"
)
_BLOCK = re.compile(rb"(?:(?:" + _RECORD + rb")?\r?\n)*(?:" + _RECORD + rb")?")
BLOCK_BYTES = 8 << 20


def _keys_of_block(block: bytes) -> bytes:
    """A block _BLOCK matched, as COPY text: one key (44 and the national number without its 0)
    per line, blank lines dropped."""
    data = block.replace(b" ", b"").replace(b"\r", b"")
    if b"\n\n" in data or data.startswith(b"\n"):
        data = b"\n".join(line for line in data.split(b"\n") if line)
    if not data:
        return b""
    data = (b"\n" + data).replace(b"\n0", b"\n44")[1:]
    return data if data.endswith(b"\n") else data + b"\n"


def _copy_into_stage(cursor, handle, digest, on_progress, total: int) -> int:
    """COPY every record into the temporary table `tps_stage`; returns the number of lines.

    Block by block: a block whose every line is well formed (_BLOCK) goes to COPY as it is, its
    spaces and leading 0s rewritten in bulk; a block that is not is read line by line (records),
    which names the first bad line by its number in the file."""
    cursor.execute("DROP TABLE IF EXISTS tps_stage")  # left by an earlier load in the same transaction
    cursor.execute("CREATE TEMPORARY TABLE tps_stage (number bigint NOT NULL) ON COMMIT DROP")
    lines = read = 0
    with cursor.cursor.copy("COPY tps_stage (number) FROM STDIN") as copy:
        while True:
            block = handle.read(BLOCK_BYTES)
            if not block:
                break
            if not block.endswith(b"\n"):
                block += handle.readline()  # end the block at a line's end
            digest.update(block)
            read += len(block)
            count = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            if _BLOCK.fullmatch(block):
                copy.write(_keys_of_block(block))
            else:  # names the bad line (ImportRejected), or, if none is, COPYs what the lines hold
                keys = [str(key) for _, key in records(io.BytesIO(block), first_line=lines + 1)]
                if keys:
                    copy.write("\n".join(keys) + "\n")
            before, lines = lines, lines + count
            if on_progress is not None and lines // PROGRESS_EVERY > before // PROGRESS_EVERY:
                on_progress(Progress(lines, read, total))
    if on_progress is not None:
        on_progress(Progress(lines, read, total))
    return lines


@transaction.atomic
def tps_load(
    *,
    actor: User,
    register: str,
    kind: str,
    file,
    name: str,
    file_date: datetime.date,
    allow_shrink: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> TpsFile:
    """Load one TPS/CTPS file (a full download, or a day's additions or deletions), all or nothing.

    Refused, naming the line, on the first malformed record; refused whole for a change file
    dated before the full file in force, a full file older than the one in force, a file loaded
    before, or an empty full file. On a refusal nothing changes: the register in force stays."""
    if connection.vendor != "postgresql":
        raise ImportRejected.file(ERR_POSTGRES)
    register = TpsRegister(register)
    kind = Kind(kind)
    label = register.label
    table = TABLES[register]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK])
        full = _latest_full(register)
        newest = TpsFile.objects.filter(register=register).order_by("-file_date", "-id").first()
        if kind == Kind.FULL:
            if full is not None and file_date < full.file_date:
                raise ImportRejected.file(ERR_OLDER_FULL.format(register=label, full=full.file_date, date=file_date))
        elif full is None:
            raise ImportRejected.file(ERR_NO_FULL.format(register=label))
        elif file_date < full.file_date:
            raise ImportRejected.file(ERR_OLDER_THAN_FULL.format(register=label, date=file_date, full=full.file_date))
        if newest is not None and file_date < newest.file_date:
            # Files apply in date order: deletions of the 20th after the additions of the 25th
            # would take off a number re-listed on the 25th; a full file of the 20th over them
            # would drop the 25th's numbers while the register's date still looked current.
            raise ImportRejected.file(
                ERR_OLDER_THAN_NEWEST.format(
                    date=file_date, register=label, kind=Kind(newest.kind).label.lower(), newest=newest.file_date
                )
            )
        # A number first seen in this file was listed at the latest on its date, and at the
        # earliest the day after the file before it: after a gap in the loads, the 28 days of
        # reg 21(3) run from that earliest day (never from the day we happened to load it).
        since = file_date if newest is None else min(file_date, newest.file_date + datetime.timedelta(days=1))

        digest = hashlib.sha256()
        total = _size(file)
        lines = _copy_into_stage(cursor, file, digest, on_progress, total)
        sha = digest.hexdigest()
        earlier = TpsFile.objects.filter(register=register, sha256=sha)
        if kind != Kind.FULL:
            # Change files of one number are byte-identical from day to day (a number removed,
            # then listed again): only the same kind of file of the same date is the same file.
            earlier = earlier.filter(kind=kind, file_date=file_date)
        same = earlier.first()
        if same is not None:
            raise ImportRejected.file(ERR_ALREADY.format(when=f"{same.loaded_at:%Y-%m-%d %H:%M}", file=same))

        before = _count(cursor, table)
        added = removed = 0
        if kind == Kind.FULL:
            listed = _swap_in_full(cursor, table=table, first_seen=since, baseline=full is None)
            if listed == 0:
                raise ImportRejected.file(ERR_EMPTY)
            if not allow_shrink and before and listed * 2 < before:
                raise ImportRejected.file(ERR_SHRINK.format(new=listed, old=before))
            if full is None:
                added = listed
            else:  # numbers not in the register before carry this file's date
                cursor.execute(f"SELECT count(*) FROM {table} WHERE first_seen = %s", [since])  # noqa: S608
                added = cursor.fetchone()[0]
            removed = before + added - listed
        elif kind == Kind.ADDITIONS:
            cursor.execute(
                f"INSERT INTO {table} (number, first_seen) SELECT DISTINCT number, %s::date FROM tps_stage"  # noqa: S608
                " ON CONFLICT (number) DO NOTHING",
                [since],
            )
            added = cursor.rowcount
            listed = before + added
        else:
            cursor.execute(f"DELETE FROM {table} t USING tps_stage s WHERE t.number = s.number")  # noqa: S608
            removed = cursor.rowcount
            listed = before - removed
        cursor.execute("DROP TABLE tps_stage")
    loaded = TpsFile(
        register=register,
        kind=kind,
        file_date=file_date,
        name=os.path.basename(name)[:255],
        sha256=sha,
        lines=lines,
        listed=listed,
        added=added,
        removed=removed,
        loaded_by=actor,
    )
    save_tracked(loaded, actor=actor, reason=f"{label} {kind.label.lower()} loaded: {lines:,} line(s)")
    return loaded


def _swap_in_full(cursor, *, table: str, first_seen: datetime.date, baseline: bool) -> int:
    """Build the new register from the staged numbers beside the one in force, then rename it into
    place. Returns the number of numbers listed."""
    new, old = f"{table}_new", f"{table}_old"
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute(f"DROP TABLE IF EXISTS {new}")
    if baseline:
        # The first file ever loaded: when each number was listed is unknown (NULL: listed longer
        # than the 28 days of reg 21(3), as far as anyone can tell).
        cursor.execute(
            f"CREATE TABLE {new} AS SELECT DISTINCT number, NULL::date AS first_seen FROM tps_stage"  # noqa: S608
        )
    else:
        cursor.execute(
            f"CREATE TABLE {new} AS SELECT s.number, CASE WHEN o.number IS NULL THEN %s::date"  # noqa: S608
            f" ELSE o.first_seen END AS first_seen FROM (SELECT DISTINCT number FROM tps_stage) s"
            f" LEFT JOIN {table} o ON o.number = s.number",
            [first_seen],
        )
    listed = cursor.rowcount
    cursor.execute(f"ALTER TABLE {new} ALTER COLUMN number SET NOT NULL")
    cursor.execute(f"ALTER TABLE {new} ADD CONSTRAINT {new}_pkey PRIMARY KEY (number)")
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cursor.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {table}_pkey TO {old}_pkey")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {new}_pkey TO {table}_pkey")
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"ANALYZE {table}")
    return listed


def _size(handle) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return getattr(handle, "size", 0) or 0


def listing(key: int) -> list[tuple[str, datetime.date | None]]:
    """Which registers list this number, and since when (None: on the first file we loaded)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'tps', first_seen FROM {TABLES[TpsRegister.TPS]} WHERE number = %s"  # noqa: S608
            f" UNION ALL SELECT 'ctps', first_seen FROM {TABLES[TpsRegister.CTPS]} WHERE number = %s",
            [key, key],
        )
        return [(register, first_seen) for register, first_seen in cursor.fetchall()]


def listings(keys: list[int]) -> dict[int, list[tuple[str, datetime.date | None]]]:
    """listing() for many numbers at once: two index lookups for the whole batch."""
    found: dict[int, list[tuple[str, datetime.date | None]]] = {}
    keys = sorted(set(keys))
    if not keys:
        return found
    marks = ", ".join(["%s"] * len(keys))  # IN, not = ANY: the local demo runs on SQLite
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'tps', number, first_seen FROM {TABLES[TpsRegister.TPS]} WHERE number IN ({marks})"  # noqa: S608
            f" UNION ALL SELECT 'ctps', number, first_seen FROM {TABLES[TpsRegister.CTPS]} WHERE number IN ({marks})",
            [*keys, *keys],
        )
        for register, number, first_seen in cursor.fetchall():
            found.setdefault(number, []).append((register, first_seen))
    return found


def listed_count(register: str) -> int:
    with connection.cursor() as cursor:
        return _count(cursor, TABLES[TpsRegister(register)])
