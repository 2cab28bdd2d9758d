"""Case documents in private storage: accepted by content (not by name), deleted when done."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from privacy_portal.legal import IDENTITY_DOCUMENT_MAX_BYTES

from ..models import Case, CaseDocument
from .locking import transition

ERR_TYPE = "Upload a PDF, JPEG or PNG file. This file is not one of those, whatever its name says."
ERR_SIZE = f"The file is too big: the limit is {IDENTITY_DOCUMENT_MAX_BYTES // (1024 * 1024)} MB."
ERR_EMPTY = "The file is empty."
FILE_NOT_WRITTEN = "The file could not be written to private storage"
ORPHAN_BATCH = 1000

log = logging.getLogger(__name__)

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


def document_check(upload) -> tuple[bytes, str, str]:
    """An upload's bytes, content type and extension, or a ValidationError on "file"."""
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
    return data, *sniffed


# --- Files tied to a row: written after the commit, swept if orphaned ------------------------------


def write_after_commit(relative: str, data: bytes, *, on_failure: Callable[[], None] | None = None) -> None:
    """The one way a file that a row names (a document, an attachment, a letter, a certificate,
    an export) is written: only once the transaction that writes the row commits. A step
    refused, or any error rolling the transaction back, leaves neither row nor file; the file
    is written under a temporary name and renamed into place, so never seen half-written.

    A process killed between the commit and the write leaves a row with no file (its download
    answers "not found"); killed while writing, a .part file (temporary_files_delete_stale);
    a file with no row (written by older code, or restored from a backup) is found by
    private_files_sweep. If the write fails, `on_failure` records it on the row."""
    private_path(relative)  # refuses a path outside private storage before anything is committed

    def write() -> None:
        try:
            path = private_path(relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = temporary_file()
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(partial, path)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
        except OSError:
            log.exception("file %s could not be written", relative)  # a random name: no personal data
            if on_failure is not None:
                on_failure()

    transaction.on_commit(write)


@transaction.atomic
def document_store(*, actor, case: Case, upload, kind: str) -> CaseDocument:
    """Validate an uploaded file and store it privately. Files follow the commit: the row is
    written in the caller's transaction and the file only once it commits, so a step refused
    after this (or any error rolling the transaction back) leaves neither row nor file."""
    data, content_type, ext = document_check(upload)
    relative = f"cases/{case.pk}/{kind}/{uuid.uuid4().hex}.{ext}"
    private_path(relative)  # refuses a path outside private storage before anything is written
    doc = CaseDocument(
        case=case, kind=kind, path=relative, content_type=content_type, size=len(data), uploaded_by=actor
    )
    doc._history_user = actor
    doc.save()
    document_write_after_commit(doc, data)
    return doc


def document_write_after_commit(doc: CaseDocument, data: bytes) -> None:
    """Write a document's file once its row commits; if it cannot be written the row says so
    (deleted, with why)."""
    write_after_commit(doc.path, data, on_failure=lambda: document_delete(actor=None, doc=doc, reason=FILE_NOT_WRITTEN))


@transition("case")
def identity_evidence_receive(*, actor, case: Case, upload, on) -> CaseDocument:
    """Identity evidence arrived with its file. The step is checked first (the case must be
    awaiting identity, the date sane): refused, nothing is stored; the file itself refused,
    the step is undone with it (one transaction), and the file is written only on commit."""
    from .cases import case_identity_received

    case_identity_received(actor=actor, case=case, on=on)
    return document_store(actor=actor, case=case, upload=upload, kind=CaseDocument.Kind.IDENTITY)


# Files with no row are left by a process killed between writing and committing (before files
# followed the commit, by every refused step), or restored from a backup taken before a row was
# deleted. A file younger than this may be one whose transaction is still open or committing, so
# it is left for the next sweep.
ORPHAN_GRACE_SECONDS = 24 * 60 * 60
# Every folder of private storage holds files tied to a row (customers.subject.FILE_FIELDS names
# the fields) except these, each with a sweep of its own.
NOT_ROW_FOLDERS = {
    TEMPORARY_DIR: "files being written: temporary_files_delete_stale",
    "suppression": "the daily suppression feed, rebuilt and pruned by the feed build (no row names it)",
    "audit": "the access log's signed checkpoint (privacy_portal.audit.CHECKPOINT_FILE), replaced nightly",
}


def row_file_fields() -> list[tuple[type, str]]:
    """Every model field naming a file in private storage: each CharField whose name ends in
    "path" (history models aside), found, not listed, so a new kind of file is never swept."""
    from django.apps import apps
    from django.db import models

    return [
        (model, f.name)
        for model in apps.get_models()
        if not model.__name__.startswith("Historical")
        for f in model._meta.get_fields()
        if isinstance(f, models.CharField) and f.name.endswith("path")
    ]


def _referenced(paths: list[str]) -> set[str]:
    found: set[str] = set()
    for model, field in row_file_fields():
        found |= set(model._base_manager.filter(**{f"{field}__in": paths}).values_list(field, flat=True))
    return found


def orphaned_files_delete(*, older_than_seconds: float = ORPHAN_GRACE_SECONDS, now: float | None = None) -> int:
    """Delete every file of private storage (outside NOT_ROW_FOLDERS) that no row names and that
    has not been written to for `older_than_seconds`. Returns how many were deleted."""
    cutoff = (time.time() if now is None else now) - older_than_seconds
    root = Path(settings.PRIVATE_STORAGE_ROOT).resolve()
    candidates: list[str] = []
    if not root.is_dir():
        return 0
    for base in root.iterdir():
        if base.name in NOT_ROW_FOLDERS or not base.is_dir() or base.is_symlink():
            continue
        for path in base.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                    candidates.append(path.relative_to(root).as_posix())
            except FileNotFoundError:
                continue
    deleted = 0
    for start in range(0, len(candidates), ORPHAN_BATCH):
        batch = candidates[start : start + ORPHAN_BATCH]
        for relative in sorted(set(batch) - _referenced(batch)):
            private_path(relative).unlink(missing_ok=True)
            log.info("orphaned file deleted: %s", relative)  # a random name: no personal data
            deleted += 1
    return deleted


def private_files_sweep(*, now: float | None = None) -> dict[str, int]:
    """The nightly sweep of private storage: files no row names (a day old), and files being
    written by a process that died (older than any task may run)."""
    return {
        "deleted": orphaned_files_delete(now=now),
        "partial": temporary_files_delete_stale(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT, now=now),
    }


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
