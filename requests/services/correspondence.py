"""Case-file correspondence: letters, emails and calls in and out on a rights request or a
complaint, with an optional attachment in private storage, and their retention.

Attachments follow the identity-document rules (privacy_portal.private_storage): PDF, JPEG or
PNG recognised by content, at most legal.IDENTITY_DOCUMENT_MAX_BYTES, written under
PRIVATE_STORAGE_ROOT and served only through an access-checked view.

Retention. These records are part of the case file, which the register of processing
activities ("Rights requests", "Complaints") keeps for legal.CASE_FILE_RETENTION_YEARS after
the case or complaint closes (the limitation period). The 6-month rule for brief
customer-service records (customers.services.retention) does not apply to them.
`case_files_purge_expired` enforces it nightly.

THE AUDITED EXCEPTION, as in customers.services.retention: the purge deletes the live rows
*and* their history rows in SQL, without the "deleted" history record simple-history would
write (it would copy the summary into history again). What is kept is the count of what was
removed, in the job's run record (JobRun).
"""

from __future__ import annotations

import datetime
import uuid

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from customers.services import legal_holds
from privacy_portal import legal
from privacy_portal.audit import audit_scrub
from privacy_portal.models import User
from privacy_portal.private_storage import FILE_NOT_WRITTEN, files_delete_after_commit, upload_read, write_after_commit
from privacy_portal.services.replay import note_deleted
from privacy_portal.tracked import save_tracked

from ..access import may_work_case, may_work_complaint
from ..models import Case, CaseCorrespondence, Complaint

ERR_PARENT = "Correspondence belongs to exactly one rights request or complaint."
ERR_NOT_WORKER = "Only the handler or the DPO can add correspondence here."
ERR_SUMMARY = "Summarise the letter, email or call."
ERR_SUMMARY_LONG = "Keep the summary under 2,000 characters; attach the full text."
ERR_DIRECTION = "Say whether it came in or went out."
ERR_MEDIUM = "Choose letter, email or phone call."
ERR_DATE_FUTURE = "The date cannot be in the future."
ERR_DATE_BEFORE = "The date cannot be before the {what} was received ({day})."

# Ids deleted per transaction in the purge.
PURGE_BATCH_SIZE = 2000


def _may_add(actor: User, case: Case | None, complaint: Complaint | None) -> bool:
    if case is not None:
        return may_work_case(actor, case)
    assert complaint is not None  # one of the two (checked by the caller)
    return may_work_complaint(actor, complaint)


@transaction.atomic
def correspondence_add(
    *,
    actor: User,
    occurred_on: datetime.date,
    direction: str,
    medium: str,
    summary: str,
    case: Case | None = None,
    complaint: Complaint | None = None,
    upload=None,
) -> CaseCorrespondence:
    """Record a letter, email or call on one case or complaint, with an optional attachment.
    Refused input stores nothing (no row, no file)."""
    if (case is None) == (complaint is None):
        raise ValidationError(ERR_PARENT)
    if not _may_add(actor, case, complaint):
        raise ValidationError(ERR_NOT_WORKER)
    parent = case or complaint
    assert parent is not None  # one of the two (checked above)
    errors: dict[str, str] = {}
    if direction not in CaseCorrespondence.Direction.values:
        errors["direction"] = ERR_DIRECTION
    if medium not in CaseCorrespondence.Medium.values:
        errors["medium"] = ERR_MEDIUM
    if not summary.strip():
        errors["summary"] = ERR_SUMMARY
    elif len(summary.strip()) > 2000:
        errors["summary"] = ERR_SUMMARY_LONG
    if occurred_on > timezone.localdate():
        errors["occurred_on"] = ERR_DATE_FUTURE
    elif occurred_on < parent.received_on:
        what = "request" if case is not None else "complaint"
        errors["occurred_on"] = ERR_DATE_BEFORE.format(what=what, day=f"{parent.received_on:%-d %B %Y}")
    if errors:
        raise ValidationError(errors)
    item = CaseCorrespondence(
        case=case,
        complaint=complaint,
        occurred_on=occurred_on,
        direction=direction,
        medium=medium,
        summary=summary.strip(),
        recorded_by=actor,
    )
    data = None
    if upload is not None:
        data, content_type, ext = upload_read(upload, field="attachment")
        folder = f"cases/{case.pk}" if case is not None else f"complaints/{parent.pk}"
        item.attachment_path = f"{folder}/correspondence/{uuid.uuid4().hex}.{ext}"
        item.attachment_type = content_type
        item.attachment_size = len(data)
    save_tracked(item, actor=actor, reason="Correspondence recorded")
    if data is not None:
        # The file follows the commit: a refused step or a rollback leaves neither row nor file.
        write_after_commit(item.attachment_path, data, on_failure=lambda: _attachment_not_written(item))
    return item


