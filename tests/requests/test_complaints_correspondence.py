"""Case-file correspondence on complaints and rights requests: the upload rules, one parent,
and retention (kept legal.CASE_FILE_RETENTION_YEARS after closing, then purged with history)."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import TestCase
from django.utils import timezone

from privacy_portal import legal
from privacy_portal import private_storage as storage
from privacy_portal.models import JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from requests.models import CaseCorrespondence
from requests.services import cases as case_svc
from requests.services import complaints as svc
from requests.services.correspondence import (
    ERR_DATE_BEFORE,
    ERR_DATE_FUTURE,
    ERR_NOT_WORKER,
    ERR_PARENT,
    case_files_purge_expired,
    correspondence_add,
)
from tests.factories import CaseFactory, ComplaintFactory

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n" + b"0" * 200
TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture
def complaint(dpo, handler):
    return svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)


def letter(actor, **parent):
    """Record a letter and run what follows its commit (the attachment is written after it)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return correspondence_add(
            actor=actor,
            occurred_on=TODAY(),
            direction="inbound",
            medium="letter",
            summary="Complainant wrote again about the calls.",
            upload=SimpleUploadedFile("letter.pdf", PDF),
            **parent,
        )


def test_handler_records_a_letter_with_its_pdf_in_private_storage(handler, complaint, private_storage):
    item = letter(handler, complaint=complaint)
    assert item.attachment_type == "application/pdf" and item.attachment_size == len(PDF)
    path = storage.private_path(item.attachment_path)
    assert path.read_bytes() == PDF
    assert private_storage in path.parents
    assert item.history.get().history_user == handler


def test_the_same_works_on_a_rights_request(dpo, handler):
    case = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    item = letter(handler, case=case)
    assert item.case == case and item.complaint is None


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("letter.pdf", b"MZ\x90\x00 not a pdf at all", storage.ERR_TYPE),
        ("photo.png", b"GIF89a" + b"0" * 50, storage.ERR_TYPE),
        ("empty.pdf", b"", storage.ERR_EMPTY),
        ("huge.pdf", b"%PDF-" + b"0" * legal.IDENTITY_DOCUMENT_MAX_BYTES, storage.ERR_SIZE),
    ],
)
def test_an_attachment_that_is_not_what_it_says_is_refused_and_nothing_is_stored(
    handler, complaint, private_storage, name, content, error
):
    with pytest.raises(ValidationError) as excinfo:
        correspondence_add(
            actor=handler,
            complaint=complaint,
            occurred_on=TODAY(),
            direction="inbound",
            medium="email",
            summary="x",
            upload=SimpleUploadedFile(name, content),
        )
    assert excinfo.value.message_dict == {"attachment": [error]}
    assert not CaseCorrespondence.objects.exists()
    assert not private_storage.exists() or not any(p.is_file() for p in private_storage.rglob("*"))


def test_jpeg_and_png_are_accepted_by_content(handler, complaint):
    upload = SimpleUploadedFile("scan.pdf", b"\xff\xd8\xff" + b"0" * 20)
    jpeg = correspondence_add(actor=handler, complaint=complaint, occurred_on=TODAY(), direction="outbound",
                              medium="letter", summary="Scan", upload=upload)  # fmt: skip
    assert jpeg.attachment_type == "image/jpeg" and jpeg.attachment_path.endswith(".jpg")


def test_bad_dates_and_missing_fields_are_refused(handler, complaint):
    with pytest.raises(ValidationError) as excinfo:
        correspondence_add(actor=handler, complaint=complaint, occurred_on=TODAY() + DAY, direction="sideways",
                           medium="fax", summary=" ")  # fmt: skip
    errors = excinfo.value.message_dict
    assert errors["occurred_on"] == [ERR_DATE_FUTURE]
    assert set(errors) == {"occurred_on", "direction", "medium", "summary"}
    with pytest.raises(ValidationError) as excinfo:
        correspondence_add(actor=handler, complaint=complaint, occurred_on=complaint.received_on - DAY,
                           direction="inbound", medium="phone", summary="Call")  # fmt: skip
    assert excinfo.value.message_dict == {
        "occurred_on": [ERR_DATE_BEFORE.format(what="complaint", day=f"{complaint.received_on:%-d %B %Y}")]
    }


def test_only_those_who_work_the_file_add_to_it(other_handler, auditor, agent, complaint):
    for user in (other_handler, auditor, agent):
        with pytest.raises(ValidationError) as excinfo:
            letter(user, complaint=complaint)
        assert excinfo.value.messages == [ERR_NOT_WORKER]


def test_exactly_one_parent(handler, complaint):
    with pytest.raises(ValidationError) as excinfo:
        letter(handler)
    assert excinfo.value.messages == [ERR_PARENT]
    # The database refuses both parents too.
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseCorrespondence.objects.create(case=CaseFactory(), complaint=complaint, occurred_on=TODAY(),
                                          direction="inbound", medium="letter", summary="x")  # fmt: skip


# --- retention ---------------------------------------------------------------------------


def closed_years_ago(years: int, days: int = 0) -> datetime.date:
    return TODAY() - relativedelta(years=years) - datetime.timedelta(days=days)


