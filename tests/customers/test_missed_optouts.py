"""Broken promises stay visible, and "actioned" means a feed really carries the change:
the ad audiences' removal feed (Google Customer Match, Meta Custom Audiences), withdrawals of
sensitive sharing effective at once, and missed opt-out deadlines listed with their delay."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Channel, PreferenceChange, Purpose
from customers.selectors.customers import (
    MISSED_LATE,
    MISSED_OPEN,
    missed_optout_deadlines,
    missed_optout_late_count,
    missed_optout_open_count,
)
from customers.services import ad_feed
from customers.services.feed import (
    REASON_AD_FEED,
    REASON_NOTHING_TO_MATCH,
    REASON_SUPPRESSION_FEED,
    feed_directory,
    suppression_feed_build,
)
from customers.services.imports import preference_import
from customers.services.preferences import REASON_AT_ONCE, customer_object_to_marketing, preference_record
from privacy_portal import legal
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
PHONE_CALL = PreferenceChange.Source.PHONE_CALL
ADS = Purpose.PERSONALISED_ADS

MARY_EMAIL_SHA256 = "1619e21a764582f00f16823f3e57a185f5bffe00e506f4dd0b50dd041700424a"  # mary.jones@example.co.uk
GOOGLE_PHONE_SHA256 = "a8acc3a90a7b4e4dc65e93db9240ed26523050ef754d63b75b5161de76781436"  # +447700900123
META_PHONE_SHA256 = "033134b911b137918338415ee3d20a064b24773d36a3b02e8b99fdd3fcd6b4cd"  # 447700900123


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def change(actor, customer, *, purpose=ADS, channel="", granted=False, days_ago=0):
    recorded, _ = preference_record(
        actor=actor, customer=customer, purpose=purpose, channel=channel, granted=granted, source=PHONE_CALL,
        received_at=timezone.now() - datetime.timedelta(days=days_ago),
    )  # fmt: skip
    return recorded


def ad_rows(name: str) -> list[dict]:
    path = feed_directory(timezone.localdate()) / name
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- The platforms' normalisation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "phone"),
    [
        ("mary.jones@example.co.uk", "+447700900123"),
        ("  Mary.Jones@EXAMPLE.co.uk ", "07700 900123"),
        ("MARY.JONES@EXAMPLE.CO.UK", "+44 (0)7700 900123"),
        ("mary.jones@example.co.uk\t", "0044 7700 900123"),
    ],
)
def test_emails_are_trimmed_and_lowercased_and_phones_put_in_each_platforms_form_before_sha256(email, phone):
    assert ad_feed.google_hashes(email, phone) == (MARY_EMAIL_SHA256, GOOGLE_PHONE_SHA256)
    assert ad_feed.meta_hashes(email, phone) == (MARY_EMAIL_SHA256, META_PHONE_SHA256)


@pytest.mark.parametrize(("email", "phone"), [("", ""), ("   ", "not a number"), ("", "12")])
def test_a_missing_or_unusable_value_gives_an_empty_column_not_the_hash_of_nothing(email, phone):
    assert ad_feed.google_hashes(email, phone) == ("", "")
    assert ad_feed.meta_hashes(email, phone) == ("", "")


# --- The removal feed and what it actions -------------------------------------------------


def test_a_personalised_ads_opt_out_goes_into_both_platforms_removal_files_as_hashes_only(agent):
    customer = CustomerFactory(email="mary.jones@example.co.uk", phone="+447700900123")
    opt_out = change(agent, customer)
    report = suppression_feed_build()
    assert ad_rows(ad_feed.GOOGLE_FILE) == [{"Email": MARY_EMAIL_SHA256, "Phone": GOOGLE_PHONE_SHA256}]
    assert ad_rows(ad_feed.META_FILE) == [{"email": MARY_EMAIL_SHA256, "phone": META_PHONE_SHA256}]
    directory = feed_directory(timezone.localdate())
    for name in ad_feed.AD_FEED_FILES:
        text = (directory / name).read_text()
        assert "mary" not in text and "7700900123" not in text
        assert oct((directory / name).stat().st_mode & 0o777) == "0o640"
    opt_out.refresh_from_db()
    assert opt_out.actioned_at is not None and opt_out.late_by_days is None
    assert opt_out.history.latest().history_change_reason == REASON_AD_FEED
    assert report["ad_audiences"] == 1 and report["actioned"] == 1


def test_the_removal_files_carry_every_email_and_number_the_customer_ever_had(agent):
    customer = CustomerFactory(email="old.address@example.co.uk", phone="+447700900123")
    customer.email, customer.phone = "mary.jones@example.co.uk", ""
    customer.save()
    change(agent, customer)
    suppression_feed_build()
    assert ad_rows(ad_feed.GOOGLE_FILE) == [
        {"Email": MARY_EMAIL_SHA256, "Phone": GOOGLE_PHONE_SHA256},
        {"Email": ad_feed.sha256_hex("old.address@example.co.uk"), "Phone": ""},
    ]
    assert ad_rows(ad_feed.META_FILE) == [
        {"email": MARY_EMAIL_SHA256, "phone": META_PHONE_SHA256},
        {"email": ad_feed.sha256_hex("old.address@example.co.uk"), "phone": ""},
    ]


def test_the_suppression_feed_alone_never_actions_a_personalised_ads_opt_out(agent):
    # The ads opt-out of someone who opted back in before the feed ran: no file carries it.
    customer = CustomerFactory()
    opt_out = change(agent, customer, days_ago=2)
    change(agent, customer, granted=True, days_ago=1)
    marketing = change(agent, customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, days_ago=1)
    suppression_feed_build()
    opt_out.refresh_from_db()
    marketing.refresh_from_db()
    assert opt_out.actioned_at is None
    assert marketing.history.latest().history_change_reason == REASON_SUPPRESSION_FEED
    assert ad_rows(ad_feed.GOOGLE_FILE) == []


def test_an_ads_opt_out_with_no_email_or_phone_to_match_on_is_actioned_as_nothing_to_remove(agent):
    customer = CustomerFactory(email="", phone="")
    opt_out = change(agent, customer)
    suppression_feed_build()
    opt_out.refresh_from_db()
    assert opt_out.actioned_at is not None
    assert opt_out.history.latest().history_change_reason == REASON_NOTHING_TO_MATCH
    assert ad_rows(ad_feed.GOOGLE_FILE) == []


def test_an_objection_or_a_restriction_puts_the_customer_in_the_removal_files(agent):
    objected = CustomerFactory(email="objector@example.co.uk", phone="")
    customer_object_to_marketing(actor=agent, customer=objected, source=PHONE_CALL)
    restricted = CustomerFactory(email="", phone="+447700900123")
    restricted.processing_restricted, restricted.restricted_at = True, timezone.now()
    restricted.save()
    suppression_feed_build()
    google = ad_rows(ad_feed.GOOGLE_FILE)
    assert google == [
        {"Email": ad_feed.sha256_hex("objector@example.co.uk"), "Phone": ""},
        {"Email": "", "Phone": GOOGLE_PHONE_SHA256},
    ]
    ads_withdrawal = PreferenceChange.objects.get(customer=objected, purpose=ADS)
    assert ads_withdrawal.history.latest().history_change_reason == REASON_AD_FEED


def test_an_ads_opt_out_carried_after_its_date_records_how_late_it_was(agent):
    opt_out = change(agent, CustomerFactory(), days_ago=10)  # due 3 days ago
    report = suppression_feed_build()
    opt_out.refresh_from_db()
    assert opt_out.late_by_days == 3 and report["actioned_late"] == 1
    assert opt_out.history.latest().late_by_days == 3
    assert list(missed_optout_deadlines()) == [opt_out]


# --- Sensitive sharing: effective at once -------------------------------------------------


def test_a_sensitive_sharing_withdrawal_is_effective_at_once_and_never_missed(agent):
    customer = CustomerFactory()
    change(agent, customer, purpose=Purpose.SENSITIVE_SHARING, granted=True, days_ago=20)
    withdrawal = change(agent, customer, purpose=Purpose.SENSITIVE_SHARING, days_ago=10)  # a letter opened late
    assert withdrawal.actioned_at is not None and withdrawal.late_by_days is None
    assert withdrawal.history.latest().history_change_reason.endswith(REASON_AT_ONCE)
    assert list(missed_optout_deadlines()) == [] and missed_optout_open_count() == 0
    actioned_at = withdrawal.actioned_at
    suppression_feed_build()
    withdrawal.refresh_from_db()
    assert withdrawal.actioned_at == actioned_at and withdrawal.history.count() == 1
    assert list(missed_optout_deadlines()) == []


def test_an_imported_sensitive_sharing_withdrawal_is_effective_at_once(dpo):
    customer = CustomerFactory()
    data = (
        "customer_reference,purpose,channel,action,source,received_at,evidence,notice_version\n"
        f"{customer.reference},sensitive_sharing,,opt_out,letter,{timezone.localdate():%Y-%m-%d},Letter,\n"
    )
    preference_import(actor=dpo, file=io.BytesIO(data.encode()), name="changes.csv")
    withdrawal = PreferenceChange.objects.get(customer=customer)
    assert withdrawal.actioned_at is not None
    assert withdrawal.history.latest().history_change_reason.endswith(REASON_AT_ONCE)


# --- The list of missed deadlines: filters, page, dashboard ---------------------------------


@pytest.fixture
def missed(agent):
    """Three missed deadlines: one still open (due 3 days ago), one actioned 5 days late (due 30
    days ago), one actioned 2 days late (due 60 days ago); and one opt-out not yet due."""
    today = timezone.localdate()
    still_open = change(agent, CustomerFactory(), purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, days_ago=10)
    late_recent = change(agent, CustomerFactory(), purpose=Purpose.DIRECT_MARKETING, channel=Channel.SMS, days_ago=37)
    late_old = change(agent, CustomerFactory(), days_ago=67)
    for opt_out, late_by in ((late_recent, 5), (late_old, 2)):
        opt_out.actioned_at = timezone.now() - datetime.timedelta(days=(today - opt_out.takes_effect_by).days - late_by)
        opt_out.late_by_days = late_by
        opt_out.save()
    change(agent, CustomerFactory(), purpose=Purpose.DIRECT_MARKETING, channel=Channel.POST, days_ago=3)
    return still_open, late_recent, late_old


def test_missed_deadlines_are_listed_open_and_late_oldest_first_and_filtered_by_period(missed):
    still_open, late_recent, late_old = missed
    today = timezone.localdate()
    assert list(missed_optout_deadlines()) == [late_old, late_recent, still_open]
    assert list(missed_optout_deadlines(state=MISSED_OPEN)) == [still_open]
    assert list(missed_optout_deadlines(state=MISSED_LATE)) == [late_old, late_recent]
    since = today - datetime.timedelta(days=45)
    assert list(missed_optout_deadlines(due_from=since)) == [late_recent, still_open]
    until = today - datetime.timedelta(days=10)
    assert list(missed_optout_deadlines(due_from=since, due_to=until)) == [late_recent]
    assert missed_optout_open_count() == 1
    assert missed_optout_late_count(since=since) == 1


def test_the_page_shows_each_missed_deadline_with_its_delay_and_filters_by_period(client_for, dpo, missed):
    still_open, late_recent, late_old = missed
    client = client_for(dpo)
    page = client.get(reverse("customers:breaches")).content.decode()
    # "Breach" now means one thing only: a personal-data breach (its own page in the nav).
    main = page[page.index("<main") :]
    assert "<h1>Missed opt-out deadlines</h1>" in page and "breach" not in main.lower()
    for opt_out in missed:
        assert opt_out.customer.reference in page
    assert ">5</span>" in page and ">2</span>" in page and ">3</span>" in page and "Not yet" in page
    since = (timezone.localdate() - datetime.timedelta(days=45)).strftime("%d/%m/%Y")
    page = client.get(reverse("customers:breaches"), {"due_from": since, "state": "late"}).content.decode()
    assert late_recent.customer.reference in page
    assert still_open.customer.reference not in page and late_old.customer.reference not in page


def test_a_backwards_period_is_refused_naming_the_field(client_for, dpo, missed):
    page = (
        client_for(dpo)
        .get(reverse("customers:breaches"), {"due_from": "10/03/2026", "due_to": "01/03/2026"})
        .content.decode()
    )
    assert "“Due to” must be on or after “Due from”." in page


def test_the_dpo_dashboard_counts_open_and_late_missed_deadlines(client_for, dpo, missed):
    body = client_for(dpo).get(reverse("home")).content.decode()
    assert "Missed opt-out deadlines" in body
    assert "1 not yet actioned" in body and "2 actioned late" in body
    assert reverse("customers:breaches") + "?state=open" in body


def test_the_nav_calls_the_page_missed_opt_out_deadlines(client_for, dpo):
    body = client_for(dpo).get(reverse("home")).content.decode()
    assert ">Missed opt-out deadlines</a>" in body and "Opt-out breaches" not in body


def test_a_one_click_unsubscribe_not_actioned_within_two_days_is_a_missed_deadline(client_for, dpo):
    """Three days old: inside the notice's 7 days, but past the mailbox providers' 2."""
    customer = CustomerFactory()
    received = timezone.now() - datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK + 1)
    for source, who in ((PreferenceChange.Source.ONE_CLICK, customer), (PHONE_CALL, CustomerFactory())):
        preference_record(
            actor=None, customer=who, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, granted=False,
            source=source, received_at=received,
        )  # fmt: skip
    missed = list(missed_optout_deadlines(state=MISSED_OPEN))
    assert [(c.customer_id, c.source) for c in missed] == [(customer.pk, PreferenceChange.Source.ONE_CLICK)]
    page = client_for(dpo).get(reverse("customers:breaches")).content.decode()
    assert customer.reference in page
    assert "one-click unsubscribe" in page
    assert "within 2 days" in page
