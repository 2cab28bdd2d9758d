"""Case documents in private storage: accepted by content (not by name), deleted when done."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from privacy_portal.legal import IDENTITY_DOCUMENT_MAX_BYTES

from ..models import Case, CaseDocument

ERR_TYPE = "Upload a PDF, JPEG or PNG file. This file is not one of those, whatever its name says."
ERR_SIZE = f"The file is too big: the limit is {IDENTITY_DOCUMENT_MAX_BYTES // (1024 * 1024)} MB."
ERR_EMPTY = "The file is empty."

# Recognised by their first bytes ("magic numbers"), never by the file name or the browser's claim.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    return None


def private_path(relative: str) -> Path:
    root = Path(settings.PRIVATE_STORAGE_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("path escapes private storage")
    return path


@transaction.atomic
def document_store(*, actor, case: Case, upload, kind: str) -> CaseDocument:
    """Validate and store an uploaded file privately. Nothing is stored if it is refused."""
    size = getattr(upload, "size", None)
    if size is not None and size > IDENTITY_DOCUMENT_MAX_BYTES:
        raise ValidationError({"file": ERR_SIZE})
    data = upload.read(IDENTITY_DOCUMENT_MAX_BYTES + 1)
    if len(data) > IDENTITY_DOCUMENT_MAX_BYTES:
        raise ValidationError({"file": ERR_SIZE})
    if not data:
        raise ValidationError({"file": ERR_EMPTY})
    sniffed = sniff(data[:16])
    if sniffed is None:
        raise ValidationError({"file": ERR_TYPE})
    content_type, ext = sniffed
    relative = f"cases/{case.pk}/{kind}/{uuid.uuid4().hex}.{ext}"
    path = private_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        doc = CaseDocument(
            case=case, kind=kind, path=relative, content_type=content_type, size=len(data), uploaded_by=actor
        )
        doc._history_user = actor
        doc.save()
    except Exception:
        path.unlink(missing_ok=True)  # no file without its row
        raise
    return doc


@transaction.atomic
def document_delete(*, actor, doc: CaseDocument, reason: str) -> None:
    """Delete the file, keeping the row as the record that it existed and was deleted."""
    if doc.deleted_at is not None:
        return
    if doc.path:
        private_path(doc.path).unlink(missing_ok=True)
    doc.path = ""
    doc.deleted_at = timezone.now()
    doc.deletion_reason = reason
    doc._history_user = actor
    doc._change_reason = f"File deleted: {reason}"
    doc.save()


def documents_delete_identity(*, actor, case: Case, reason: str) -> int:
    """Identity evidence is deleted as soon as verification is decided (data minimisation)."""
    docs = list(case.documents.filter(kind=CaseDocument.Kind.IDENTITY, deleted_at__isnull=True))
    for doc in docs:
        document_delete(actor=actor, doc=doc, reason=reason)
    return len(docs)
