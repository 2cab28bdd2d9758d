"""Bulk imports from CSV: reading an upload safely, and marketing preference changes in bulk.

Every import is all-or-nothing: each row is checked before anything is written, and one bad
row means nothing is written. Errors name the line (the header is line 1) and the column,
never the value, so the error list itself holds no personal data.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from privacy_portal import bounds
from privacy_portal.models import User
from privacy_portal.private_storage import UploadTooBig, upload_bytes
from privacy_portal.tracked import track

from ..models import CHANNEL_PURPOSES, Customer, PreferenceChange, SuppressionEntry
from .preferences import (
    ERR_ERASED,
    REASON_AT_ONCE,
    Source,
    actioned_on_recording,
    archived_notice_versions,
    take_effect_by,
    validate_change,
    validate_key,
)
from .suppression import channel_identifier, identifier_hash

# An upload larger than this is refused unread: 100,000 preference rows take about 9 MB.
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Rows per INSERT (and per IN (...) lookup): large enough to be fast, small enough for memory.
BATCH_SIZE = 2000
# Dates and times without a zone are the company's local time.
IMPORT_TIME_ZONE = zoneinfo.ZoneInfo("Europe/London")

PREFERENCE_HEADER = (
    "customer_reference",
    "purpose",
    "channel",
    "action",
    "source",
    "received_at",
    "evidence",
    "notice_version",
)
ACTIONS = {"opt_in": True, "opt_out": False}
SOURCES = frozenset(Source.values)

ERR_NOT_CSV = "The file is not a CSV file. Save it from your spreadsheet as “CSV UTF-8 (comma delimited)” (.csv)."
ERR_TOO_BIG = f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB. Split it into smaller files."
ERR_ENCODING = "The file is not UTF-8 text (first bad character on line {line}). Save it as “CSV UTF-8” and try again."
ERR_HEADER = "The first line must be exactly: {expected}"
ERR_EMPTY = "The file has no rows to import."
ERR_COLUMNS = "Expected {expected} columns, found {found}."
ERR_REQUIRED = "Enter a value."
ERR_TOO_LONG = "At most {limit} characters."
ERR_REFERENCE = "Enter a customer reference like C-000123."
ERR_UNKNOWN_CUSTOMER = "No customer has this reference."
ERR_ACTION = "Enter opt_in or opt_out."
ERR_SOURCE = "Enter one of: {choices}."
ERR_DATETIME = "Enter an ISO 8601 date, or date and time, like 2025-03-01 or 2025-03-01T14:30 (UK time if no zone)."


@dataclass(frozen=True)
class RowError:
    """One problem: a line of the file (None for the whole file) and the column it is in."""

    line: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}" if self.line is not None else "File"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    """Nothing was imported. `errors` lists every problem found, in line order."""

    def __init__(self, errors: list[RowError]):
        # Stable: within a line, problems stay in column order.
        self.errors = sorted(errors, key=lambda e: e.line or 0)
        super().__init__(f"{len(self.errors)} problem(s); nothing was imported")

    @classmethod
    def file(cls, message: str, line: int | None = None) -> ImportRejected:
        return cls([RowError(line, "", message)])


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    # Rows already recorded, or saying what the customer's current preference already says.
    unchanged: int = 0
    suppressed: int = 0


def read_upload(file: IO[bytes], *, name: str) -> bytes:
    """The raw bytes of an uploaded or local file, refusing non-CSV names and oversized files."""
    if not name.lower().endswith(".csv"):
        raise ImportRejected.file(ERR_NOT_CSV)
    try:
        return upload_bytes(file, limit=MAX_IMPORT_BYTES)
    except UploadTooBig:
        raise ImportRejected.file(ERR_TOO_BIG) from None


def read_csv(data: bytes, header: tuple[str, ...], errors: list[RowError]) -> list[tuple[int, list[str]]]:
    """Decode and parse a CSV file whose first line must be `header`.

    Returns (line number, stripped cells) for each non-blank record with the right number of
    cells, the line number being the physical line the record starts on (the header is
    line 1); records with too few or too many cells go to `errors`. UTF-8 only; a BOM (as
    Excel writes it) is accepted. Problems with the file as a whole raise ImportRejected.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected.file(ERR_ENCODING.format(line=data[: exc.start].count(b"\n") + 1)) from None
    if "\x00" in text:
        # Spreadsheets (.xlsx), PDFs and other binary files.
        raise ImportRejected.file(ERR_NOT_CSV)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if any(cell.strip() for cell in row):
                records.append((start, [cell.strip() for cell in row]))
    except csv.Error:
        raise ImportRejected.file(ERR_NOT_CSV, line=reader.line_num) from None
    expected = ",".join(header)
    if not records or records[0][0] != 1 or tuple(records[0][1]) != header:
        raise ImportRejected([RowError(1, "", ERR_HEADER.format(expected=expected))])
    if len(records) == 1:
        raise ImportRejected.file(ERR_EMPTY)
    rows = []
    for line, cells in records[1:]:
        if len(cells) == len(header):
            rows.append((line, cells))
        else:
            errors.append(RowError(line, "", ERR_COLUMNS.format(expected=len(header), found=len(cells))))
    return rows


