"""The daily suppression feed, when opt-outs are actioned, and the DPO's list of missed opt-out deadlines."""

from __future__ import annotations

import csv
import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import Channel, Customer, PreferenceChange, Purpose, SuppressionEntry
from customers.selectors.customers import missed_optout_deadlines, missed_optout_open_count
from customers.services.feed import RESTRICTED_REASON, feed_directory, suppression_feed_build
from customers.services.preferences import preference_record
from customers.services.suppression import identifier_hash, suppression_add
from customers.tasks import build_suppression_feed
from privacy_portal.celery import app
from privacy_portal.models import AccessEvent, JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE_CALL = PreferenceChange.Source.PHONE_CALL


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def _opt_out(actor, customer, channel=Channel.EMAIL, days_ago=0, purpose=Purpose.DIRECT_MARKETING):
    change, _ = preference_record(
        actor=actor,
        customer=customer,
        purpose=purpose,
        channel=channel if purpose == Purpose.DIRECT_MARKETING else "",
        granted=False,
        source=PHONE_CALL,
        received_at=timezone.now() - datetime.timedelta(days=days_ago),
    )
    return change


def _rows(channel: str, day: datetime.date | None = None) -> list[dict]:
    path = feed_directory(day or timezone.localdate()) / f"{channel}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _restrict(customer: Customer) -> Customer:
    customer.processing_restricted = True
    customer.restricted_at = timezone.now()
    customer.save()
    return customer


# --- The files -----------------------------------------------------------------------


def test_the_feed_writes_one_private_csv_per_channel_and_the_ad_removal_files(private_storage):
    suppression_feed_build()
    directory = private_storage / "suppression" / timezone.localdate().isoformat()
    assert sorted(p.name for p in directory.iterdir()) == [
        "email.csv",
        "google_customer_match.csv",
        "meta_custom_audiences.csv",
        "phone.csv",
        "post.csv",
        "sms.csv",
    ]
    for channel in Channel.values:
        assert (directory / f"{channel}.csv").read_text().splitlines() == ["identifier_hash,reason"]


def test_an_opt_out_goes_into_its_channels_file_as_a_hash_only(agent):
    customer = CustomerFactory(email="mary.jones@example.co.uk")
    _opt_out(agent, customer, Channel.EMAIL)
    suppression_feed_build()
    assert _rows("email") == [{"identifier_hash": identifier_hash("mary.jones@example.co.uk"), "reason": "opted_out"}]
    assert _rows("sms") == []
    assert "mary.jones" not in (feed_directory(timezone.localdate()) / "email.csv").read_text()


def test_every_suppression_entry_is_included_even_without_a_customer():
    suppression_add(
        actor=None, channel=Channel.POST, identifier="1 HIGH STREET|SW1A1AA", reason=SuppressionEntry.Reason.ERASED
    )
    suppression_feed_build()
    assert _rows("post") == [{"identifier_hash": identifier_hash("1 HIGH STREET|SW1A1AA"), "reason": "erased"}]


def test_a_restricted_customer_is_in_every_channels_file_but_not_on_the_permanent_list():
    customer = _restrict(CustomerFactory(email="r@example.co.uk", phone="+447911123456"))
    report = suppression_feed_build()
    assert _rows("email") == [{"identifier_hash": identifier_hash("r@example.co.uk"), "reason": RESTRICTED_REASON}]
    assert _rows("sms") == [{"identifier_hash": identifier_hash("+447911123456"), "reason": RESTRICTED_REASON}]
    assert _rows("phone") == _rows("sms")
    assert [r["reason"] for r in _rows("post")] == [RESTRICTED_REASON]
    assert not SuppressionEntry.objects.exists()
    assert report["restricted"] == 4
    # Lifted restriction: gone from the next feed.
    customer.processing_restricted = False
    customer.save()
    suppression_feed_build()
    assert _rows("email") == []


