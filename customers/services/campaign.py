"""Campaign screening: a call list in, the answer for every row out, and the record kept.

The list is a CSV with a header of `customer_reference`, `phone`, or both (each row fills at
least one): a row by reference is called on the customer's number on record (or the number
given beside it). Every row is answered by customers.services.screening.screen_number, the same
function the desk and the dialler use. The result CSV and a CampaignScreening row (which TPS
and CTPS files were in force, counts) are the evidence an ICO investigation asks for.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from privacy_portal import csv_safe, legal
from privacy_portal.models import User
from privacy_portal.private_storage import file_read_text, files_delete_after_commit, private_file, write_after_commit
from privacy_portal.tracked import save_tracked

from .. import tasks
from ..models import CampaignScreening, Customer, TpsRegister
from .imports import ERR_HEADER, ImportRejected, RowError, read_csv, read_upload
from .retention import retention_cutoff
from .screening import Reason, Screening, ScreeningContext, parse_uk, screen_numbers

CALL_LIST_COLUMNS = ("customer_reference", "phone")
CALL_LIST_HEADERS = (("customer_reference",), ("phone",), CALL_LIST_COLUMNS)
RESULT_FOLDER = "screenings"  # in private storage
RESULT_HEADER = ("line", "customer_reference", "phone", "number", "allowed", "reasons", "tps_file_date",
                 "ctps_file_date")  # fmt: skip
MAX_CELL = 40
MAX_ROWS = 200_000
BATCH_ROWS = 1_000  # rows screened together: a fixed number of statements per batch

ERR_CELL = "At most {limit} characters of letters, digits, spaces and + ( ) - ."
ERR_ROW_EMPTY = "Give a customer reference or a phone number."
ERR_TOO_MANY = f"At most {MAX_ROWS:,} rows in one list: split it."
ERR_UNKNOWN_REFERENCE = "No customer has this reference"
ERR_NO_PHONE = "{ref} has no phone number on record"
log = logging.getLogger(__name__)
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


def _screen_rows(rows: list[_Row], context: ScreeningContext) -> list[Screening]:
    """The answer for each row of one batch, in a fixed number of statements (screen_numbers)."""
    pks = {Customer.pk_from_reference(r.reference) for r in rows if r.reference}
    customers = Customer.objects.select_related("bereavement").in_bulk([pk for pk in pks if pk])
    results: list[Screening | None] = []
    items: list[tuple[str, list[Customer]]] = []
    at: list[int] = []
    for row in rows:
        if not row.reference:
            items.append((row.phone, []))
        else:
            pk = Customer.pk_from_reference(row.reference)
            customer = customers.get(pk) if pk else None
            if customer is None:
                results.append(Screening(number=row.phone, reasons=[Reason("unknown_reference", ERR_UNKNOWN_REFERENCE)],
                                         files=context.files))  # fmt: skip
                continue
            number = row.phone or customer.phone
            if not number:
                results.append(Screening(number="", reasons=[Reason("no_phone", ERR_NO_PHONE.format(
                    ref=customer.reference))], files=context.files))  # fmt: skip
                continue
            items.append((number, [customer]))
        at.append(len(results))
        results.append(None)
    for i, screened in zip(at, screen_numbers(items, context=context), strict=True):
        results[i] = screened
    return [r for r in results if r is not None]


ROWS_FOLDER = "screening-rows"  # in private storage: a queued list's validated rows, until screened
# A screening still 'running' this long after it started has lost its worker (killed, the machine
# lost): the worker's hard time limit has passed, so the next delivery starts it again.
STALE_RUNNING_SECONDS = settings.CELERY_TASK_TIME_LIMIT + 60
# A screening still 'queued' this long after its upload lost its task (the broker down when the
# upload committed, the message lost): the sweep sends it again. A worker busy with another list
# may pick it up late; a second delivery then does nothing (campaign_screening_run).
QUEUED_GRACE_SECONDS = 10 * 60
FAILED_NO_ROWS = "The list's rows were not found in private storage: upload the list again."
FAILED_ERROR = "The screening stopped with an error ({kind}): upload the list again."


@transaction.atomic
def campaign_screen(*, actor: User, file, name: str) -> CampaignScreening:
    """Accept a call list: read and validate it here (a bad row refuses it whole, nothing
    stored), record the screening 'queued', keep its rows in private storage and enqueue the
    task that screens them (customers.tasks.screen_call_list), both once this commits."""
    data = read_upload(file, name=name)
    rows = parse_call_list(data)
    out = io.StringIO()
    csv_safe.internal_writer(out).writerows((r.line, r.reference, r.phone) for r in rows)
    screening = CampaignScreening(
        screened_by=actor,
        source_name=os.path.basename(name)[:255],
        source_sha256=hashlib.sha256(data).hexdigest(),
        status=CampaignScreening.Status.QUEUED,
        rows=len(rows),
        rows_path=f"{ROWS_FOLDER}/{uuid.uuid4().hex}.csv",
    )
    save_tracked(screening, actor=actor, reason=f"Call list queued for screening: {len(rows):,} row(s)")
    write_after_commit(screening.rows_path, out.getvalue().encode())
    tasks.screen_call_list.delay_on_commit(screening.pk)
    return screening


def _read_rows(screening: CampaignScreening) -> list[_Row] | None:
    text = file_read_text(screening.rows_path)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text))
    return [_Row(int(line), reference, phone) for line, reference, phone in reader]


def _claim(pk: int, now) -> CampaignScreening | None:
    """Lock the record and mark it running from the start, or None when there is nothing to do:
    done or failed (a second delivery), or running on a worker still within its time limit."""
    with transaction.atomic():
        screening = CampaignScreening.objects.select_for_update().filter(pk=pk).first()
        if screening is None or screening.status in (CampaignScreening.Status.DONE, CampaignScreening.Status.FAILED):
            return None
        restarted = screening.status == CampaignScreening.Status.RUNNING
        if restarted and now - screening.started_at < datetime.timedelta(seconds=STALE_RUNNING_SECONDS):
            return None
        screening.status = CampaignScreening.Status.RUNNING
        screening.started_at = now
        screening.rows_done = 0
        reason = "Screening restarted: its worker stopped" if restarted else "Screening started"
        save_tracked(screening, actor=None, reason=reason, update_fields=["status", "started_at", "rows_done"])
        return screening


def _locked_if_ours(claimed: CampaignScreening) -> CampaignScreening | None:
    """The record locked, if it is still the run `claimed` started (not restarted by another)."""
    screening = CampaignScreening.objects.select_for_update().get(pk=claimed.pk)
    if screening.status != CampaignScreening.Status.RUNNING or screening.started_at != claimed.started_at:
        return None
    return screening


def _fail(claimed: CampaignScreening, failure: str) -> None:
    with transaction.atomic():
        screening = _locked_if_ours(claimed)
        if screening is None:
            return
        screening.status = CampaignScreening.Status.FAILED
        screening.failure = failure[:500]
        screening.finished_at = timezone.now()
        files_delete_after_commit([screening.rows_path])
        screening.rows_path = ""
        save_tracked(screening, actor=None, reason="Screening failed",
                     update_fields=["status", "failure", "finished_at", "rows_path"])  # fmt: skip


def campaign_screening_run(*, screening_id: int, now=None) -> CampaignScreening | None:
    """Screen a queued list in batches of BATCH_ROWS (rows_done saved after each), write the
    result CSV once complete and mark the record done with its counts and the files used.
    Idempotent: a done, failed or live running screening is left alone (returns None); one
    running past STALE_RUNNING_SECONDS is restarted from the first row. Any error marks it
    failed with the reason, never done with half a file."""
    claimed = _claim(screening_id, now or timezone.now())
    if claimed is None:
        return None
    try:
        rows = _read_rows(claimed)
        if rows is None:
            _fail(claimed, FAILED_NO_ROWS)
            return claimed
        context = ScreeningContext.now()
        tps_file, ctps_file = context.files.get(TpsRegister.TPS), context.files.get(TpsRegister.CTPS)
        tps_date = tps_file.file_date if tps_file else ""
        ctps_date = ctps_file.file_date if ctps_file else ""
        out = io.StringIO()
        writer = csv_safe.writer(out)
        writer.writerow(RESULT_HEADER)
        allowed = 0
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            for row, result in zip(batch, _screen_rows(batch, context), strict=True):
                allowed += result.allowed
                verdict = "allowed" if result.allowed else "blocked"
                writer.writerow([row.line, row.reference, row.phone, result.number, verdict, result.because,
                                 tps_date, ctps_date])  # fmt: skip
            with transaction.atomic():
                screening = _locked_if_ours(claimed)
                if screening is None:
                    return None  # restarted by another delivery: that run finishes it
                screening.rows_done = start + len(batch)
                save_tracked(screening, actor=None, reason=None, update_fields=["rows_done"])
        with transaction.atomic():
            screening = _locked_if_ours(claimed)
            if screening is None:
                return None
            screening.status = CampaignScreening.Status.DONE
            screening.tps_file, screening.ctps_file = tps_file, ctps_file
            screening.allowed, screening.blocked = allowed, len(rows) - allowed
            screening.finished_at = timezone.now()
            screening.result_path = f"{RESULT_FOLDER}/{uuid.uuid4().hex}.csv"
            files_delete_after_commit([screening.rows_path])
            screening.rows_path = ""
            save_tracked(screening, actor=None, reason=f"Call list screened: {len(rows):,} row(s)")
            write_after_commit(screening.result_path, out.getvalue().encode())
        return screening
    except Exception as exc:
        log.exception("screening %s failed", screening_id)  # an id only
        _fail(claimed, FAILED_ERROR.format(kind=type(exc).__name__))
        return claimed


def campaign_screenings_sweep(*, now=None) -> dict:
    """Every minute (the beat): send again each screening queued for more than
    QUEUED_GRACE_SECONDS, or running for more than STALE_RUNNING_SECONDS (its worker died).
    The task is idempotent, so one sent twice is screened once. Counts only."""
    now = now or timezone.now()
    lost = CampaignScreening.objects.filter(
        Q(
            status=CampaignScreening.Status.QUEUED,
            screened_at__lt=now - datetime.timedelta(seconds=QUEUED_GRACE_SECONDS),
        )
        | Q(
            status=CampaignScreening.Status.RUNNING,
            started_at__lt=now - datetime.timedelta(seconds=STALE_RUNNING_SECONDS),
        )
    ).values_list("pk", flat=True)
    pks = list(lost)
    with transaction.atomic():
        for pk in pks:
            tasks.screen_call_list.delay_on_commit(pk)
    return {"sent again": len(pks)}


def result_file(screening: CampaignScreening) -> Path | None:
    """Where the screening's result file is (None if it is not there), for a reader outside the
    services (a test); a service reads it through private_storage.file_read_text."""
    return private_file(screening.result_path)


# --- Retention and erasure of the result files -------------------------------------------------
# The result file holds the numbers screened (as given, and in E.164); the record (which files,
# the counts, the list's digest) holds none. So the file goes after
# legal.CALL_LIST_RESULT_RETENTION_MONTHS (the nightly job), and an erased person's numbers go
# from every file still kept (customer_erase) while the record stays as the evidence.

RESULT_NUMBER_COLUMNS = (RESULT_HEADER.index("phone"), RESULT_HEADER.index("number"))
REDACTED_NUMBER = "[erased]"


def screening_results_purge_expired(*, now=None, held: frozenset[int] = frozenset()) -> dict:
    """Result files of screenings older than legal.CALL_LIST_RESULT_RETENTION_MONTHS: deleted
    (once the transaction commits), the record kept with its path blanked. Counts only."""
    cutoff = retention_cutoff(legal.CALL_LIST_RESULT_RETENTION_MONTHS, now)
    removed = []
    with transaction.atomic():
        expired = CampaignScreening.objects.select_for_update().filter(screened_at__lt=cutoff).exclude(result_path="")
        for screening in expired:
            removed.append(screening.result_path)
            screening.result_path = ""
            save_tracked(
                screening,
                actor=None,  # the nightly retention run
                reason="Result file deleted: its retention period ended",
                update_fields=["result_path"],
            )
        files_delete_after_commit(removed)
    return {"customers.CampaignScreening result files": len(removed)}


def _number_of(cell: str) -> str:
    """A result file's number cell to E.164 ('' when it is none): as written, or as typed."""
    value = cell[1:] if cell.startswith("'") else cell
    return parse_uk(value)[0] if value else ""