def chunked(items: list, size: int = BATCH_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_length(errors: list[RowError], line: int, column: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.append(RowError(line, column, ERR_TOO_LONG.format(limit=limit)))


def parse_reference(errors: list[RowError], line: int, value: str, column: str = "customer_reference") -> int | None:
    pk = Customer.pk_from_reference(value) if value else None
    if pk is None:
        errors.append(RowError(line, column, ERR_REFERENCE))
    return pk


def parse_received_at(value: str) -> datetime.datetime:
    """ISO 8601 date or date-time; naive values are Europe/London (a date is its midnight).

    Raises ValueError if it is not one, ValidationError if it is outside the sane range
    (privacy_portal.bounds), checked before anything converts its zone (which overflows at
    the ends of the calendar)."""
    if not value:
        raise ValueError("empty")
    parsed = datetime.datetime.fromisoformat(value)
    bounds.check_date(parsed)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=IMPORT_TIME_ZONE)
    return parsed


def parse_datetime_cell(errors: list[RowError], line: int, column: str, value: str) -> datetime.datetime | None:
    """parse_received_at for one cell; a problem goes to `errors` under `column`."""
    try:
        return parse_received_at(value)
    except ValueError:
        errors.append(RowError(line, column, ERR_DATETIME))
    except ValidationError as exc:
        errors.extend(RowError(line, column, message) for message in exc.messages)
    return None


# --- Marketing preference changes ----------------------------------------------------------


@dataclass
class _PreferenceRow:
    line: int
    customer_id: int
    purpose: str
    channel: str
    granted: bool
    source: str
    received_at: datetime.datetime
    evidence: str
    notice_version: str
    customer: Customer | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.customer_id, self.purpose, self.channel)


@functools.lru_cache(maxsize=256)
def _key_problems(purpose: str, channel: str) -> tuple[tuple[str, str], ...]:
    """validate_key's verdict as (column, message) pairs. A file has only a few distinct
    (purpose, channel) pairs, so each is checked once, not once per row."""
    try:
        validate_key(purpose, channel)
    except ValidationError as exc:
        return tuple((column, message) for column, messages in exc.message_dict.items() for message in messages)
    return ()


