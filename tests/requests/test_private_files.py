"""Every file tied to a row is written after the commit, and every file no row names is swept.

One mechanism (privacy_portal.private_storage.write_after_commit) writes every kind of file a row
names: identity evidence, correspondence attachments (on a case or a complaint), the "informed"
letter, the erasure certificate, exports. One sweep (private_files_sweep) removes, from every
folder of private storage but those with a sweep of their own, the files no row names.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.test import TestCase
from django.utils import timezone

from customers.models import DeletionTask
from customers.services.campaign import campaign_screen
from customers.services.external_deletion import deletion_confirm_by_person
from customers.subject import FILE_FIELDS
from privacy_portal import private_storage
from privacy_portal.audit import CHECKPOINT_FILE
from privacy_portal.models import User
from requests.models import Case, CaseCorrespondence, CaseDocument
from requests.services import cases as case_svc
from requests.services import complaints as complaint_svc
from requests.services.correspondence import correspondence_add
from requests.services.documents import document_delete
from requests.services.export import export_build
from requests.services.informed import case_inform
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory, DisclosureFactory
from tests.fixtures.retention import purge_two_calls

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 a letter"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _case(cast, right=Case.Right.ACCESS, *, start=True) -> Case:
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    case = case_svc.case_assign(
        actor=cast["dpo"], case=CaseFactory(customer=customer, right=right), handler=cast["handler"]
    )
    return case_svc.case_start(actor=cast["handler"], case=case) if start else case


def _identity(cast) -> Callable[[], object]:
    case = case_svc.case_request_identity(actor=cast["handler"], case=_case(cast, start=False))
    upload = SimpleUploadedFile("id.png", PNG)
    return lambda: case_svc.identity_evidence_receive(
        actor=cast["handler"], case=case, upload=upload, on=timezone.localdate()
    )


def _letter(parent: dict, actor: User) -> Callable[[], object]:
    upload = SimpleUploadedFile("letter.pdf", PDF)
    return lambda: correspondence_add(
        actor=actor, occurred_on=timezone.localdate(), direction="inbound", medium="letter",
        summary="A letter", upload=upload, **parent,
    )  # fmt: skip


def _case_letter(cast):
    return _letter({"case": _case(cast)}, cast["handler"])


def _complaint_letter(cast):
    complaint = complaint_svc.complaint_assign(actor=cast["dpo"], complaint=ComplaintFactory(), handler=cast["handler"])
    return _letter({"complaint": complaint}, cast["handler"])


def _informed(cast):
    case = _case(cast, Case.Right.INFORMED)
    return lambda: case_inform(actor=cast["handler"], case=case, sent_by="email")


def _certificate(cast):
    case = _case(cast, Case.Right.ERASURE)
    case = case_svc.case_request_signoff(
        actor=cast["handler"], case=case, kind=Case.Signoff.ERASURE, reason="Art 17(1)(a)"
    )
    return lambda: case_svc.case_signoff(actor=cast["dpo"], case=case, approve=True, notified_on=timezone.localdate())


def _export(cast):
    case = _case(cast)
    return lambda: export_build(actor=cast["handler"], case=case)


# Every kind of file a row names, and how to make one: (kind, set-up returning the step).
WRITERS = {
    "identity evidence": _identity,
    "a case letter's attachment": _case_letter,
    "a complaint letter's attachment": _complaint_letter,
    "the 'informed' letter": _informed,
    "the erasure certificate": _certificate,
    "an export": _export,
}


class Refused(Exception):
    """What refuses a step after its file was asked for: a later check, a crash before the commit."""


@pytest.mark.parametrize("kind", WRITERS)
def test_a_step_refused_after_its_file_was_asked_for_leaves_no_file(cast, private_root, kind):
    step = WRITERS[kind](cast)
    before = files_under(private_root)
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(Refused), transaction.atomic():
        step()
        raise Refused
    assert files_under(private_root) == before


@pytest.mark.parametrize("kind", WRITERS)
def test_a_step_that_commits_writes_the_file_its_row_names(cast, private_root, kind):
    """The other half: the same step committed does write its file (the test above can fail)."""
    step = WRITERS[kind](cast)
    before = set(files_under(private_root))
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        step()
    written = set(files_under(private_root)) - before
    assert written and callbacks
    named = {path for _, (field, _kind) in FILE_FIELDS.items() for path in _paths(field)}
    assert written <= named


def _paths(field: str) -> set[str]:
    found = set()
    for label, (name, _kind) in FILE_FIELDS.items():
        if name == field:
            found |= set(apps.get_model(label)._base_manager.exclude(**{name: ""}).values_list(name, flat=True))
    return found


def _in_place(root: Path) -> list[str]:
    return [f for f in files_under(root) if not f.startswith(f"{private_storage.TEMPORARY_DIR}/")]


def test_nothing_is_written_before_the_commit(cast, private_root):
    """A process killed between the step and its commit leaves no file under a row's name, only
    a temporary one (swept by temporary_files_delete_stale): the rename waits for the commit."""
    for kind, make in WRITERS.items():
        step = make(cast)
        before = _in_place(private_root)
        with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
            step()
            assert _in_place(private_root) == before, kind
        assert callbacks, kind


def _plant(root: Path, relative: str, age_seconds: float) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_the_sweep_removes_every_kind_of_file_no_row_names_and_keeps_those_rows_name(cast, private_root, settings):
    """What a crash between a write and its commit could leave (older code wrote first), or a
    backup restored after a row was deleted: a file of any kind with no row, a half-written
    .part file. The sweep removes them; files rows name, fresh files and the feed stay."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        for make in WRITERS.values():
            make(cast)()
    kept = files_under(private_root)
    assert len(kept) >= len(WRITERS)
    day = private_storage.ORPHAN_GRACE_SECONDS
    for relative in kept:
        os.utime(private_root / relative, (time.time() - 2 * day,) * 2)
    orphans = [
        _plant(private_root, relative, 2 * day)
        for relative in (
            "cases/1/identity/0123abcd.png",
            "cases/1/correspondence/0123abcd.pdf",
            "complaints/1/correspondence/0123abcd.pdf",
            "cases/1/informed/0123abcd.html",
            "cases/1/certificate/0123abcd.html",
            "cases/1/export/0123abcd.zip",
            "breaches/1/evidence/0123abcd.pdf",  # a folder added later is swept too
        )
    ]
    partial = _plant(
        private_root, f"{private_storage.TEMPORARY_DIR}/tmpkilled{private_storage.TEMPORARY_SUFFIX}", 2 * day
    )
    fresh = _plant(private_root, "cases/1/identity/fresh.png", 60)  # its commit may be under way
    feed = _plant(private_root, "suppression/2026-01-01/email.csv", 2 * day)  # not a row's file
    checkpoint = _plant(private_root, CHECKPOINT_FILE, 2 * day)  # the access log's anchor

    swept = private_storage.private_files_sweep()

    assert swept == {"deleted": len(orphans), "partial": 1}
    assert not any(p.exists() for p in [*orphans, partial])
    assert fresh.exists() and feed.exists() and checkpoint.exists()
    assert set(kept) <= set(files_under(private_root))


