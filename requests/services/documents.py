"""Case documents in private storage: accepted by content (not by name), deleted when done."""

from __future__ import annotations

import os
import tempfile
import time
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


# Files being written (exports, certificates) live here under a .part name until renamed into
# place, all in one directory so the sweep lists one directory, not one per case. It is inside
# private storage, so the rename is atomic (one filesystem) and a partial file of personal data
# is never anywhere a reader or a backup of the public side would find it.
TEMPORARY_DIR = "tmp"
TEMPORARY_SUFFIX = ".part"


def temporary_file() -> tuple[int, str]:
    """A new temporary file in private storage: (open descriptor, absolute path)."""
    directory = private_path(TEMPORARY_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=directory, suffix=TEMPORARY_SUFFIX)


def temporary_files_delete_stale(*, older_than_seconds: float, now: float | None = None) -> int:
    """Delete every temporary file not written to for `older_than_seconds` (a writer killed
    mid-write: SIGKILL, out of memory, a lost machine). Returns how many were deleted."""
    cutoff = (time.time() if now is None else now) - older_than_seconds
    directory = private_path(TEMPORARY_DIR)
    deleted = 0
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return 0
    with entries:
        for entry in entries:
            if not entry.name.endswith(TEMPORARY_SUFFIX) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    deleted += 1
            except FileNotFoundError:  # renamed into place or removed meanwhile
                continue
    return deleted


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
