"""Deletion outside the portal: every purge and every erasure of calls asks the stores that hold
copies to delete them, and tracks each request until it is confirmed.

The stores: the telephony platform's call-recording store (it holds the audio under
`Call.recording_ref`), and every active recipient in the recipient register marked as holding
call audio or transcripts (`Recipient.holds_call_data`: the transcription provider). One
DeletionTask per store per purge or erasure, listing the references to delete (recording
references and call ids, never a personal value). It is confirmed either by a person, with the
provider's confirmation attached, or by the provider's own system through a token-authenticated
endpoint (`deletion_task_token`), or by the provider's confirmation file uploaded by the DPO (a
CSV of reference, deleted_at, confirmation_id: `deletion_confirm_by_csv`, which confirms each
reference it lists and the tasks it completes, or nothing). Unconfirmed after
legal.EXTERNAL_DELETION_CONFIRM_DAYS, it is overdue and the DPO's dashboard says so.
"""

from __future__ import annotations

import datetime
import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from privacy_portal import legal
from privacy_portal.bounds import check_text
from privacy_portal.models import User
from privacy_portal.private_storage import upload_read, write_after_commit
from privacy_portal.tracked import save_tracked

from ..access import may_change_deletion_tasks
from ..models import DeletionTask, Recipient
from .imports import (
    ERR_REQUIRED,
    ImportRejected,
    RowError,
    parse_datetime_cell,
    read_csv,
    read_upload,
)

ERR_ALREADY_CONFIRMED = "This deletion has already been confirmed."
ERR_FILE_NEEDED = "Attach the provider's confirmation (PDF, JPEG or PNG)."
ERR_REFERENCES = "The confirmation must list every reference of the task; missing: {missing}."
ERR_NOTHING_TO_DELETE = "This task lists no reference for the store to delete: there is nothing to confirm as deleted."
ERR_PERMISSION = "Only the DPO confirms a deletion at a store outside the portal."
ERR_CSV_UNKNOWN_REFERENCE = "No open deletion task of this store lists this reference."
ERR_CSV_DUPLICATE = "The same reference is on line {line} already."
ERR_CSV_ALREADY = "This reference was confirmed already."
ERR_CSV_FUTURE = "The deletion time is in the future."
ERR_CSV_CONFIRMATION_ID = (
    "Enter the provider's confirmation id: letters, digits and . _ : / - only, at most {limit} characters."
)

# The provider's confirmation file: one row per reference deleted.
DELETION_CONFIRMATION_HEADER = ("reference", "deleted_at", "confirmation_id")
CONFIRMATION_ID_MAX = 100
CONFIRMATION_ID_RE = re.compile(r"[A-Za-z0-9._:/-]+\Z")


@dataclass(frozen=True)
class PurgedCall:
    """What a store needs to find its copy of a deleted call: ids only."""

    call_id: int
    recording_ref: str
    transcribed: bool


def deletion_tasks_create(
    *,
    actor: User | None,
    calls: Iterable[PurgedCall],
    cause: str,
    source_reference: str,
    now: datetime.datetime | None = None,
) -> list[DeletionTask]:
    """One task for the recording store (calls with a recording) and one for each active
    recipient holding call audio or transcripts (calls sent for transcription). Nothing to
    delete, no task: a task must list at least one reference the store knows its copy by (a
    transcribed call with no recording reference gives the provider nothing to find), or it
    could later be confirmed as a deletion of nothing."""
    calls = list(calls)
    now = now or timezone.now()
    due_on = timezone.localdate(now) + datetime.timedelta(days=legal.EXTERNAL_DELETION_CONFIRM_DAYS)
    tasks = []
    recorded = [c for c in calls if c.recording_ref]
    if recorded:
        tasks.append(
            DeletionTask(
                store=DeletionTask.Store.RECORDING_STORE,
                references=sorted({c.recording_ref for c in recorded}),
                call_ids=sorted(c.call_id for c in recorded),
            )
        )
    transcribed = [c for c in calls if c.transcribed and c.recording_ref]
    if transcribed:
        for recipient in Recipient.objects.filter(holds_call_data=True, active=True).order_by("pk"):
            tasks.append(
                DeletionTask(
                    store=DeletionTask.Store.RECIPIENT,
                    recipient=recipient,
                    references=sorted({c.recording_ref for c in transcribed}),
                    call_ids=sorted(c.call_id for c in transcribed),
                )
            )
    for task in tasks:
        task.cause, task.source_reference, task.created_at, task.due_on = cause, source_reference, now, due_on
        save_tracked(task, actor=actor, reason=f"Deletion asked for: {DeletionTask.Cause(cause).label}")
    return tasks