def _parse_preference_row(line: int, cells: list[str], errors: list[RowError]) -> _PreferenceRow | None:
    """Check one row's format (no database); record each bad column in `errors`."""
    values = dict(zip(PREFERENCE_HEADER, cells, strict=True))
    found = len(errors)
    pk = parse_reference(errors, line, values["customer_reference"])
    purpose, channel = values["purpose"], values["channel"]
    errors.extend(RowError(line, column, message) for column, message in _key_problems(purpose, channel))
    granted = ACTIONS.get(values["action"])
    if granted is None:
        errors.append(RowError(line, "action", ERR_ACTION))
    if values["source"] not in SOURCES:
        errors.append(RowError(line, "source", ERR_SOURCE.format(choices=", ".join(Source.values))))
    received_at = parse_datetime_cell(errors, line, "received_at", values["received_at"])
    check_length(errors, line, "evidence", values["evidence"], bounds.max_length(PreferenceChange, "evidence"))
    check_length(
        errors, line, "notice_version", values["notice_version"], bounds.max_length(PreferenceChange, "notice_version")
    )
    if len(errors) > found:
        return None
    assert pk is not None and granted is not None and received_at is not None  # else an error was recorded
    return _PreferenceRow(
        line=line,
        customer_id=pk,
        purpose=purpose,
        channel=channel,
        granted=granted,
        source=values["source"],
        received_at=received_at,
        evidence=values["evidence"],
        notice_version=values["notice_version"],
    )