def test_every_model_field_naming_a_private_file_is_known_to_the_sweep():
    """A new model with a file path is in customers.subject.FILE_FIELDS, or the sweep would
    delete its files as orphans (and the subject graph would miss them)."""
    path_fields = {
        f"{model._meta.label}": field.name
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.CharField)
        and field.name.endswith("path")
        and not model.__name__.startswith("Historical")  # a history row names no live file
    }
    swept = {model._meta.label: field for model, field in private_storage.row_file_fields()}
    assert swept == path_fields
    assert {label: field for label, (field, _) in FILE_FIELDS.items()}.items() <= swept.items()


# Modules that write into private storage themselves: the mechanism, and the suppression feed
# (a folder of its own, private_storage.NOT_ROW_FOLDERS, whose files no row names).
WRITERS_ALLOWED = {
    "privacy_portal/private_storage.py": "write_after_commit: the one way a row's file is written",
    "customers/services/feed.py": "the suppression feed (NOT_ROW_FOLDERS)",
    "customers/services/ad_feed.py": "the advertising platforms' suppression files, in the feed's folder",
    "privacy_portal/audit.py": "the access log's checkpoint (NOT_ROW_FOLDERS)",
}
WRITE_CALLS = {"write_bytes", "write_text", "fdopen", "mkstemp", "copyfile", "copy2", "copyfileobj"}


def _writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        owner = getattr(getattr(node.func, "value", None), "id", "")
        if name in WRITE_CALLS or (owner == "shutil" and name in ("copy", "move")):
            lines.append(node.lineno)
        elif name == "open":
            modes = [a.value for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Constant)]
            if any(isinstance(m, str) and any(c in m for c in "wax+") for m in modes):
                lines.append(node.lineno)
    return lines


