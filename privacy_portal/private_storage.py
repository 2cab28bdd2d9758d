"""Private storage: every file tied to a row (identity evidence, case documents, exports,
certificates, correspondence attachments, call-list screening results, providers' deletion
confirmations), and the one way each is checked, written, deleted and swept.

Files live under settings.PRIVATE_STORAGE_ROOT (never a public URL) and are served only
through access-checked views. The rules, each in one function here:

- An upload is accepted by its content (PDF, JPEG or PNG by their first bytes), never by its
  name or the browser's claim, and only up to legal.IDENTITY_DOCUMENT_MAX_BYTES: `upload_read`.
  Every upload's size is checked by `upload_bytes` (the CSV imports, the MPS file and the
  promise report pass their own limits).
- Files follow the commit: the row and the file's bytes (under a temporary name, so a failed
  write fails the step) are written in the caller's transaction, and the file is renamed into
  place only once that commits: `write_after_commit`. A file no row names, written by code that
  needs no commit (the suppression and ad feeds, the access log's checkpoint), is replaced the
  same way at once: `file_write_now`, or `file_writing` to stream one too big to hold in memory.
  Every file is written to a temporary file of private storage, fsynced, given its mode
  (FILE_MODE unless the caller names another) and renamed into place atomically; no other module
  opens, replaces or renames a file of private storage (`tests/test_one_home_rules.py`).
- Reading: `file_open` (a view's download), `file_read` and `file_read_text` (a service's
  read); each answers None for a row naming no file or a file not there.
  Deleting follows the commit too: `files_delete_after_commit` (or `files_delete` from code
  that already runs after one).
- What a crash leaves is swept nightly: files no row names, and half-written `.part` files:
  `private_files_sweep`.

Folders that hold files no row names (the suppression feed, the access log's checkpoint) are
listed in NOT_ROW_FOLDERS, each with the code that writes and prunes it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from .legal import IDENTITY_DOCUMENT_MAX_BYTES

ERR_TYPE = "Upload a PDF, JPEG or PNG file. This file is not one of those, whatever its name says."
ERR_SIZE = f"The file is too big: the limit is {IDENTITY_DOCUMENT_MAX_BYTES // (1024 * 1024)} MB."
ERR_EMPTY = "The file is empty."
FILE_NOT_WRITTEN = "The file could not be written to private storage"
# A file of private storage is readable by the portal's own user only; a caller whose file
# another system's loader reads (the feeds) names its own mode.
FILE_MODE = 0o600
ORPHAN_BATCH = 1000

log = logging.getLogger(__name__)


# --- Where files are --------------------------------------------------------------------------


def private_root() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT).resolve()


def private_path(relative: str) -> Path:
    """The absolute path of a file of private storage; refuses one that would lie outside it."""
    root = private_root()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("path escapes private storage")
    return path


def private_file(relative: str) -> Path | None:
    """The file a row names, or None if it names none or the file is not there."""
    if not relative:
        return None
    path = private_path(relative)
    return path if path.is_file() else None


def file_open(relative: str) -> BinaryIO | None:
    """The file a row names, opened for reading (the caller closes it: a FileResponse does), or
    None if the row names none or the file is not there (not written yet, as files follow the
    commit, or lost): nothing was read. Opened once, so no check-then-open race."""
    if not relative:
        return None
    try:
        return private_path(relative).open("rb")
    except (FileNotFoundError, IsADirectoryError):
        return None


def file_read(relative: str) -> bytes | None:
    """The bytes of the file a row names, or None if it names none or the file is not there."""
    handle = file_open(relative)
    if handle is None:
        return None
    with handle:
        return handle.read()


def file_read_text(relative: str) -> str | None:
    """The text (UTF-8, newlines as Path.read_text reads them) of the file a row names, or None
    if it names none or the file is not there."""
    if not relative:
        return None
    try:
        return private_path(relative).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return None


# --- Reading and checking an upload -----------------------------------------------------------

# Recognised by their first bytes ("magic numbers"), never by the file name or the browser's claim.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file recognised by its first bytes, or None."""
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    return None


class UploadTooBig(Exception):
    """An upload larger than its limit; the caller refuses it in its own words."""


def upload_bytes(upload, *, limit: int) -> bytes:
    """The bytes of an upload (or of an open local file) of at most `limit` bytes, else
    UploadTooBig: refused unread by its declared size, and never more than the limit and one
    byte read."""
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise UploadTooBig(limit)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooBig(limit)
    return data


def upload_read(upload, *, field: str = "file") -> tuple[bytes, str, str]:
    """An upload's bytes, content type and extension (no dot), or a ValidationError naming
    `field` (nothing stored). Never reads more than the limit and one byte."""
    try:
        data = upload_bytes(upload, limit=IDENTITY_DOCUMENT_MAX_BYTES)
    except UploadTooBig:
        raise ValidationError({field: ERR_SIZE}) from None
    if not data:
        raise ValidationError({field: ERR_EMPTY})
    sniffed = sniff(data[:16])
    if sniffed is None:
        raise ValidationError({field: ERR_TYPE})
    return data, *sniffed


# --- Files being written ----------------------------------------------------------------------

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


# --- Files tied to a row: written and deleted after the commit --------------------------------