def results_redacted(*, phones: frozenset[str], references: frozenset[str]) -> dict[str, bytes]:
    """The result files still kept that hold one of `phones` (E.164), or a row called by one of
    `references`, each as its new content with those rows' numbers replaced by REDACTED_NUMBER:
    {relative path: content}. Reads every kept file (a year of campaigns); writes nothing."""
    changed: dict[str, bytes] = {}
    for screening in CampaignScreening.objects.exclude(result_path="").order_by("pk"):
        text = file_read_text(screening.result_path)
        if text is None:
            continue
        rows = list(csv.reader(io.StringIO(text)))
        dirty = False
        for row in rows[1:]:
            if len(row) != len(RESULT_HEADER):
                continue
            named = row[1] in references
            if named or any(_number_of(row[i]) in phones for i in RESULT_NUMBER_COLUMNS if row[i]):
                for i in RESULT_NUMBER_COLUMNS:
                    if row[i] and row[i] != REDACTED_NUMBER:
                        row[i] = REDACTED_NUMBER
                        dirty = True
        if dirty:
            out = io.StringIO()
            writer = csv_safe.writer(out)
            writer.writerows(rows)
            changed[screening.result_path] = out.getvalue().encode()
    return changed


def in_flight_redacted(*, phones: frozenset[str], references: frozenset[str]) -> int:
    """For an erasure, inside its transaction: every screening still queued or running whose list holds one of `phones`
    (E.164) or a row called by one of `references` gets those rows' numbers replaced by
    REDACTED_NUMBER in its queued rows and starts again from the first row, queued, once this
    commits (a run in progress finds the record no longer its own at its next batch and stops,
    so no result file is written from the rows as they were). The records are locked first.
    Returns how many lists were changed."""
    changed = 0
    in_flight = CampaignScreening.objects.select_for_update().filter(
        status__in=(CampaignScreening.Status.QUEUED, CampaignScreening.Status.RUNNING)
    )
    for screening in in_flight.exclude(rows_path="").order_by("pk"):
        rows = _read_rows(screening)
        if rows is None:
            continue
        dirty = False
        out = io.StringIO()
        writer = csv_safe.internal_writer(out)
        for row in rows:
            phone = row.phone
            if phone and phone != REDACTED_NUMBER and (row.reference in references or _number_of(phone) in phones):
                phone, dirty = REDACTED_NUMBER, True
            writer.writerow((row.line, row.reference, phone))
        if not dirty:
            continue
        screening.status = CampaignScreening.Status.QUEUED
        screening.started_at = None
        screening.rows_done = 0
        save_tracked(
            screening,
            actor=None,
            reason="Screening started again: a person on the list was erased",
            update_fields=["status", "started_at", "rows_done"],
        )
        write_after_commit(screening.rows_path, out.getvalue().encode())
        tasks.screen_call_list.delay_on_commit(screening.pk)
        changed += 1
    return changed


def results_write_after_commit(contents: dict[str, bytes]) -> None:
    """Replace each result file (atomically, by rename) once the transaction commits."""
    for relative, content in contents.items():
        write_after_commit(relative, content)
