"""Hostile input on the case page (issue 12): identity evidence is stored only when its step is
accepted, files follow the commit, orphans are swept; every action's error names its field."""

from __future__ import annotations

import datetime
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from privacy_portal import bounds, private_storage
from privacy_portal.models import JobRun
from requests.models import Case, CaseDocument
from requests.services import cases as svc
from requests.tasks import delete_orphaned_files
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def awaiting_identity(dpo, handler, received_on=None) -> Case:
    case = svc.case_assign(
        actor=dpo, case=CaseFactory(received_on=received_on or timezone.localdate()), handler=handler
    )
    return svc.case_request_identity(actor=handler, case=case)


def upload(client, case, received_on: datetime.date | str, data: bytes = PNG):
    on = received_on if isinstance(received_on, str) else received_on.strftime("%d/%m/%Y")
    return client.post(
        reverse("requests:case_action", args=[case.pk, "upload_identity"]),
        {"file": SimpleUploadedFile("id.png", data), "received_on": on},
        follow=True,
    )


def page_errors(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


# --- Identity evidence: validated first, written after the commit ---------------------------------


@pytest.mark.parametrize(
    ("days_from_receipt", "message"),
    [(5, svc.ERR_DATE_FUTURE), (-3, svc.ERR_DATE_BEFORE)],
    ids=["a date in the future", "a date before receipt"],
)
def test_identity_evidence_with_a_refused_date_leaves_no_document_and_no_file(
    client_for, dpo, handler, tmp_path, django_capture_on_commit_callbacks, days_from_receipt, message
):
    received = timezone.localdate() - datetime.timedelta(days=2)
    case = awaiting_identity(dpo, handler, received_on=received)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(handler), case, received + datetime.timedelta(days=2 + days_from_receipt))
    assert message in " ".join(page_errors(response))
    assert not CaseDocument.objects.exists()
    assert stored_files(tmp_path) == []
    case.refresh_from_db()
    assert case.identity == Case.Identity.REQUESTED


def test_identity_evidence_for_a_case_not_awaiting_identity_leaves_no_document_and_no_file(
    client_for, dpo, handler, tmp_path, django_capture_on_commit_callbacks
):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    svc.case_start(actor=handler, case=case)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(handler), case, timezone.localdate())
    assert "cannot be moved" in " ".join(page_errors(response))
    assert not CaseDocument.objects.exists()
    assert stored_files(tmp_path) == []


def test_a_refused_file_undoes_the_identity_step(
    client_for, dpo, handler, tmp_path, django_capture_on_commit_callbacks
):
    case = awaiting_identity(dpo, handler)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(handler), case, timezone.localdate(), data=b"MZ not an image")
    assert private_storage.ERR_TYPE in " ".join(page_errors(response))
    case.refresh_from_db()
    assert (case.identity, case.identity_received_on) == (Case.Identity.REQUESTED, None)
    assert not CaseDocument.objects.exists() and stored_files(tmp_path) == []


def test_the_file_is_written_only_once_the_transaction_commits(
    dpo, handler, tmp_path, django_capture_on_commit_callbacks
):
    case = awaiting_identity(dpo, handler)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        doc = svc.identity_evidence_receive(
            actor=handler, case=case, upload=SimpleUploadedFile("id.png", PNG), on=timezone.localdate()
        )
        # Nothing under the row's name before the commit: the bytes wait in a temporary file
        # (so a write that fails refuses the step), renamed into place once it commits.
        assert not private_storage.private_path(doc.path).exists()
        assert [p.parent.name for p in stored_files(tmp_path)] == [private_storage.TEMPORARY_DIR]
    for callback in callbacks:
        callback()
    assert private_storage.private_path(doc.path).read_bytes() == PNG
    assert [p.name for p in stored_files(tmp_path)] == [os.path.basename(doc.path)]  # no .part left