def _customer_errors(row: _PreferenceRow, archived_versions: set[str]) -> list[RowError]:
    """The rules of the page's form (validate_change), each naming its column."""
    if row.customer is None:
        return [RowError(row.line, "customer_reference", ERR_UNKNOWN_CUSTOMER)]
    try:
        validate_change(
            customer=row.customer,
            purpose=row.purpose,
            channel=row.channel,
            granted=row.granted,
            source=row.source,
            received_at=row.received_at,
            notice_version=row.notice_version,
            archived_versions=archived_versions,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            return [RowError(row.line, col, msg) for col, msgs in exc.message_dict.items() for msg in msgs]
        # Not about one field: an erased customer is the reference's problem; an opt-in that
        # an objection or a restriction forbids is the action's.
        return [
            RowError(row.line, "customer_reference" if msg == ERR_ERASED else "action", msg) for msg in exc.messages
        ]
    return []


def _load_customers(pks: Iterable[int]) -> dict[int, Customer]:
    """The referenced customers, locked until the import commits (so an objection or
    restriction recorded meanwhile cannot slip past the checks). One query per batch."""
    customers: dict[int, Customer] = {}
    for batch in chunked(sorted(set(pks)), BATCH_SIZE * 5):
        qs = (
            Customer.objects.filter(pk__in=batch)
            .only(
                "pk",
                "email",
                "phone",
                "address_line1",
                "postcode",
                "processing_restricted",
                "marketing_objected",
                "erased_at",
            )
            .order_by("pk")
            .select_for_update(no_key=True)
        )
        customers.update((c.pk, c) for c in qs)
    return customers


def _existing_changes(customer_ids: Iterable[int]):
    """What is already recorded for these customers: every change's signature, and the
    current (latest received) change per (customer, purpose, channel)."""
    recorded: set[tuple] = set()
    current: dict[tuple[int, str, str], tuple[datetime.datetime, bool]] = {}
    for batch in chunked(sorted(set(customer_ids)), BATCH_SIZE * 5):
        rows = (
            PreferenceChange.objects.filter(customer_id__in=batch)
            .order_by("received_at", "id")
            .values_list("customer_id", "purpose", "channel", "granted", "received_at")
        )
        for customer_id, purpose, channel, granted, received_at in rows:
            key = (customer_id, purpose, channel)
            recorded.add((*key, granted, received_at))
            current[key] = (received_at, granted)
    return recorded, current


def _suppress(rows: list[_PreferenceRow], *, actor: User) -> int:
    """Suppress the identifier of each direct-marketing opt-out; returns how many entries were
    new. Existing entries are kept as they are (like suppression_add)."""
    wanted: dict[tuple[str, str], None] = {}
    for row in rows:
        if row.granted or row.purpose not in CHANNEL_PURPOSES:
            continue
        assert row.customer is not None  # rows of unknown customers were refused before
        identifier = channel_identifier(row.customer, row.channel)
        if identifier:
            wanted[(row.channel, identifier_hash(identifier))] = None
    existing: set[tuple[str, str]] = set()
    for batch in chunked(list(wanted)):
        hashes = [h for _, h in batch]
        existing.update(
            SuppressionEntry.objects.filter(identifier_hash__in=hashes).values_list("channel", "identifier_hash")
        )
    entries = [
        SuppressionEntry(channel=channel, identifier_hash=digest, reason=SuppressionEntry.Reason.OPTED_OUT)
        for channel, digest in wanted
        if (channel, digest) not in existing
    ]
    if not entries:
        return 0
    reason = "Opt-out by bulk import"
    try:
        with transaction.atomic():
            created = bulk_create_with_history(
                entries, SuppressionEntry, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason
            )
    except IntegrityError:
        # Someone suppressed one of these meanwhile. Insert what is still missing, skipping
        # conflicts; simple-history then finds the inserted rows again (by their values,
        # created_at included) to write their history, and returns only those.
        created = bulk_create_with_history(
            entries,
            SuppressionEntry,
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
            default_user=actor,
            default_change_reason=reason,
        )
    return len(created)


@transaction.atomic
def preference_import(*, actor: User, file: IO[bytes], name: str) -> ImportResult:
    """Import marketing preference changes from a CSV file (PREFERENCE_HEADER), all or nothing.

    Every row is checked first (format, then the same rules as `preference_record` via
    `validate_change`); any problem raises ImportRejected listing each one, and nothing is
    written. Then, per (customer, purpose, channel) in order of receipt, like
    `preference_record`:

    - a row already recorded (same customer, purpose, channel, action and received_at) is
      skipped, so importing the same file twice records nothing the second time;
    - a row that says what the customer's current preference already says is skipped, so a
      repeated opt-out never pushes its take-effect date later;
    - anything else is recorded, with its take-effect date, recorded_by and history user
      `actor`; opt-outs of direct marketing also suppress the channel's identifier.
    """
    data = read_upload(file, name=name)
    errors: list[RowError] = []
    rows = []
    for line, cells in read_csv(data, PREFERENCE_HEADER, errors):
        row = _parse_preference_row(line, cells, errors)
        if row is not None:
            rows.append(row)
    customers = _load_customers(row.customer_id for row in rows)
    archived_versions = archived_notice_versions(row.notice_version for row in rows)
    for row in rows:
        row.customer = customers.get(row.customer_id)
        errors.extend(_customer_errors(row, archived_versions))
    if errors:
        raise ImportRejected(errors)

    recorded, current = _existing_changes(customers.keys())
    result = ImportResult(rows=len(rows))
    accepted: list[_PreferenceRow] = []
    for row in sorted(rows, key=lambda r: (r.received_at, r.line)):
        signature = (*row.key, row.granted, row.received_at)
        state = current.get(row.key)
        if signature in recorded or (state is not None and state[1] == row.granted):
            result.unchanged += 1
            continue
        recorded.add(signature)
        if state is None or row.received_at >= state[0]:
            current[row.key] = (row.received_at, row.granted)
        accepted.append(row)

    changes = []
    now = timezone.now()
    for row in accepted:
        change = PreferenceChange(
            customer_id=row.customer_id,
            purpose=row.purpose,
            channel=row.channel,
            granted=row.granted,
            source=row.source,
            evidence=row.evidence,
            notice_version=row.notice_version,
            recorded_by=actor,
            received_at=row.received_at,
            takes_effect_by=take_effect_by(
                purpose=row.purpose,
                channel=row.channel,
                granted=row.granted,
                received_at=row.received_at,
                source=row.source,
            ),
            actioned_at=actioned_on_recording(purpose=row.purpose, granted=row.granted, now=now),
        )
        verb = "Opt-in" if row.granted else "Opt-out"
        reason = f"Bulk import, line {row.line}: {verb} via {Source(row.source).label}"
        if change.actioned_at is not None:
            reason += f"; {REASON_AT_ONCE}"
        changes.append(track(change, actor=actor, reason=reason))
    bulk_create_with_history(changes, PreferenceChange, batch_size=BATCH_SIZE, default_user=actor)
    result.created = len(changes)
    result.suppressed = _suppress(accepted, actor=actor)
    return result
