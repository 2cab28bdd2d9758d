"""Every file tied to a row is written after the commit, and every file no row names is swept.

One mechanism (requests.services.documents.write_after_commit) writes every kind of file a row
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

from customers.subject import FILE_FIELDS
from privacy_portal.audit import CHECKPOINT_FILE
from privacy_portal.models import User
from requests.models import Case, CaseCorrespondence, CaseDocument
from requests.services import cases as case_svc
from requests.services import complaints as complaint_svc
from requests.services import documents
from requests.services.correspondence import correspondence_add
from requests.services.export import export_build
from requests.services.informed import case_inform
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory, DisclosureFactory

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
    return lambda: documents.identity_evidence_receive(
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


def test_nothing_is_written_before_the_commit(cast, private_root):
    """A process killed between the step and its commit leaves nothing: the file waits for it."""
    for kind, make in WRITERS.items():
        step = make(cast)
        before = files_under(private_root)
        with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
            step()
            assert files_under(private_root) == before, kind
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
    day = documents.ORPHAN_GRACE_SECONDS
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
    partial = _plant(private_root, f"{documents.TEMPORARY_DIR}/tmpkilled{documents.TEMPORARY_SUFFIX}", 2 * day)
    fresh = _plant(private_root, "cases/1/identity/fresh.png", 60)  # its commit may be under way
    feed = _plant(private_root, "suppression/2026-01-01/email.csv", 2 * day)  # not a row's file
    checkpoint = _plant(private_root, CHECKPOINT_FILE, 2 * day)  # the access log's anchor

    swept = documents.private_files_sweep()

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
    swept = {model._meta.label: field for model, field in documents.row_file_fields()}
    assert swept == path_fields
    assert {label: field for label, (field, _) in FILE_FIELDS.items()}.items() <= swept.items()


# Modules that write into private storage themselves: the mechanism, and the suppression feed
# (a folder of its own, documents.NOT_ROW_FOLDERS, whose files no row names).
WRITERS_ALLOWED = {
    "requests/services/documents.py": "write_after_commit: the one way a row's file is written",
    "customers/services/feed.py": "the suppression feed (NOT_ROW_FOLDERS)",
    "customers/services/ad_feed.py": "the advertising platforms' suppression files, in the feed's folder",
    "privacy_portal/audit.py": "the access log's checkpoint (NOT_ROW_FOLDERS)",
    # Merged by other teams after the mechanism: they write after the commit with code of their
    # own; to move to write_after_commit (reported to the lead).
    "customers/services/campaign.py": "campaign screening results (CampaignScreening.result_path)",
    "customers/services/external_deletion.py": "a provider's deletion confirmation (DeletionTask.confirmation_path)",
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


def test_no_code_writes_a_file_but_through_write_after_commit():
    found = []
    for app in ("customers", "requests", "privacy_portal"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or "/management/" in relative or relative in WRITERS_ALLOWED:
                continue
            found += [f"{relative}:{line}" for line in _writes(ast.parse(path.read_text()))]
    assert found == []


def test_a_file_that_cannot_be_written_after_the_commit_is_recorded_on_its_row(cast, private_root, monkeypatch):
    step = _case_letter(cast)

    def full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(documents, "temporary_file", full)
    with TestCase.captureOnCommitCallbacks(execute=True):
        item = step()
    item = CaseCorrespondence.objects.get(pk=item.pk)
    assert item.attachment_path == "" and files_under(private_root) == []
    assert documents.FILE_NOT_WRITTEN in item.history.first().history_change_reason

    doc_step = _export(cast)
    with TestCase.captureOnCommitCallbacks(execute=True):
        doc = doc_step()
    doc = CaseDocument.objects.get(pk=doc.pk)
    assert doc.deleted_at is not None and doc.deletion_reason == documents.FILE_NOT_WRITTEN
