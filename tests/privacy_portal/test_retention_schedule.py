"""The retention schedule: one list of every kind of record, a walk that keeps it complete, and the
one nightly job that applies it (each kind through its own service, history scrubbed, one
chained scrub entry with counts only)."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.db import models
from django.test.utils import isolate_apps
from django.utils import timezone
from django.utils.module_loading import import_string

from customers.models import Call, Customer, Purchase
from privacy_portal import legal
from privacy_portal.audit import chain_pending, verify_chain
from privacy_portal.models import AccessEvent, JobRun
from privacy_portal.private_storage import private_path
from privacy_portal.retention import NOT_SCHEDULED, SCHEDULE, retention_apply, unaccounted
from privacy_portal.schedule import BEAT_SCHEDULE
from requests.models import Case, CaseCorrespondence, CaseDocument, CaseNote, Complaint, IcoCase, IcoDeadline
from tests.factories import CallFactory, CaseFactory, ComplaintFactory, CustomerFactory, PurchaseFactory

NOW = timezone.make_aware(datetime.datetime(2032, 6, 15, 12, 0))
SIX_YEARS_AGO = timezone.localdate(NOW) - relativedelta(years=legal.CASE_FILE_RETENTION_YEARS)


def test_every_model_is_in_the_schedule_or_excluded_with_a_reason():
    assert unaccounted() == []


@isolate_apps("customers")
def test_the_walk_fails_on_a_new_model_in_neither():
    class LoyaltyCard(models.Model):  # noqa: DJ008
        customer = models.ForeignKey(Customer, on_delete=models.CASCADE)

        class Meta:
            app_label = "customers"

    assert unaccounted([Customer, LoyaltyCard]) == ["customers.LoyaltyCard"]


def test_every_rule_says_its_period_trigger_end_and_source_and_its_service_exists():
    assert len({r.key for r in SCHEDULE}) == len(SCHEDULE)
    for r in SCHEDULE:
        assert r.period and r.trigger and r.source and r.source_kind, r.key
        assert r.action in ("delete", "anonymise", "detach", "keep"), r.key
        if r.service:
            assert callable(import_string(r.service)), r.key
    assert all(len(reason) > 20 for reason in NOT_SCHEDULED.values())
    kinds = {r.key for r in SCHEDULE}
    assert {
        "calls", "correspondence", "purchases", "disclosures", "preferences", "suppression", "rights_requests",
        "complaints", "ico_cases", "breach_affected", "identity_documents", "exports", "inbound_sms", "access_log",
        "sign_in_attempts", "sessions", "job_runs",
    } <= kinds  # fmt: skip


def test_one_nightly_job_applies_the_whole_schedule():
    tasks = [e["task"] for e in BEAT_SCHEDULE.values()]
    assert "privacy_portal.tasks.apply_retention_schedule" in tasks
    # The separate purges it replaced are no longer scheduled on their own.
    assert "customers.tasks.purge_expired_calls" not in tasks
    assert "requests.tasks.purge_expired_case_files" not in tasks


# --- Case files past six years ------------------------------------------------------------------


@pytest.fixture
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def _closed_case(closed_on: datetime.date, dpo) -> Case:
    case = CaseFactory(received_on=closed_on - datetime.timedelta(days=20))
    case.status, case.closed_on = Case.Status.COMPLETED, closed_on
    case._change_reason = "Closed"
    case.save()
    CaseNote.objects.create(case=case, text="Spoke to Mrs Quill about her request.", author=dpo)
    relative = f"cases/{case.pk}/correspondence/letter.pdf"
    private_path(relative).parent.mkdir(parents=True, exist_ok=True)
    private_path(relative).write_bytes(b"%PDF-1.4 letter")
    CaseDocument.objects.create(
        case=case, kind="correspondence", path=relative, content_type="application/pdf", size=15
    )
    CaseCorrespondence.objects.create(
        case=case, occurred_on=closed_on, direction="outbound", medium="letter", summary="Our reply to Mrs Quill"
    )
    return case


@pytest.mark.django_db
def test_a_closed_case_past_six_years_is_gone_with_its_history_and_the_scrub_entry_verifies(
    dpo, private_storage, django_capture_on_commit_callbacks
):
    expired = _closed_case(SIX_YEARS_AGO - datetime.timedelta(days=1), dpo)
    kept = _closed_case(SIX_YEARS_AGO + datetime.timedelta(days=1), dpo)
    expired_file = private_path(expired.documents.get().path)
    assert Case.history.filter(id=expired.pk).count() >= 2

    with django_capture_on_commit_callbacks(execute=True):
        report = retention_apply(now=NOW)

    assert not Case.objects.filter(pk=expired.pk).exists()
    assert not Case.history.filter(id=expired.pk).exists()
    assert not CaseNote.history.filter(case_id=expired.pk).exists()
    assert not CaseDocument.history.filter(case_id=expired.pk).exists()
    assert not CaseCorrespondence.history.filter(case_id=expired.pk).exists()
    assert not expired_file.exists()
    assert Case.objects.filter(pk=kept.pk).exists()
    assert private_path(kept.documents.get().path).exists()
    assert report["rights_requests"]["case"] == 1
    assert report["rights_requests"]["case_history"] >= 2
    assert report["rights_requests"]["casenote"] == 1
    # One chained scrub entry, counts only, and the chain verifies.
    scrub = AccessEvent.objects.get(action=AccessEvent.Action.SCRUB, object_type="retention schedule")
    assert scrub.details["rights_requests"]["case"] == 1
    assert "Quill" not in str(scrub.details)
    chain_pending()
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_closed_complaint_past_six_years_goes_with_its_ico_case_and_an_open_one_stays():
    old = ComplaintFactory(received_on=SIX_YEARS_AGO - datetime.timedelta(days=90))
    old.status, old.closed_on = Complaint.Status.CLOSED, SIX_YEARS_AGO - datetime.timedelta(days=1)
    old.save()
    ico = IcoCase.objects.create(
        complaint=old, ico_reference="IC-1", contacted_on=old.received_on, contact_method="email", requested="All"
    )
    IcoDeadline.objects.create(ico_case=ico, what="Reply", due_on=old.received_on)
    still_open = ComplaintFactory(received_on=SIX_YEARS_AGO - datetime.timedelta(days=90))

    report = retention_apply(now=NOW)

    assert not Complaint.objects.filter(pk=old.pk).exists()
    assert not Complaint.history.filter(id=old.pk).exists()
    assert not IcoCase.history.filter(id=ico.pk).exists()
    assert not IcoDeadline.objects.exists() and not IcoDeadline.history.exists()
    assert Complaint.objects.filter(pk=still_open.pk).exists()
    assert report["complaints"]["complaint"] == 1 and report["complaints"]["icocase"] == 1


@pytest.mark.django_db
def test_purchases_go_six_years_after_the_order_or_the_end_of_their_plan_or_guarantee():
    long_ago = SIX_YEARS_AGO - datetime.timedelta(days=30)
    paid = PurchaseFactory(ordered_on=long_ago, instalments=0, guarantee_until=None)
    on_plan = PurchaseFactory(ordered_on=long_ago, instalments=12, guarantee_until=None)
    guaranteed = PurchaseFactory(ordered_on=long_ago, instalments=0, guarantee_until=SIX_YEARS_AGO)
    retention_apply(now=NOW)
    assert set(Purchase.objects.values_list("pk", flat=True)) == {on_plan.pk, guaranteed.pk}
    assert not Purchase.history.filter(id=paid.pk).exists()


@pytest.mark.django_db
def test_the_job_leaves_what_is_within_its_period_and_a_second_run_removes_nothing():
    CallFactory(started_at=NOW - relativedelta(months=1))
    CallFactory(started_at=NOW - relativedelta(months=7))
    first = retention_apply(now=NOW)
    assert first["calls"]["calls"] == 1
    assert Call.objects.count() == 1
    second = retention_apply(now=NOW)
    assert not any(v for counts in second.values() for v in counts.values())
    assert AccessEvent.objects.filter(object_type="retention schedule").count() == 1


@pytest.mark.django_db
def test_the_customer_record_itself_is_not_touched_by_the_schedule():
    customer = CustomerFactory()
    CallFactory(customer=customer, started_at=NOW - relativedelta(months=7))
    retention_apply(now=NOW)
    assert Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_worker")
def test_the_nightly_task_runs_on_a_real_worker_and_records_its_counts():
    from privacy_portal.tasks import apply_retention_schedule
    from tests.fixtures.celery import wait_for

    CallFactory(started_at=timezone.now() - relativedelta(months=7))
    apply_retention_schedule.delay()
    assert wait_for(lambda: JobRun.objects.filter(name="apply_retention_schedule", finished_at__isnull=False).exists())
    run = JobRun.objects.get(name="apply_retention_schedule")
    assert run.outcome == JobRun.Outcome.OK
    assert run.detail["calls"]["calls"] == 1
    assert not Call.objects.exists()


# --- Shown to the DPO and in the register ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("dpo", 200), ("auditor", 200), ("itadmin", 403), ("nobody", 403)])
def test_the_schedule_page_is_read_by_those_entitled(client_for, cast, role, status):
    from django.urls import reverse

    assert client_for(cast[role]).get(reverse("retention_schedule")).status_code == status


@pytest.mark.django_db
def test_the_dpo_reads_every_rule_on_the_schedule_page_and_in_the_register(client_for, dpo):
    from django.urls import reverse

    client = client_for(dpo)
    for url in (reverse("retention_schedule"), reverse("register")):
        body = client.get(url).content.decode()
        for r in SCHEDULE:
            assert r.kind in body, (url, r.key)
    assert "Limitation Act 1980" in body
    assert client.post(reverse("retention_schedule")).status_code == 405