def test_a_restricted_customer_already_suppressed_appears_once_with_the_lists_reason(agent):
    customer = CustomerFactory(email="both@example.co.uk")
    _opt_out(agent, customer, Channel.EMAIL)
    _restrict(customer)
    suppression_feed_build()
    assert _rows("email") == [{"identifier_hash": identifier_hash("both@example.co.uk"), "reason": "opted_out"}]


def test_the_feed_is_not_under_a_public_url(settings, private_storage):
    suppression_feed_build()
    directory = feed_directory(timezone.localdate()).resolve()
    assert directory.is_relative_to(private_storage.resolve())
    for public_root in (settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", None)):
        if public_root:
            assert not directory.is_relative_to(public_root)


# --- Actioning -----------------------------------------------------------------------


def test_the_run_records_when_each_opt_out_and_entry_was_first_included(agent):
    customer = CustomerFactory()
    change = _opt_out(agent, customer, Channel.SMS, days_ago=1)
    run_at = timezone.now()
    report = suppression_feed_build(now=run_at)
    change.refresh_from_db()
    assert change.actioned_at == run_at
    assert SuppressionEntry.objects.get().first_included_at == run_at
    assert (report["first_included"], report["actioned"]) == (1, 1)
    latest = change.history.latest()
    assert latest.actioned_at == run_at
    assert latest.history_change_reason == "Actioned by the suppression feed"


def test_opt_ins_and_opt_outs_received_after_the_run_are_not_actioned(agent):
    customer = CustomerFactory()
    opt_in, _ = preference_record(
        actor=agent, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.POST, granted=True,
        source=PHONE_CALL,
    )  # fmt: skip
    later = _opt_out(agent, CustomerFactory(), Channel.EMAIL)
    suppression_feed_build(now=later.received_at - datetime.timedelta(seconds=1))
    opt_in.refresh_from_db()
    later.refresh_from_db()
    assert opt_in.actioned_at is None
    assert later.actioned_at is None


def test_running_twice_the_same_day_rewrites_the_same_files_and_moves_no_time(agent):
    first_change = _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=2)
    _restrict(CustomerFactory())
    first_run = timezone.now() - datetime.timedelta(minutes=5)
    suppression_feed_build(now=first_run)
    directory = feed_directory(timezone.localdate(first_run))
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    report = suppression_feed_build()

    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    first_change.refresh_from_db()
    assert first_change.actioned_at == first_run
    assert SuppressionEntry.objects.get().first_included_at == first_run
    assert (report["first_included"], report["actioned"]) == (0, 0)
    assert first_change.history.count() == 2


def test_an_opt_out_recorded_between_two_runs_is_actioned_by_the_second(agent):
    suppression_feed_build(now=timezone.now() - datetime.timedelta(hours=1))
    change = _opt_out(agent, CustomerFactory(), Channel.PHONE)
    second_run = timezone.now()
    suppression_feed_build(now=second_run)
    change.refresh_from_db()
    assert change.actioned_at == second_run
    assert SuppressionEntry.objects.get().first_included_at == second_run


def test_the_report_counts_rows_late_actions_and_missed_deadlines_still_open(agent):
    _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=10)  # due 3 days ago: actioned late
    _opt_out(agent, CustomerFactory(), Channel.POST, days_ago=10)  # due in 32 days
    _restrict(CustomerFactory(email="", phone=""))  # only a postal address
    report = suppression_feed_build()
    assert report == {
        "email": 1,
        "sms": 0,
        "phone": 0,
        "post": 2,
        "restricted": 1,
        "ad_audiences": 0,
        "first_included": 2,
        "actioned": 2,
        "actioned_late": 1,
        "missed_open": 0,
    }


def test_the_daily_task_records_its_run_with_the_missed_deadlines_still_open(agent):
    # Due two days ago and never actioned: the task actions it, late.
    _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=9)
    run = JobRun.objects.get(pk=build_suppression_feed.delay().get())
    assert run.name == "build_suppression_feed"
    assert run.outcome == JobRun.Outcome.OK
    assert (run.detail["actioned"], run.detail["actioned_late"], run.detail["missed_open"]) == (1, 1, 0)