def deletion_task_token(task: DeletionTask) -> str:
    """The token the provider's system presents to confirm this one task (sent with the request
    to delete). Derived from SECRET_KEY, so nothing secret is stored; a task's token confirms
    only that task."""
    return salted_hmac("customers.DeletionTask.confirm", f"{task.pk}:{task.created_at.isoformat()}").hexdigest()


def deletion_task_token_valid(task: DeletionTask, token: str) -> bool:
    return hmac.compare_digest(deletion_task_token(task), token or "")


def open_deletion_tasks() -> QuerySet[DeletionTask]:
    return DeletionTask.objects.filter(confirmed_at__isnull=True).select_related("recipient")


def overdue_deletion_tasks(today: datetime.date | None = None):
    return open_deletion_tasks().filter(due_on__lt=today or timezone.localdate())


def _locked_open(task: DeletionTask) -> DeletionTask:
    task = DeletionTask.objects.select_for_update().get(pk=task.pk)
    if task.confirmed_at is not None:
        raise ValidationError(ERR_ALREADY_CONFIRMED)
    if not task.references:  # (none is created so since; never confirmed as a deletion)
        raise ValidationError(ERR_NOTHING_TO_DELETE)
    return task


@transaction.atomic
def deletion_confirm_by_person(*, actor: User, task: DeletionTask, upload, note: str = "") -> DeletionTask:
    """A member of staff (the DPO) confirms the deletion, attaching the provider's confirmation."""
    if not may_change_deletion_tasks(actor):
        raise ValidationError(ERR_PERMISSION)
    if upload is None:
        raise ValidationError({"file": ERR_FILE_NEEDED})
    check_text(note or "")
    data, _content_type, extension = upload_read(upload, field="file")
    task = _locked_open(task)
    relative = f"deletion-confirmations/{task.pk}/{uuid.uuid4().hex}.{extension}"
    task.confirmed_at, task.confirmed_by, task.confirmed_via = timezone.now(), actor, DeletionTask.Via.PERSON
    task.confirmation_path, task.confirmation_note = relative, (note or "").strip()
    save_tracked(task, actor=actor, reason="Deletion confirmed, provider's confirmation attached")
    write_after_commit(relative, data)
    return task


@transaction.atomic
def deletion_confirm_by_provider(*, task: DeletionTask, deleted: Iterable[str]) -> DeletionTask:
    """The provider's system confirms (the endpoint has checked its token): it must list every
    reference of the task, or nothing is recorded."""
    task = _locked_open(task)
    missing = sorted(set(task.references) - {str(ref) for ref in deleted})
    if missing:
        raise ValidationError(ERR_REFERENCES.format(missing=", ".join(missing[:10])))
    task.confirmed_at, task.confirmed_via = timezone.now(), DeletionTask.Via.PROVIDER
    save_tracked(task, actor=None, reason="Deletion confirmed by the provider's system")
    return task


@dataclass
class CsvConfirmation:
    rows: int
    tasks_confirmed: list[int]
    tasks_still_open: list[int]


def _store_tasks(store: str, recipient: Recipient | None):
    tasks = DeletionTask.objects.filter(confirmed_at__isnull=True, store=store)
    if store == DeletionTask.Store.RECIPIENT:
        tasks = tasks.filter(recipient=recipient)
    return tasks