@pytest.fixture
def old_files(dpo):
    """A complaint and a request closed just over the retention period ago, one closed just
    inside it, and an open complaint with a very old letter: each with a letter and its PDF."""
    years = legal.CASE_FILE_RETENTION_YEARS
    expired_complaint = ComplaintFactory(received_on=TODAY() - 10 * DAY)
    expired_case = CaseFactory(received_on=TODAY() - 10 * DAY)
    kept_complaint = ComplaintFactory(received_on=TODAY() - 10 * DAY)
    open_complaint = ComplaintFactory(received_on=TODAY() - 10 * DAY)
    items = {}
    parents = {
        "expired_complaint": {"complaint": expired_complaint},
        "expired_case": {"case": expired_case},
        "kept_complaint": {"complaint": kept_complaint},
        "open_complaint": {"complaint": open_complaint},
    }
    for name, parent in parents.items():
        items[name] = letter(dpo, **parent)
        items[name].summary = "Amended summary"
        items[name]._history_user = dpo
        items[name].save()  # a second history row
    # Closing dates are set directly: the services date a closure today.
    for parent, status, closed_on in ((expired_complaint, "closed", closed_years_ago(years, 1)),
                                      (kept_complaint, "closed", closed_years_ago(years)),
                                      (expired_case, "completed", closed_years_ago(years, 1))):  # fmt: skip
        parent.status, parent.closed_on = status, closed_on
        parent.save()
    return items


def test_the_purge_deletes_expired_case_files_correspondence_attachments_and_history(old_files, private_storage):
    expired = [old_files["expired_complaint"], old_files["expired_case"]]
    paths = [storage.private_path(item.attachment_path) for item in expired]
    with TestCase.captureOnCommitCallbacks(execute=True):  # the files go once each batch commits
        report = case_files_purge_expired()
    assert report == {"correspondence": 2, "attachments": 2, "correspondence_history": 4}
    assert not any(path.exists() for path in paths)
    history = CaseCorrespondence.history.model.objects
    assert not history.filter(id__in=[item.pk for item in expired]).exists()
    # Nothing records the deletion with a copy of the summary.
    assert not history.filter(summary="Amended summary", history_type="-").exists()
    remaining = set(CaseCorrespondence.objects.values_list("pk", flat=True))
    assert remaining == {old_files["kept_complaint"].pk, old_files["open_complaint"].pk}
    assert storage.private_path(old_files["kept_complaint"].attachment_path).exists()


class Refused(Exception):
    """What rolls the purge's transaction back after it deleted its rows (a crash before the commit)."""


def test_a_purge_rolled_back_keeps_the_attachments_of_the_letters_it_kept(old_files):
    """Files follow the commit: a purge whose transaction rolls back leaves every letter and its
    attachment, never a row naming a file already unlinked."""
    expired = [old_files["expired_complaint"], old_files["expired_case"]]
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(Refused), transaction.atomic():
        case_files_purge_expired()
        raise Refused
    assert CaseCorrespondence.objects.filter(pk__in=[item.pk for item in expired]).count() == 2
    assert all(storage.private_path(item.attachment_path).exists() for item in expired)


def test_the_purge_is_safe_to_run_twice(old_files):
    case_files_purge_expired()
    assert case_files_purge_expired() == {"correspondence": 0, "attachments": 0, "correspondence_history": 0}
    assert CaseCorrespondence.objects.count() == 2


def test_the_purge_works_in_batches(old_files):
    assert case_files_purge_expired(batch_size=1)["correspondence"] == 2


def test_orphan_history_rows_of_expired_files_are_scrubbed(old_files):
    item = old_files["expired_complaint"]
    CaseCorrespondence.objects.filter(pk=item.pk).delete()  # deleted by hand earlier, history left behind
    report = case_files_purge_expired()
    assert report["correspondence"] == 1
    assert not CaseCorrespondence.history.model.objects.filter(id=item.pk).exists()


def test_the_nightly_purge_is_scheduled_and_recorded(old_files):
    from privacy_portal.retention import rule
    from requests.tasks import purge_expired_case_files

    assert any(e["task"] == "privacy_portal.tasks.apply_retention_schedule" for e in BEAT_SCHEDULE.values())
    assert rule("case_correspondence").service == "requests.services.retention.case_correspondence_purge_expired"
    run = JobRun.objects.get(pk=purge_expired_case_files())
    assert run.name == "purge_expired_case_files" and run.detail["correspondence"] == 2


def test_the_six_month_customer_service_purge_leaves_case_files_alone(old_files):
    from customers.services.retention import purge_expired_calls

    purge_expired_calls(now=timezone.now() + relativedelta(years=1))
    assert CaseCorrespondence.objects.count() == 4


def test_the_purge_run_as_its_own_task_keeps_a_held_persons_case_file(old_files, dpo):
    """requests.tasks.purge_expired_case_files (case_files_purge_expired with no holds given) is
    bound by the legal holds as the nightly retention run is: a DPO's hold on the person keeps
    their old case file's correspondence."""
    from customers.services.legal_holds import legal_hold_place

    expired = old_files["expired_complaint"]
    legal_hold_place(actor=dpo, customer=expired.complaint.customer, reason="Claim", ends_on=TODAY() + 30 * DAY)
    report = case_files_purge_expired()
    assert CaseCorrespondence.objects.filter(pk=expired.pk).exists()
    assert report["correspondence"] == 1


def test_a_hold_that_comes_during_the_run_keeps_the_case_file(old_files, dpo):
    """The nightly run reads its holds when it starts and passes them in; a hold (or a matter about
    the person) committed after that read must still stop the deletion: each batch checks the
    holds again just before it deletes (held_among), as the call and row purges do (s173)."""
    from customers.services.legal_holds import legal_hold_place

    expired = old_files["expired_complaint"]
    legal_hold_place(actor=dpo, customer=expired.complaint.customer, reason="Claim", ends_on=TODAY() + 30 * DAY)
    report = case_files_purge_expired(held=frozenset())  # the holds as read before this hold
    assert CaseCorrespondence.objects.filter(pk=expired.pk).exists()
    assert CaseCorrespondence.history.filter(id=expired.pk).exists()
    assert report["held"] == 1