@pytest.mark.slow  # a walk over every module
def test_no_code_writes_a_file_but_through_write_after_commit():
    found = []
    for app in ("customers", "requests", "privacy_portal"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or "/management/" in relative or relative in WRITERS_ALLOWED:
                continue
            found += [f"{relative}:{line}" for line in _writes(ast.parse(path.read_text()))]
    assert found == []


def _screening(cast):
    upload = SimpleUploadedFile("list.csv", b"phone\r\n07911 222333\r\n", content_type="text/csv")
    return lambda: campaign_screen(actor=cast["dpo"], file=upload, name="list.csv")


def _deletion_confirmation(cast):
    purge_two_calls()
    task = DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT)
    upload = SimpleUploadedFile("confirmation.pdf", PDF, "application/pdf")
    return lambda: deletion_confirm_by_person(actor=cast["dpo"], task=task, upload=upload, note="Ticket 4411")


# The same, with the files written outside the case files: a call list's screening results and a
# provider's deletion confirmation.
EVERY_WRITER = {**WRITERS, "a screening's results": _screening, "a deletion confirmation": _deletion_confirmation}


def _named_files() -> set[str]:
    """Every file a row names, by every field the sweep knows."""
    return {
        path
        for model, field in private_storage.row_file_fields()
        for path in model._base_manager.exclude(**{field: ""}).values_list(field, flat=True)
    }


def _full(*args, **kwargs):
    raise OSError("No space left on device")


@pytest.mark.slow  # a walk over every kind of file
@pytest.mark.parametrize("kind", EVERY_WRITER)
def test_a_file_that_cannot_be_written_fails_its_step_and_stores_nothing(cast, private_root, monkeypatch, kind):
    """Nothing half-stored: a full disk refuses the step (the error reaches the caller, the
    transaction rolls back), never a committed row naming a file that is not there."""
    step = EVERY_WRITER[kind](cast)
    named, files = _named_files(), files_under(private_root)
    monkeypatch.setattr(private_storage, "temporary_file", _full)
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(OSError), transaction.atomic():
        step()
    assert _named_files() == named and files_under(private_root) == files


@pytest.mark.slow  # a walk over every kind of file
@pytest.mark.parametrize("kind", EVERY_WRITER)
def test_every_kind_of_file_a_row_names_is_there_once_its_step_commits(cast, private_root, kind):
    step = EVERY_WRITER[kind](cast)
    named = _named_files()
    with TestCase.captureOnCommitCallbacks(execute=True):
        step()
    new = _named_files() - named
    assert new and all(private_storage.private_file(relative) for relative in new)
    assert not (private_root / private_storage.TEMPORARY_DIR).exists() or not any(
        (private_root / private_storage.TEMPORARY_DIR).iterdir()
    )


def test_a_file_that_cannot_be_put_in_place_after_the_commit_is_recorded_on_its_row(cast, private_root, monkeypatch):
    step = _case_letter(cast)

    def cannot(*args, **kwargs):
        raise OSError("Read-only file system")

    monkeypatch.setattr(private_storage, "_into_place", cannot)
    with TestCase.captureOnCommitCallbacks(execute=True):
        item = step()
    item = CaseCorrespondence.objects.get(pk=item.pk)
    assert item.attachment_path == "" and files_under(private_root) == []
    assert private_storage.FILE_NOT_WRITTEN in item.history.first().history_change_reason

    doc_step = _export(cast)
    with TestCase.captureOnCommitCallbacks(execute=True):
        doc = doc_step()
    doc = CaseDocument.objects.get(pk=doc.pk)
    assert doc.deleted_at is not None and doc.deletion_reason == private_storage.FILE_NOT_WRITTEN


def test_a_document_deletion_rolled_back_keeps_its_file_and_one_committed_deletes_it(cast, private_root):
    """Deleting follows the commit too: rolled back, the row still names its file and the file is there."""
    step = _export(cast)
    with TestCase.captureOnCommitCallbacks(execute=True):
        doc = step()
    path = private_storage.private_path(doc.path)
    assert path.is_file()
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(Refused), transaction.atomic():
        document_delete(actor=cast["handler"], doc=CaseDocument.objects.get(pk=doc.pk), reason="Replaced")
        raise Refused
    assert CaseDocument.objects.get(pk=doc.pk).path == doc.path and path.is_file()
    with TestCase.captureOnCommitCallbacks(execute=True):
        document_delete(actor=cast["handler"], doc=CaseDocument.objects.get(pk=doc.pk), reason="Replaced")
    assert CaseDocument.objects.get(pk=doc.pk).path == "" and not path.exists()
