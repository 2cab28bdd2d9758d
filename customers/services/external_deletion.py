"""Deletion outside the portal: every purge and every erasure of calls asks the stores that hold
copies to delete them, and tracks each request until it is confirmed.

The stores: the telephony platform's call-recording store (it holds the audio under
`Call.recording_ref`), and every active recipient in the recipient register marked as holding
call audio or transcripts (`Recipient.holds_call_data`: the transcription provider). One
DeletionTask per store per purge or erasure, listing the references to delete (recording
references and call ids, never a personal value). It is confirmed either by a person, with the
provider's confirmation attached, or by the provider's own system through a token-authenticated
endpoint (`deletion_task_token`). Unconfirmed after legal.EXTERNAL_DELETION_CONFIRM_DAYS, it is
overdue and the DPO's dashboard says so.
"""

from __future__ import annotations

import datetime
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from privacy_portal import legal
from privacy_portal.bounds import check_text

from ..models import DeletionTask, Recipient

ERR_ALREADY_CONFIRMED = "This deletion has already been confirmed."
ERR_FILE_NEEDED = "Attach the provider's confirmation (PDF, JPEG or PNG)."
ERR_REFERENCES = "The confirmation must list every reference of the task; missing: {missing}."
ERR_PERMISSION = "Only the DPO confirms a deletion at a store outside the portal."


@dataclass(frozen=True)
class PurgedCall:
    """What a store needs to find its copy of a deleted call: ids only."""

    call_id: int
    recording_ref: str
    transcribed: bool


def deletion_tasks_create(
    *, calls: Iterable[PurgedCall], cause: str, source_reference: str, now: datetime.datetime | None = None
) -> list[DeletionTask]:
    """One task for the recording store (calls with a recording) and one for each active
    recipient holding call audio or transcripts (calls sent for transcription). Nothing to
    delete, no task."""
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
    transcribed = [c for c in calls if c.transcribed]
    if transcribed:
        for recipient in Recipient.objects.filter(holds_call_data=True, active=True).order_by("pk"):
            tasks.append(
                DeletionTask(
                    store=DeletionTask.Store.RECIPIENT,
                    recipient=recipient,
                    references=sorted({c.recording_ref for c in transcribed if c.recording_ref}),
                    call_ids=sorted(c.call_id for c in transcribed),
                )
            )
    for task in tasks:
        task.cause, task.source_reference, task.created_at, task.due_on = cause, source_reference, now, due_on
        task._change_reason = f"Deletion asked for: {DeletionTask.Cause(cause).label}"
        task.save()
    return tasks


def deletion_task_token(task: DeletionTask) -> str:
    """The token the provider's system presents to confirm this one task (sent with the request
    to delete). Derived from SECRET_KEY, so nothing secret is stored; a task's token confirms
    only that task."""
    return salted_hmac("customers.DeletionTask.confirm", f"{task.pk}:{task.created_at.isoformat()}").hexdigest()


def deletion_task_token_valid(task: DeletionTask, token: str) -> bool:
    return hmac.compare_digest(deletion_task_token(task), token or "")


def open_deletion_tasks():
    return DeletionTask.objects.filter(confirmed_at__isnull=True).select_related("recipient")


def overdue_deletion_tasks(today: datetime.date | None = None):
    return open_deletion_tasks().filter(due_on__lt=today or timezone.localdate())


def _locked_open(task: DeletionTask) -> DeletionTask:
    task = DeletionTask.objects.select_for_update().get(pk=task.pk)
    if task.confirmed_at is not None:
        raise ValidationError(ERR_ALREADY_CONFIRMED)
    return task


@transaction.atomic
def deletion_confirm_by_person(*, actor, task: DeletionTask, upload, note: str = "") -> DeletionTask:
    """A member of staff (the DPO) confirms the deletion, attaching the provider's confirmation."""
    from requests.services.documents import document_check, private_path

    if not actor.has_perm("customers.change_deletiontask"):
        raise ValidationError(ERR_PERMISSION)
    if upload is None:
        raise ValidationError({"file": ERR_FILE_NEEDED})
    check_text(note or "")
    data, _content_type, extension = document_check(upload)
    task = _locked_open(task)
    relative = f"deletion-confirmations/{task.pk}/{uuid.uuid4().hex}{extension}"
    task.confirmed_at, task.confirmed_by, task.confirmed_via = timezone.now(), actor, DeletionTask.Via.PERSON
    task.confirmation_path, task.confirmation_note = relative, (note or "").strip()
    task._history_user, task._change_reason = actor, "Deletion confirmed, provider's confirmation attached"
    task.save()

    def write() -> None:
        path = private_path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    transaction.on_commit(write)
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
    task._change_reason = "Deletion confirmed by the provider's system"
    task.save()
    return task