def test_accepted_evidence_is_downloadable_and_deleted_once_decided(
    client_for, dpo, handler, tmp_path, django_capture_on_commit_callbacks
):
    case = awaiting_identity(dpo, handler)
    client = client_for(handler)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, case, timezone.localdate())
    assert b"stored privately" in response.content
    doc = CaseDocument.objects.get()
    assert client.get(reverse("requests:document", args=[case.pk, doc.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the decision commits
        svc.case_decide_identity(actor=handler, case=Case.objects.get(pk=case.pk), verified=True)
    assert stored_files(tmp_path) == []


# --- Orphaned files are swept -----------------------------------------------------------------------


def plant(root, relative: str, *, age_seconds: float) -> os.PathLike:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_the_nightly_job_deletes_files_no_row_names_and_keeps_the_rest(
    dpo, handler, tmp_path, django_capture_on_commit_callbacks
):
    case = awaiting_identity(dpo, handler)
    with django_capture_on_commit_callbacks(execute=True):
        doc = svc.identity_evidence_receive(
            actor=handler, case=case, upload=SimpleUploadedFile("id.png", PNG), on=timezone.localdate()
        )
    kept = private_storage.private_path(doc.path)
    day = private_storage.ORPHAN_GRACE_SECONDS
    os.utime(kept, (time.time() - 2 * day, time.time() - 2 * day))
    orphan = plant(tmp_path, f"cases/{case.pk}/identity/0123456789abcdef.png", age_seconds=2 * day)
    complaint_orphan = plant(tmp_path, "complaints/7/correspondence/feedbeef.pdf", age_seconds=2 * day)
    fresh = plant(tmp_path, f"cases/{case.pk}/identity/fresh.png", age_seconds=60)  # its commit may be under way
    feed = plant(tmp_path, "suppression/2026-01-01/email.csv", age_seconds=2 * day)  # not a row's file

    run = JobRun.objects.get(pk=delete_orphaned_files())
    assert run.detail == {"deleted": 2, "partial": 0}
    assert not orphan.exists() and not complaint_orphan.exists()
    assert kept.exists() and fresh.exists() and feed.exists()


def test_the_sweep_runs_every_night():
    from privacy_portal.schedule import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["delete-orphaned-files"]["task"] == "requests.tasks.delete_orphaned_files"


# --- Every action's error names its field ---------------------------------------------------------


def rectification_case(dpo, handler, customer) -> Case:
    case = CaseFactory(customer=customer, right=Case.Right.RECTIFICATION)
    return svc.case_start(actor=handler, case=svc.case_assign(actor=dpo, case=case, handler=handler))


def test_a_rectification_with_a_bad_postcode_names_the_postcode(client_for, dpo, handler):
    customer = CustomerFactory(postcode="SW1A 1AA")
    case = rectification_case(dpo, handler, customer)
    data = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "postcode": "NOT A POSTCODE",
        "expected_version": customer.version,
        "reason": "Requester's letter",
    }
    response = client_for(handler).post(reverse("requests:case_action", args=[case.pk, "rectify"]), data, follow=True)
    errors = page_errors(response)
    assert errors and all(e.startswith("Postcode: ") for e in errors), errors


def test_a_missing_field_is_named_even_where_the_form_gives_it_no_label(client_for, dpo, handler):
    customer = CustomerFactory()
    case = rectification_case(dpo, handler, customer)
    data = {"last_name": "Lee", "expected_version": customer.version, "reason": "Letter"}
    response = client_for(handler).post(reverse("requests:case_action", args=[case.pk, "rectify"]), data, follow=True)
    assert "First name: This field is required." in page_errors(response)


def test_an_action_with_a_date_out_of_bounds_names_the_date(client_for, dpo, handler):
    case = awaiting_identity(dpo, handler)
    response = upload(client_for(handler), case, "01/01/0001")
    errors = page_errors(response)
    assert len(errors) == 1 and errors[0].startswith(
        "Date received: " + bounds.ERR_TOO_EARLY.format(earliest=bounds.EARLIEST_DATE, why=bounds.WHY_RECORDS)
    )


def test_a_document_whose_file_is_missing_answers_404_not_a_server_error(client_for, dpo, handler):
    case = awaiting_identity(dpo, handler)
    doc = svc.identity_evidence_receive(  # on_commit never runs here: the row without its file
        actor=handler, case=case, upload=SimpleUploadedFile("id.png", PNG), on=timezone.localdate()
    )
    response = client_for(handler).get(reverse("requests:document", args=[case.pk, doc.pk]))
    assert response.status_code == 404