@transaction.atomic
def deletion_confirm_by_csv(
    *, actor: User, file, name: str, store: str, recipient: Recipient | None = None
) -> CsvConfirmation:
    """The DPO uploads a store's confirmation file (DELETION_CONFIRMATION_HEADER): every row's
    reference is confirmed in the open tasks of that store that list it (with the deletion time
    and the provider's confirmation id); a task whose every reference is then confirmed is
    confirmed, with the file attached. All or nothing: one bad row (a reference in no open task
    of the store, already confirmed, given twice; a bad or future time; a bad confirmation id)
    and nothing is recorded; every problem is named by line and column (imports.ImportRejected)."""
    if not may_change_deletion_tasks(actor):
        raise ValidationError(ERR_PERMISSION)
    data = read_upload(file, name=name)
    errors: list[RowError] = []
    rows = read_csv(data, DELETION_CONFIRMATION_HEADER, errors)
    tasks = list(_store_tasks(store, recipient).select_for_update().order_by("pk"))
    listing: dict[str, list[DeletionTask]] = {}
    for task in tasks:
        for ref in task.references:
            listing.setdefault(str(ref), []).append(task)
    now = timezone.now()
    seen: dict[str, int] = {}
    confirmed: list[tuple[str, datetime.datetime, str]] = []
    for line, cells in rows:
        reference, deleted_at, confirmation_id = cells
        found = len(errors)
        if not reference:
            errors.append(RowError(line, "reference", ERR_REQUIRED))
        elif reference in seen:
            errors.append(RowError(line, "reference", ERR_CSV_DUPLICATE.format(line=seen[reference])))
        elif reference not in listing:
            errors.append(RowError(line, "reference", ERR_CSV_UNKNOWN_REFERENCE))
        elif any(reference in task.confirmed_references for task in listing[reference]):
            errors.append(RowError(line, "reference", ERR_CSV_ALREADY))
        seen.setdefault(reference, line)
        when = parse_datetime_cell(errors, line, "deleted_at", deleted_at)
        if when is not None and when > now:
            errors.append(RowError(line, "deleted_at", ERR_CSV_FUTURE))
        if not confirmation_id:
            errors.append(RowError(line, "confirmation_id", ERR_REQUIRED))
        elif len(confirmation_id) > CONFIRMATION_ID_MAX or not CONFIRMATION_ID_RE.match(confirmation_id):
            errors.append(RowError(line, "confirmation_id", ERR_CSV_CONFIRMATION_ID.format(limit=CONFIRMATION_ID_MAX)))
        if len(errors) == found:
            assert when is not None  # else an error was recorded
            confirmed.append((reference, when, confirmation_id))
    if errors:
        raise ImportRejected(errors)
    relative = f"deletion-confirmations/csv/{uuid.uuid4().hex}.csv"
    touched: dict[int, DeletionTask] = {}
    for reference, when, confirmation_id in confirmed:
        for task in listing[reference]:
            task.confirmed_references[reference] = {
                "deleted_at": when.isoformat(),
                "confirmation_id": confirmation_id,
                "file": relative,
            }
            touched[task.pk] = task
    done, still_open = [], []
    for task in touched.values():
        if set(map(str, task.references)) <= set(task.confirmed_references):
            task.confirmed_at, task.confirmed_by, task.confirmed_via = now, actor, DeletionTask.Via.CSV
            task.confirmation_path = relative
            task.confirmation_note = f"Every reference confirmed by the provider's file ({len(task.references)})"
            reason = "Deletion confirmed by the provider's confirmation file"
            done.append(task.pk)
        else:
            reason = "References confirmed by the provider's confirmation file"
            still_open.append(task.pk)
        save_tracked(task, actor=actor, reason=reason)
    write_after_commit(relative, data)
    return CsvConfirmation(rows=len(confirmed), tasks_confirmed=sorted(done), tasks_still_open=sorted(still_open))
