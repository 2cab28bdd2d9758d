"""Case documents: rows of CaseDocument whose files live in private storage
(privacy_portal.private_storage: checked by content, written after the commit), deleted when done."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils import timezone

from privacy_portal.models import User
from privacy_portal.private_storage import (
    FILE_NOT_WRITTEN,
    files_delete_after_commit,
    private_path,
    upload_read,
    write_after_commit,
)
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseDocument

HTML = "text/html; charset=utf-8"


def document_create(
    *,
    actor: User | None,
    case: Case,
    kind: str,
    data: bytes,
    content_type: str,
    ext: str,
    reason: str | None,
    uploaded_at: datetime.datetime | None = None,
) -> CaseDocument:
    """The one way a case document is made: its row saved (with history) in the caller's
    transaction, its file written to private storage once that commits. If the file cannot be
    written the row says so (deleted, with why)."""
    relative = f"cases/{case.pk}/{kind}/{uuid.uuid4().hex}.{ext}"
    private_path(relative)  # refuses a path outside private storage before anything is written
    doc = CaseDocument(
        case=case, kind=kind, path=relative, content_type=content_type, size=len(data), uploaded_by=actor
    )
    if uploaded_at is not None:
        doc.uploaded_at = uploaded_at
    save_tracked(doc, actor=actor, reason=reason)
    document_write_after_commit(doc, data)
    return doc


@transaction.atomic
def document_store(*, actor: User | None, case: Case, upload, kind: str) -> CaseDocument:
    """Validate an uploaded file and store it privately. Files follow the commit: the row is
    written in the caller's transaction and the file only once it commits, so a step refused
    after this (or any error rolling the transaction back) leaves neither row nor file."""
    data, content_type, ext = upload_read(upload, field="file")
    return document_create(
        actor=actor, case=case, kind=kind, data=data, content_type=content_type, ext=ext, reason=None
    )


def document_write_after_commit(doc: CaseDocument, data: bytes) -> None:
    """Write a document's file once its row commits; if it cannot be written the row says so
    (deleted, with why)."""
    write_after_commit(doc.path, data, on_failure=lambda: document_delete(actor=None, doc=doc, reason=FILE_NOT_WRITTEN))


@transaction.atomic
def document_delete(*, actor: User | None, doc: CaseDocument, reason: str) -> None:
    """Delete the file, keeping the row as the record that it existed and was deleted. The file
    goes once the transaction commits: rolled back, the row still names it and it is there."""
    if doc.deleted_at is not None:
        return
    if doc.path:
        files_delete_after_commit([doc.path])
    doc.path = ""
    doc.deleted_at = timezone.now()
    doc.deletion_reason = reason
    save_tracked(doc, actor=actor, reason=f"File deleted: {reason}")


def documents_delete_identity(*, actor: User, case: Case, reason: str) -> int:
    """Identity evidence is deleted as soon as verification is decided (data minimisation)."""
    docs = list(case.documents.filter(kind=CaseDocument.Kind.IDENTITY, deleted_at__isnull=True))
    for doc in docs:
        document_delete(actor=actor, doc=doc, reason=reason)
    return len(docs)