def _attachment_not_written(item: CaseCorrespondence) -> None:
    """The attachment could not be written after the commit: the record says so, not a file
    that is not there."""
    item.attachment_path = ""
    item.attachment_type = ""
    item.attachment_size = None
    save_tracked(
        item,
        actor=None,
        reason=f"Attachment not kept: {FILE_NOT_WRITTEN}",
        update_fields=["attachment_path", "attachment_type", "attachment_size"],
    )


# --- retention -------------------------------------------------------------------------


def case_file_cutoff(today: datetime.date | None = None) -> datetime.date:
    """Case files closed before this day are past legal.CASE_FILE_RETENTION_YEARS."""
    return (today or timezone.localdate()) - relativedelta(years=legal.CASE_FILE_RETENTION_YEARS)


def _expired_parents(cutoff: datetime.date, held: frozenset[int] = frozenset()) -> Q:
    closed_cases = Case.objects.filter(closed_on__lt=cutoff).exclude(customer_id__in=held).values("pk")
    closed_complaints = (
        Complaint.objects.filter(status=Complaint.Status.CLOSED, closed_on__lt=cutoff)
        .exclude(customer_id__in=held)
        .values("pk")
    )
    return Q(case_id__in=closed_cases) | Q(complaint_id__in=closed_complaints)


def _raw_delete(ids: list[int]) -> int:
    """DELETE in SQL: no signals, so no history row copying the summary is written."""
    table = connection.ops.quote_name(CaseCorrespondence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [ids])  # noqa: S608 (name from model meta)
        return cursor.rowcount


def case_files_purge_expired(
    *,
    today: datetime.date | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
    held: frozenset[int] | None = None,
    audit: bool = True,
) -> dict[str, int]:
    """Delete the correspondence (rows, attachments and history rows) of rights requests and
    complaints closed more than legal.CASE_FILE_RETENTION_YEARS ago. Open case files, and
    those closed more recently, are untouched whatever the age of their letters.

    Safe to run twice: a second run finds nothing. Each batch commits on its own, and its
    attachments are deleted once it commits: rolled back, its letters and their files stay; a
    process killed between the commit and the unlink leaves files no row names, which
    private_files_sweep deletes.
    Returns counts only: correspondence, attachments, correspondence_history. `held`: ids of
    customers under a legal hold, whose case files are left alone (read here when not given).
    `audit=False` when the
    retention schedule's run writes one scrub entry for all it did.
    """
    if held is None:
        # Run as its own task or by hand: the legal holds bind it as they bind the nightly run.

        held = frozenset(legal_holds.held_customer_ids(today or timezone.localdate()))
    cutoff = case_file_cutoff(today)
    expired = _expired_parents(cutoff, held)
    history = CaseCorrespondence.history.model
    report = {"correspondence": 0, "attachments": 0, "correspondence_history": 0}
    rows = CaseCorrespondence.objects.filter(expired).order_by("pk")
    late_held: set[int] = set()
    held_late = 0
    while True:
        with transaction.atomic():
            pending = rows.exclude(case__customer_id__in=late_held).exclude(complaint__customer_id__in=late_held)
            found = list(
                (pending if late_held else rows).values_list(
                    "pk", "attachment_path", "case__customer_id", "complaint__customer_id"
                )[:batch_size]
            )
            if not found:
                break
            # Checked again just before deleting, as the other purges do (held_among): a matter
            # about the person opened since the run read its holds must still stop it (s173).
            held_now = legal_holds.held_among(c for _, _, case_c, complaint_c in found for c in (case_c, complaint_c))
            if held_now:
                late_held |= held_now
            batch = [
                (pk, relative)
                for pk, relative, case_c, complaint_c in found
                if case_c not in held_now and complaint_c not in held_now
            ]
            held_late += len(found) - len(batch)
            if not batch:
                continue
            ids = [pk for pk, _ in batch]
            attachments = [relative for _, relative in batch if relative]
            files_delete_after_commit(attachments)
            report["attachments"] += len(attachments)
            report["correspondence_history"] += history.objects.filter(id__in=ids).delete()[0]
            report["correspondence"] += _raw_delete(ids)
            note_deleted(CaseCorrespondence._meta.label, ids)
    if held_late:
        report["held"] = held_late
    # History rows of the same expired case files whose live row had gone already (not of a
    # person a hold came to cover during the run).
    with transaction.atomic():
        report["correspondence_history"] += (
            history.objects.filter(expired)
            .exclude(case__customer_id__in=late_held)
            .exclude(complaint__customer_id__in=late_held)
            .delete()[0]
        )
    if audit and any(report.values()):
        audit_scrub(actor=None, what="retention: case-file correspondence", details=report)
    return report
