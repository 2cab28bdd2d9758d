"""Campaign screening: a call list in, the answer for every row out, and the record kept.

The list is a CSV with a header of `customer_reference`, `phone`, or both (each row fills at
least one): a row by reference is called on the customer's number on record (or the number
given beside it). Every row is answered by customers.services.screening.screen_number, the same
function the desk and the dialler use. The result CSV and a CampaignScreening row (which TPS
and CTPS files were in force, counts) are the evidence an ICO investigation asks for.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from privacy_portal import csv_safe

from ..models import CampaignScreening, Customer, TpsRegister
from .imports import ERR_HEADER, ImportRejected, RowError, read_csv, read_upload
from .screening import Reason, Screening, ScreeningContext, screen_number

CALL_LIST_COLUMNS = ("customer_reference", "phone")
CALL_LIST_HEADERS = (("customer_reference",), ("phone",), CALL_LIST_COLUMNS)
RESULT_HEADER = ("line", "customer_reference", "phone", "number", "allowed", "reasons", "tps_file_date",
                 "ctps_file_date")  # fmt: skip
MAX_CELL = 40
MAX_ROWS = 200_000

ERR_CELL = "At most {limit} characters of letters, digits, spaces and + ( ) - ."
ERR_ROW_EMPTY = "Give a customer reference or a phone number."
ERR_TOO_MANY = f"At most {MAX_ROWS:,} rows in one list: split it."
ERR_UNKNOWN_REFERENCE = "No customer has this reference"
ERR_NO_PHONE = "{ref} has no phone number on record"
_ALLOWED_CHARS = set("0123456789+()-. ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class _Row:
    line: int
    reference: str
    phone: str


def _header(data: bytes) -> tuple[str, ...]:
    first = data.decode("utf-8-sig", errors="replace").splitlines()[:1]
    cells = tuple(c.strip() for c in next(csv.reader(first), [])) if first else ()
    if cells in CALL_LIST_HEADERS:
        return cells
    raise ImportRejected(
        [RowError(1, "", ERR_HEADER.format(expected=" or ".join(",".join(h) for h in CALL_LIST_HEADERS)))]
    )


def parse_call_list(data: bytes) -> list[_Row]:
    """The rows of a call list; a malformed file or cell refuses it whole, naming line and column."""
    header = _header(data)
    errors: list[RowError] = []
    rows = []
    for line, cells in read_csv(data, header, errors):
        values = dict(zip(header, cells, strict=True))
        for column, value in values.items():
            if len(value) > MAX_CELL or not set(value) <= _ALLOWED_CHARS:
                errors.append(RowError(line, column, ERR_CELL.format(limit=MAX_CELL)))
        if not any(values.values()):
            errors.append(RowError(line, "", ERR_ROW_EMPTY))
        rows.append(_Row(line, values.get("customer_reference", ""), values.get("phone", "")))
    if len(rows) > MAX_ROWS:
        errors.append(RowError(None, "", ERR_TOO_MANY))
    if errors:
        raise ImportRejected(errors)
    return rows


def _screen_row(row: _Row, customers: dict[int, Customer], context: ScreeningContext) -> Screening:
    if not row.reference:
        return screen_number(row.phone, context=context)
    pk = Customer.pk_from_reference(row.reference)
    customer = customers.get(pk) if pk else None
    if customer is None:
        return Screening(number=row.phone, reasons=[Reason("unknown_reference", ERR_UNKNOWN_REFERENCE)],
                         files=context.files)  # fmt: skip
    number = row.phone or customer.phone
    if not number:
        return Screening(number="", reasons=[Reason("no_phone", ERR_NO_PHONE.format(ref=customer.reference))],
                         files=context.files)  # fmt: skip
    return screen_number(number, customers=[customer], context=context)


def result_dir() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / "screenings"


@transaction.atomic
def campaign_screen(*, actor, file, name: str) -> CampaignScreening:
    """Screen a call list; store the record and (on commit) its result CSV in private storage."""
    data = read_upload(file, name=name)
    rows = parse_call_list(data)
    context = ScreeningContext.now()
    pks = {Customer.pk_from_reference(r.reference) for r in rows if r.reference}
    customers = Customer.objects.select_related("bereavement").in_bulk([pk for pk in pks if pk])
    out = io.StringIO()
    writer = csv_safe.writer(out)
    writer.writerow(RESULT_HEADER)
    allowed = 0
    tps_date = context.files[TpsRegister.TPS].file_date if context.files.get(TpsRegister.TPS) else ""
    ctps_date = context.files[TpsRegister.CTPS].file_date if context.files.get(TpsRegister.CTPS) else ""
    for row in rows:
        result = _screen_row(row, customers, context)
        allowed += result.allowed
        writer.writerow([row.line, row.reference, row.phone, result.number, "allowed" if result.allowed else "blocked",
                         result.because, tps_date, ctps_date])  # fmt: skip
    screening = CampaignScreening(
        screened_by=actor,
        source_name=os.path.basename(name)[:255],
        source_sha256=hashlib.sha256(data).hexdigest(),
        tps_file=context.files.get(TpsRegister.TPS),
        ctps_file=context.files.get(TpsRegister.CTPS),
        rows=len(rows),
        allowed=allowed,
        blocked=len(rows) - allowed,
        result_path=f"screenings/{uuid.uuid4().hex}.csv",
    )
    screening._history_user = actor
    screening._change_reason = f"Call list screened: {len(rows):,} row(s)"
    screening.save()
    content = out.getvalue().encode()
    transaction.on_commit(lambda: _write(screening.result_path, content))
    return screening


def _write(relative: str, content: bytes) -> None:
    path = Path(settings.PRIVATE_STORAGE_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    part.write_bytes(content)
    part.replace(path)


def result_file(screening: CampaignScreening) -> Path | None:
    path = Path(settings.PRIVATE_STORAGE_ROOT) / screening.result_path if screening.result_path else None
    return path if path is not None and path.is_file() else None
