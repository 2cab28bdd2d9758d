"""A call-list screening's result file holds every number screened: it is deleted after
legal.CALL_LIST_RESULT_RETENTION_MONTHS by the nightly job (the record, which holds no number, is
kept), and an erased person's numbers are replaced in every result file still kept."""

from __future__ import annotations

import csv
import io

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers.models import CampaignScreening
from customers.services.campaign import REDACTED_NUMBER, campaign_screen, result_file
from privacy_portal import legal
from privacy_portal.private_storage import private_path
from privacy_portal.retention import retention_apply, rule
from requests.services.erasure import SCREENING_RESULTS, erasure_preview
from tests.factories import CustomerFactory
from tests.fixtures.erasure import FORMER_PHONE, PHONE, sign_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def screen(dpo, body: str, capture) -> CampaignScreening:
    upload = SimpleUploadedFile("list.csv", body.encode(), content_type="text/csv")
    with capture(execute=True):  # queued, then screened by the (eager) task on commit
        screening = campaign_screen(actor=dpo, file=upload, name="list.csv")
    screening.refresh_from_db()
    return screening


def rows_of(screening) -> list[dict]:
    return list(csv.DictReader(io.StringIO(result_file(screening).read_text())))


def test_the_schedule_names_the_result_files_period_and_the_nightly_service():
    entry = rule("campaign_screenings")
    assert f"{legal.CALL_LIST_RESULT_RETENTION_MONTHS} months" in entry.period
    assert entry.service == "customers.services.campaign.screening_results_purge_expired"


def test_the_nightly_job_deletes_result_files_past_their_period_and_keeps_the_records(
    private_storage,
    dpo,
    django_capture_on_commit_callbacks,
):
    old = screen(dpo, "phone\r\n07911 123456\r\n", django_capture_on_commit_callbacks)
    new = screen(dpo, "phone\r\n07911 654321\r\n", django_capture_on_commit_callbacks)
    months = legal.CALL_LIST_RESULT_RETENTION_MONTHS
    old.screened_at = timezone.now() - relativedelta(months=months, days=1)
    old.save()
    new.screened_at = timezone.now() - relativedelta(months=months) + relativedelta(days=1)
    new.save()
    old_path = result_file(old)
    with django_capture_on_commit_callbacks(execute=True):
        report = retention_apply()
    assert report["campaign_screenings"] == {"customers.CampaignScreening result files": 1}
    old.refresh_from_db()
    assert old.result_path == "" and not old_path.exists()
    assert (old.rows, old.blocked) == (1, 1)  # the record (the evidence) stays
    assert result_file(new) is not None  # within its period: untouched
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_apply()["campaign_screenings"] == {"customers.CampaignScreening result files": 0}


def test_erasure_replaces_the_persons_numbers_in_every_result_file_kept(
    rich,
    private_storage,
    dpo,
    django_capture_on_commit_callbacks,
):
    customer = rich["customer"]
    other = CustomerFactory(phone="+447911222333")
    capture = django_capture_on_commit_callbacks
    by_reference = screen(dpo, f"customer_reference\r\n{customer.reference}\r\n{other.reference}\r\n", capture)
    by_number = screen(dpo, f"phone\r\n0{FORMER_PHONE[3:]}\r\n07911 222333\r\n{PHONE}\r\n", capture)
    untouched = screen(dpo, "phone\r\n07911 222333\r\n", capture)
    before = result_file(untouched).read_bytes()
    preview = erasure_preview(customer=customer)
    assert any(line.what == f"Files: {SCREENING_RESULTS.what}" and line.count == 2 for line in preview.keep)

    case = sign_off(dpo, rich["case"], capture)

    mine, theirs = rows_of(by_reference)
    assert (mine["phone"], mine["number"]) == ("", REDACTED_NUMBER)  # called on the number on record
    assert mine["customer_reference"] == customer.reference and mine["allowed"] == "blocked"
    assert theirs["number"] == "+447911222333"
    former, someone, current = rows_of(by_number)
    assert (former["phone"], former["number"]) == (REDACTED_NUMBER, REDACTED_NUMBER)
    assert (current["phone"], current["number"]) == (REDACTED_NUMBER, REDACTED_NUMBER)
    assert someone["number"] == "+447911222333" and someone["phone"] == "07911 222333"
    assert result_file(untouched).read_bytes() == before
    for screening in (by_reference, by_number):
        text = result_file(screening).read_text()
        assert PHONE[3:] not in text and FORMER_PHONE[3:] not in text
    assert CampaignScreening.objects.count() == 3  # the records stay
    certificate = case.documents.get(kind="certificate")
    assert SCREENING_RESULTS.what.split(":")[0] in private_path(certificate.path).read_text()


def test_erasure_redacts_a_list_still_being_screened_and_screens_it_again(
    rich,
    private_storage,
    dpo,
    django_capture_on_commit_callbacks,
):
    """A list queued or mid-run when the person is erased holds their number in its queued rows:
    those are redacted and the list screened again from the start (queued, its task sent on
    commit), so no result file ever holds the number; a run in progress stops at its next batch."""
    from customers.services import campaign

    customer = rich["customer"]
    capture = django_capture_on_commit_callbacks
    body = f"phone\r\n{PHONE}\r\n07911 222333\r\n"
    lists = []
    for name in ("queued.csv", "running.csv"):
        with capture(execute=False) as callbacks:  # queued; its task not sent
            lists.append(campaign_screen(actor=dpo, file=SimpleUploadedFile(name, body.encode()), name=name))
        callbacks[0]()  # the queued rows' file only
    queued, running = lists
    claimed = campaign._claim(running.pk, timezone.now())  # a worker has started this one
    assert claimed is not None and PHONE[3:] in private_path(queued.rows_path).read_text()

    with capture(execute=False) as callbacks:
        case = sign_off(dpo, rich["case"], lambda execute: capture(execute=False))
    for screening in lists:
        screening.refresh_from_db()
        assert (screening.status, screening.rows_done, screening.started_at) == ("queued", 0, None)
    assert campaign._locked_if_ours(claimed) is None  # the old run stops at its next batch
    with capture(execute=True):  # the commit: the rows rewritten, then each list's task (eager) and its result
        for callback in callbacks:
            callback()
    for screening in lists:
        screening.refresh_from_db()
        assert screening.status == "done", screening.failure
        text = result_file(screening).read_text()
        assert PHONE[3:] not in text and REDACTED_NUMBER in text and "+447911222333" in text
    case.refresh_from_db()
    assert case.status == "completed" and customer.pk