@contextmanager
def _temporary(*, mode: int, text: bool) -> Iterator[tuple[IO[Any], str]]:
    """A new temporary file of private storage, open for writing (text: UTF-8, newlines as
    written, as the csv module asks), and its absolute path. On leaving the block it is flushed,
    fsynced and given `mode`; nothing is left if anything fails (a full disk, a read-only
    mount, the caller's error): the error is raised."""
    fd, partial_name = temporary_file()
    try:
        out: IO[Any] = os.fdopen(fd, "w", newline="", encoding="utf-8") if text else os.fdopen(fd, "wb")
        with out:
            yield out, partial_name
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode)
    except BaseException:
        Path(partial_name).unlink(missing_ok=True)
        raise


def _temporary_write(data: bytes, *, mode: int = FILE_MODE) -> str:
    """Write `data` to a new temporary file of private storage (fsynced, `mode`); its absolute
    path."""
    with _temporary(mode=mode, text=False) as (out, partial_name):
        out.write(data)
    return partial_name


def _into_place(partial_name: str, path: Path) -> None:
    """Rename a written temporary file to its row's name (one filesystem: atomic), then fsync
    its folder, so the new name survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial_name, path)
    try:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError:  # the file is in place; only the name's durability across a crash is unsure
        log.warning("folder of %s could not be synced", path.name)  # a random or fixed name: no personal data


def _replace_with(partial_name: str, path: Path) -> None:
    """Put a written temporary file in place of `path` now; the temporary file is deleted if
    that fails."""
    try:
        _into_place(partial_name, path)
    except BaseException:
        Path(partial_name).unlink(missing_ok=True)
        raise


def file_write_now(relative: str, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write (or replace) a file atomically: under a temporary name (fsynced, given `mode`), then
    renamed into place, so a reader sees the old file or the new one, never half of one. Only for
    code that already runs after its commit or writes a file no row names; everything else uses
    write_after_commit."""
    path = private_path(relative)
    _replace_with(_temporary_write(data, mode=mode), path)


@contextmanager
def file_writing(relative: str, *, mode: int = FILE_MODE) -> Iterator[IO[str]]:
    """file_write_now for a text file written bit by bit (a feed of any length, in bounded
    memory): the block writes to the handle yielded (UTF-8, newlines as written, as the csv
    module asks); once it ends the file replaces `relative` atomically. An error in the block
    leaves the old file (or none) as it was, and no temporary file."""
    path = private_path(relative)
    with _temporary(mode=mode, text=True) as (out, partial_name):
        yield out
    _replace_with(partial_name, path)


class _PendingFile:
    """A file written under a temporary name before the commit, renamed into place when called
    (on the commit). Never called (the transaction or its savepoint rolled back, so Django drops
    the callback), its temporary file is deleted as the callback is dropped; a process killed
    first leaves it to temporary_files_delete_stale."""

    def __init__(self, relative: str, partial_name: str, on_failure: Callable[[], None] | None) -> None:
        self.relative, self.partial_name, self.on_failure = relative, partial_name, on_failure
        self._drop = weakref.finalize(self, Path(partial_name).unlink, missing_ok=True)

    def __call__(self) -> None:
        try:
            _into_place(self.partial_name, private_path(self.relative))
        except OSError:
            log.exception("file %s could not be put in place", self.relative)  # a random name: no personal data
            if self.on_failure is not None:
                self.on_failure()
        finally:
            self._drop()


def write_after_commit(relative: str, data: bytes, *, on_failure: Callable[[], None] | None = None) -> None:
    """The one way a file that a row names (a document, an attachment, a letter, a certificate,
    an export, a screening's results, a deletion confirmation) is written: its bytes go to a
    temporary file of private storage now, in the caller's transaction, and it is renamed to the
    name the row holds only once that transaction commits. So a write that fails (a full disk)
    raises here and rolls the step back: nothing half-stored, no row naming a missing file. A
    step refused, or any error rolling the transaction back, leaves neither row nor file (the
    temporary file is deleted as Django drops the commit callback); the file is never seen
    half-written under its name.

    A process killed before the commit leaves a .part file (temporary_files_delete_stale); killed
    between the commit and the rename, a row with no file (its download answers "not found") and
    a .part file; a file with no row (restored from a backup) is found by private_files_sweep.
    If the rename fails after the commit, `on_failure` records it on the row."""
    private_path(relative)  # refuses a path outside private storage before anything is written
    transaction.on_commit(_PendingFile(relative, _temporary_write(data), on_failure))


def files_delete(paths: Iterable[str]) -> None:
    """Delete files from private storage now (gone already is fine): for code run after a
    commit, or deleting a file whose row is being kept as the record that it existed."""
    for relative in paths:
        private_path(relative).unlink(missing_ok=True)


def files_delete_after_commit(paths: Iterable[str]) -> None:
    """Delete files once the transaction that forgets them commits (rolled back, they stay)."""
    paths = list(paths)
    for relative in paths:
        private_path(relative)  # refuses a path outside private storage before anything is committed
    if paths:
        transaction.on_commit(partial(files_delete, paths))


# --- The sweep --------------------------------------------------------------------------------

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


def row_file_fields() -> list[tuple[type[models.Model], str]]:
    """Every model field naming a file in private storage: each CharField whose name ends in
    "path" (history models aside), found, not listed, so a new kind of file is never swept."""
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
    root = private_root()
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
