"""Campaign screening as a background task: queued by the upload, screened in batches by the
worker with its progress shown, run once, restarted after a dead worker, failed with a reason."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers.models import CampaignScreening, TpsRegister
from customers.services import campaign
from customers.services.campaign import STALE_RUNNING_SECONDS, campaign_screen, campaign_screening_run
from customers.tasks import screen_call_list
from privacy_portal.private_storage import private_file
from privacy_portal.tracked import save_tracked
from tests.customers.tps_files import load, plain
from tests.factories import CustomerFactory
from tests.fixtures.celery import wait_for

TODAY = timezone.localdate()
LISTED = "01635 506160"


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path


@pytest.fixture
def registers(dpo):
    load(dpo, plain("01635506160"), on=TODAY - datetime.timedelta(days=40))
    load(dpo, plain("01134960001"), kind="additions", on=TODAY - datetime.timedelta(days=1), name="add.txt")
    load(dpo, plain("01134960000"), register=TpsRegister.CTPS, on=TODAY - datetime.timedelta(days=5), name="ctps.txt")


def upload(text: str, name="list.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def numbers(n: int) -> str:
    return "phone\r\n" + "".join(f"07911 {i:06d}\r\n" for i in range(n)) + f"{LISTED}\r\n"


def queue(dpo, body: str) -> CampaignScreening:
    """Upload without running the task (its on-commit callbacks are not executed)."""
    return campaign_screen(actor=dpo, file=upload(body), name="list.csv")


def result_rows(screening):
    return list(csv.DictReader(io.StringIO(private_file(screening.result_path).read_text())))


def test_an_upload_is_queued_with_its_rows_kept_and_screened_by_the_task(
    dpo, registers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        screening = queue(dpo, numbers(2))
    assert (screening.status, screening.rows, screening.rows_done) == ("queued", 3, 0)
    assert len(callbacks) == 2  # the rows' file, then the task: nothing happens before the commit
    callbacks[0]()
    assert private_file(screening.rows_path) is not None
    with django_capture_on_commit_callbacks(execute=True):
        campaign_screening_run(screening_id=screening.pk)
    screening.refresh_from_db()
    assert (screening.status, screening.rows_done, screening.allowed, screening.blocked) == ("done", 3, 2, 1)
    assert screening.tps_file.file_date == TODAY - datetime.timedelta(days=1)  # the change file in force
    assert screening.started_at <= screening.finished_at and screening.rows_path == ""
    assert [r["allowed"] for r in result_rows(screening)] == ["allowed", "allowed", "blocked"]
    assert len(list((private_file(screening.result_path).parent.parent / campaign.ROWS_FOLDER).iterdir())) == 0


def test_progress_is_saved_after_every_batch(dpo, registers, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(campaign, "BATCH_ROWS", 2)
    with django_capture_on_commit_callbacks(execute=True):
        screening = queue(dpo, numbers(4))  # 5 rows: batches of 2, 2, 1 (eager: run on commit)
    screening.refresh_from_db()
    assert screening.status == "done"
    seen = [h.rows_done for h in screening.history.order_by("history_id")]
    assert seen == [0, 0, 2, 4, 5, 5]  # queued, started, three batches, done


def test_running_the_task_twice_does_nothing_the_second_time(dpo, registers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        screening = queue(dpo, numbers(1))
    screening.refresh_from_db()
    versions = screening.history.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_screening_run(screening_id=screening.pk) is None
        screen_call_list(screening.pk)
    assert screening.history.count() == versions
    assert CampaignScreening.objects.get().result_path == screening.result_path


def test_a_screening_running_on_a_live_worker_is_left_alone(dpo, registers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        screening = queue(dpo, numbers(1))
    callbacks[0]()
    screening.status, screening.started_at = "running", timezone.now()
    save_tracked(screening, actor=None, reason="test: a worker has it")
    assert campaign_screening_run(screening_id=screening.pk) is None
    assert CampaignScreening.objects.get().status == "running"


def test_a_screening_whose_worker_died_is_restarted_from_the_first_row(
    dpo, registers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        screening = queue(dpo, numbers(2))
    callbacks[0]()
    dead = timezone.now() - datetime.timedelta(seconds=STALE_RUNNING_SECONDS + 1)
    screening.status, screening.started_at, screening.rows_done = "running", dead, 2
    save_tracked(screening, actor=None, reason="test: the worker was killed after a batch")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_screening_run(screening_id=screening.pk)
    screening.refresh_from_db()
    assert (screening.status, screening.rows_done, screening.allowed, screening.blocked) == ("done", 3, 2, 1)
    assert screening.started_at > dead
    assert screening.history.filter(history_change_reason="Screening restarted: its worker stopped").exists()
    assert len(result_rows(screening)) == 3


def test_an_error_marks_the_screening_failed_with_the_reason_and_no_result(
    client_for, dpo, registers, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []

    def broken(rows, context):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(rows, context)

    real = campaign._screen_rows
    monkeypatch.setattr(campaign, "BATCH_ROWS", 2)
    monkeypatch.setattr(campaign, "_screen_rows", broken)
    with django_capture_on_commit_callbacks(execute=True):
        screening = queue(dpo, numbers(4))
    screening.refresh_from_db()
    assert screening.status == "failed" and screening.result_path == "" and screening.rows_path == ""
    assert screening.failure == campaign.FAILED_ERROR.format(kind="RuntimeError")
    assert "database went away" not in screening.failure  # a reason, never an exception's values
    client = client_for(dpo)
    page = client.get(reverse("customers:screening", args=[screening.pk])).content.decode()
    assert "The screening failed" in page and "Download the result" not in page
    assert client.get(reverse("customers:screening_download", args=[screening.pk])).status_code == 404


def test_rows_missing_from_private_storage_fail_the_screening(dpo, registers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        screening = queue(dpo, numbers(1))  # the rows' file is never written
    campaign_screening_run(screening_id=screening.pk)
    screening.refresh_from_db()
    assert (screening.status, screening.failure) == ("failed", campaign.FAILED_NO_ROWS)


def test_a_queued_screening_shows_its_progress_and_no_download(client_for, dpo, registers):
    screening = queue(dpo, numbers(2))  # not run: its callbacks never execute in this test
    screening.rows_done = 1
    save_tracked(screening, actor=None, reason="test")
    client = client_for(dpo)
    page = client.get(reverse("customers:screening", args=[screening.pk])).content.decode()
    assert "1 of 3 rows screened" in page and "Reload this page" in page
    assert "Download the result" not in page
    assert client.get(reverse("customers:screening_download", args=[screening.pk])).status_code == 404
    listing = client.get(reverse("customers:screenings")).content.decode()
    assert "Queued: 1 of 3" in listing and "Download CSV" not in listing


def test_an_unreadable_list_stores_nothing(client_for, dpo, registers, tmp_path):
    response = client_for(dpo).post(reverse("customers:screenings"), {"file": upload("phone\r\n0770=X()\r\n")})
    assert response.context["errors"][0].line == 2
    assert not CampaignScreening.objects.exists()
    assert not (tmp_path / campaign.ROWS_FOLDER).exists()


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_screens_a_list_uploaded_through_the_page(redis_worker, role_groups, client_for):
    from tests.factories import UserFactory

    dpo = UserFactory(role="dpo")
    load(dpo, plain("01635506160"), on=TODAY - datetime.timedelta(days=1))
    load(dpo, plain("01134960000"), register=TpsRegister.CTPS, on=TODAY - datetime.timedelta(days=1), name="ctps.txt")
    customer = CustomerFactory(phone="+441635506160")
    body = f"customer_reference,phone\r\n{customer.reference},\r\n,07911 123456\r\n"
    client = client_for(dpo)
    response = client.post(reverse("customers:screenings"), {"file": upload(body)})
    screening = CampaignScreening.objects.get()
    assert response.url == reverse("customers:screening", args=[screening.pk])
    assert wait_for(lambda: CampaignScreening.objects.get().status == "done")
    screening.refresh_from_db()
    assert (screening.rows_done, screening.allowed, screening.blocked) == (2, 1, 1)
    assert wait_for(lambda: private_file(screening.result_path) is not None)
    download = client.get(reverse("customers:screening_download", args=[screening.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r["allowed"] for r in rows] == ["blocked", "allowed"]


def test_the_sweep_sends_again_a_screening_never_started_or_whose_worker_died(
    dpo, registers, django_capture_on_commit_callbacks
):
    from customers.services.campaign import QUEUED_GRACE_SECONDS, campaign_screenings_sweep
    from privacy_portal.schedule import BEAT_SCHEDULE

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lost = queue(dpo, numbers(1))  # the broker lost its message
        fresh = queue(dpo, numbers(1))
    callbacks[0]()
    callbacks[2]()  # both rows' files written; neither task sent
    lost.screened_at = timezone.now() - datetime.timedelta(seconds=QUEUED_GRACE_SECONDS + 1)
    save_tracked(lost, actor=None, reason="test")
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_screenings_sweep() == {"sent again": 1}
    assert CampaignScreening.objects.get(pk=lost.pk).status == "done"
    assert CampaignScreening.objects.get(pk=fresh.pk).status == "queued"  # its task may yet arrive
    assert any(e["task"] == "customers.tasks.sweep_campaign_screenings" for e in BEAT_SCHEDULE.values())
