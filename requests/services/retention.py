"""Retention of the case files: the schedule's services for rights requests, complaints, their
correspondence and documents, and the people affected by a breach
(privacy_portal.retention.SCHEDULE names each). Each takes `now` and `held` (the ids of
customers under a legal hold) and returns counts only.

A case or complaint closed more than legal.CASE_FILE_RETENTION_YEARS ago is deleted whole:
the row, everything in its file (notes, tasks, clock stops, documents and their files,
correspondence and attachments, the ICO's case and deadlines), and every history row of each.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Q
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.purge import delete_with_history

from ..models import BreachAffected, Case, CaseCorrespondence, CaseDocument, Complaint
from . import export
from .correspondence import case_files_purge_expired
from .documents import document_delete

IDENTITY_CLOSED_REASON = "Retention: identity evidence left on a closed request"


def _today(now: datetime.datetime | None) -> datetime.date:
    return timezone.localdate(now or timezone.now())


def case_file_cutoff(now: datetime.datetime | None = None) -> datetime.date:
    """Case files closed before this day are past legal.CASE_FILE_RETENTION_YEARS."""
    return _today(now) - relativedelta(years=legal.CASE_FILE_RETENTION_YEARS)


def case_file_path(obj) -> str:
    """The private-storage file a case-file row holds, if any."""
    if isinstance(obj, CaseDocument):
        return obj.path
    if isinstance(obj, CaseCorrespondence):
        return obj.attachment_path
    return ""


def _counts(counts, *labels: str, held: int = 0) -> dict:
    report = {}
    for label in labels:
        name = label.split(".")[1].lower()
        report[name] = counts.get(label, 0)
        report[f"{name}_history"] = counts.get(f"{label} history", 0)
    report["held"] = held + counts.get("held", 0)  # a hold that came during the run
    return report


def cases_delete_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Rights requests closed more than six years ago, their whole file and its history."""
    expired = Case.objects.filter(closed_on__lt=case_file_cutoff(now))
    kept = expired.filter(customer_id__in=held).count() if held else 0
    counts = delete_with_history(expired.exclude(customer_id__in=held), files=case_file_path)
    return _counts(
        counts, "requests.Case", "requests.CaseDocument", "requests.CaseNote", "requests.CaseCorrespondence", held=kept
    )


def complaints_delete_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Complaints closed more than six years ago, with the ICO's case, correspondence and history."""
    expired = Complaint.objects.filter(status=Complaint.Status.CLOSED, closed_on__lt=case_file_cutoff(now))
    kept = expired.filter(customer_id__in=held).count() if held else 0
    counts = delete_with_history(expired.exclude(customer_id__in=held), files=case_file_path)
    return _counts(counts, "requests.Complaint", "requests.IcoCase", "requests.CaseCorrespondence", held=kept)


def case_correspondence_purge_expired(
    *, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()
) -> dict:
    """Correspondence of case files past six years whose parent is still there (a held file's
    stays; the rest normally goes with its case or complaint)."""
    report = case_files_purge_expired(today=_today(now), held=held, audit=False)
    return report


def identity_documents_delete_closed(
    *, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()
) -> dict:
    """Identity evidence still on file once a request has closed (it is deleted as soon as the
    identity decision is made; this catches what was left): the file goes, the row records it."""
    docs = CaseDocument.objects.filter(
        kind=CaseDocument.Kind.IDENTITY, deleted_at__isnull=True, case__closed_on__isnull=False
    )
    kept = docs.filter(case__customer_id__in=held).count() if held else 0
    deleted = 0
    for doc in docs.exclude(case__customer_id__in=held).order_by("pk").iterator(chunk_size=500):
        document_delete(actor=None, doc=doc, reason=IDENTITY_CLOSED_REASON)
        deleted += 1
    return {"deleted": deleted, "held": kept}


def exports_delete_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Exports past legal.EXPORT_RETENTION_DAYS (a copy of the person's data: never held)."""
    return export.exports_delete_expired(now=now)


def breach_affected_detach_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """The list of people affected by a breach closed more than
    legal.BREACH_AFFECTED_RETENTION_YEARS ago: deleted, with its history; the breach stays."""
    cutoff = (now or timezone.now()) - relativedelta(years=legal.BREACH_AFFECTED_RETENTION_YEARS)
    expired = BreachAffected.objects.filter(Q(breach__closed_at__lt=cutoff))
    kept = expired.filter(customer_id__in=held).count() if held else 0
    counts = delete_with_history(expired.exclude(customer_id__in=held))
    return _counts(counts, "requests.BreachAffected", held=kept)