def test_the_feed_is_scheduled_daily_under_a_registered_task():
    app.loader.import_default_modules()
    entry = next(e for e in BEAT_SCHEDULE.values() if e["task"] == "customers.tasks.build_suppression_feed")
    assert entry["task"] in app.tasks
    assert len(entry["schedule"].hour) == 1


def test_ops_can_build_the_feed_from_the_command_line(agent):
    _opt_out(agent, CustomerFactory(), Channel.EMAIL)
    out = StringIO()
    call_command("build_suppression_feed", stdout=out)
    assert "email: 1" in out.getvalue()
    assert str(feed_directory(timezone.localdate())) in out.getvalue()
    assert JobRun.objects.get().name == "build_suppression_feed"


# --- Missed opt-out deadlines ------------------------------------------------------


@pytest.fixture
def late(agent):
    """An email opt-out received 10 days ago (due 3 days ago), never actioned."""
    return _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=10)


def test_an_unactioned_opt_out_past_its_date_is_a_missed_deadline_and_others_are_not(agent, late):
    _opt_out(agent, CustomerFactory(), Channel.SMS, days_ago=3)  # due in 4 days
    _opt_out(agent, CustomerFactory(), Channel.POST, days_ago=10)  # 6 weeks for post
    _opt_out(agent, CustomerFactory(), Channel.PHONE, days_ago=7)  # due today: not yet late
    actioned = _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=10)
    actioned.actioned_at = timezone.now() - datetime.timedelta(days=9)
    actioned.save()
    assert list(missed_optout_deadlines()) == [late]
    assert missed_optout_open_count() == 1


def test_the_feed_actions_a_missed_opt_out_which_stays_listed_with_its_delay(late):
    assert missed_optout_open_count() == 1
    suppression_feed_build()
    late.refresh_from_db()
    assert missed_optout_open_count() == 0
    assert late.actioned_at is not None and late.late_by_days == 3
    assert list(missed_optout_deadlines()) == [late]


def test_the_list_of_missed_deadlines_uses_the_partial_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = missed_optout_deadlines().explain()
    assert "prefchange_unactioned" in plan and "prefchange_actioned_late" in plan


def test_the_dpo_sees_each_missed_deadline_with_its_customer_and_days_late(client_for, dpo, late):
    response = client_for(dpo).get(reverse("customers:breaches"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="{reverse("customers:detail", args=[late.customer_id])}"' in page
    assert late.customer.reference in page
    assert "Direct marketing · Email" in page
    assert f"{late.takes_effect_by:%-d %b %Y}" in page
    assert ">3</span>" in page
    event = AccessEvent.objects.get()
    assert (event.user, event.result_ids) == (dpo, [late.customer_id])


def test_the_missed_deadlines_page_says_so_when_there_are_none(client_for, dpo):
    response = client_for(dpo).get(reverse("customers:breaches"))
    assert "No opt-out has missed its deadline." in response.content.decode()


def test_the_missed_deadlines_page_takes_bounded_queries(client_for, dpo, agent, django_assert_max_num_queries):
    for _ in range(12):
        _opt_out(agent, CustomerFactory(), Channel.EMAIL, days_ago=10)
    client = client_for(dpo)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("customers:breaches")).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 403),
        ("handler", 403),
        ("other_handler", 403),
        ("dpo", 200),
        ("auditor", 200),
        ("itadmin", 403),
        ("nobody", 403),
    ],
)
def test_only_the_dpo_and_auditors_see_missed_deadlines(client_for, cast, late, role, status):
    response = client_for(cast[role]).get(reverse("customers:breaches"))
    assert response.status_code == status
    assert (late.customer.reference in response.content.decode()) == (status == 200)


def test_the_missed_deadlines_page_rejects_post(client_for, dpo):
    assert client_for(dpo).post(reverse("customers:breaches")).status_code == 405
