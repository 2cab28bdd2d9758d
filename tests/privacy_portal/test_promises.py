"""The promise register: each check, broken in data, says so and names the exception; kept, says
"kept". Parametrised over the register, so a check added without its two builders fails here."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from customers.models import PreferenceChange
from privacy_portal.models import AccessEvent, BreakGlassReview, JobRun, PrivacyNoticeVersion, User
from privacy_portal.promises import BROKEN, KEPT, NOT_MEASURABLE, REGISTER
from privacy_portal.promises.base import Check, Period
from privacy_portal.promises.report import check_outcome
from requests.models import Breach, Case, IcoCase, IcoDeadline
from tests.factories import (
    CallFactory,
    CaseFactory,
    ComplaintFactory,
    CorrespondenceFactory,
    CustomerFactory,
    DisclosureFactory,
    RecipientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PERIOD = Period.quarter_of(TODAY, back=1)  # last quarter: over, so every deadline in it has passed
DAY = PERIOD.start + datetime.timedelta(days=40)


def at(day: datetime.date = DAY, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@dataclass
class Made:
    """What a builder made: the record the exception must name (model label and id), or, for a
    daily job's missing day, the text its reference must contain."""

    model: str = ""
    id: int | None = None
    reference_contains: str = ""


def _optout(channel: str, *, late: bool, source: str = "email") -> Made:
    change = PreferenceChange.objects.create(
        customer=CustomerFactory(),
        purpose="direct_marketing",
        channel=channel,
        granted=False,
        source=source,
        received_at=at(DAY - datetime.timedelta(days=7)),
        takes_effect_by=DAY,
        actioned_at=None if late else at(DAY - datetime.timedelta(days=1)),
    )
    return Made("customers.PreferenceChange", change.pk)


def _objection(*, late: bool) -> Made:
    customer = CustomerFactory(marketing_objected=True, objected_at=at())
    PreferenceChange.objects.create(
        customer=customer, purpose="direct_marketing", channel="email", granted=False, source="phone_call",
        received_at=at(), takes_effect_by=DAY + datetime.timedelta(days=7), actioned_at=at(DAY + datetime.timedelta(1)),
    )  # fmt: skip
    if late:  # marketing switched back on after an absolute objection
        PreferenceChange.objects.create(
            customer=customer, purpose="direct_marketing", channel="post", granted=True, source="import",
            received_at=at(DAY + datetime.timedelta(days=3)), takes_effect_by=DAY + datetime.timedelta(days=3),
        )  # fmt: skip
    return Made("customers.Customer", customer.pk)


def _daily(name: str, *, missing: bool, detail: dict | None = None) -> Made:
    skipped = PERIOD.start + datetime.timedelta(days=20)
    for day in PERIOD.days_until(TODAY):
        if missing and day == skipped:
            continue
        JobRun.objects.create(name=name, started_at=at(day, 2), finished_at=at(day, 2), detail=detail or {})
    return Made("privacy_portal.JobRun", None, skipped.isoformat())


def _retention(factory, field: str, *, late: bool) -> Made:
    _daily("purge_expired_calls", missing=False)
    if not late:
        return Made()
    # Recorded 6 months and 10 days before a day of the period: its 6 months ended in the period.
    record = factory(**{field: at(DAY) - datetime.timedelta(days=190)})
    return Made(record._meta.label, record.pk)


def _case(**fields) -> Case:
    case = CaseFactory()
    for name, value in fields.items():
        setattr(case, name, value)
    case.save()
    return case


def _requests_on_time(*, late: bool) -> Made:
    due = DAY - datetime.timedelta(days=5) if late else DAY + datetime.timedelta(days=1)
    case = _case(status=Case.Status.COMPLETED, closed_on=DAY, due_on=due, right="erasure")
    return Made("requests.Case", case.pk)


def _extension(*, late: bool) -> Made:
    told = DAY + datetime.timedelta(days=3) if late else DAY - datetime.timedelta(days=3)
    case = _case(extended=True, original_due_on=DAY, extension_notified_on=told, extension_reason="Complex")
    return Made("requests.Case", case.pk)


def _refusal(*, late: bool) -> Made:
    case = _case(status=Case.Status.REFUSED, refusal_ground="unfounded", closed_on=DAY, refused_late=late)
    return Made("requests.Case", case.pk)


def _complaint_ack(*, late: bool) -> Made:
    complaint = ComplaintFactory(received_on=DAY - datetime.timedelta(days=29), acknowledge_by=DAY)
    complaint.acknowledged_on = None if late else DAY - datetime.timedelta(days=1)
    complaint.save()
    return Made("requests.Complaint", complaint.pk)


def _complaint_response(*, late: bool) -> Made:
    complaint = ComplaintFactory(received_on=DAY - datetime.timedelta(days=60))
    complaint.acknowledged_on = complaint.received_on
    complaint.response_due_on = DAY
    complaint.responded_on = DAY + datetime.timedelta(days=2) if late else DAY
    complaint.save()
    return Made("requests.Complaint", complaint.pk)


def _review(*, late: bool) -> Made:
    complaint = ComplaintFactory(received_on=DAY - datetime.timedelta(days=90))
    complaint.acknowledged_on = complaint.received_on
    complaint.review_requested_on = DAY - datetime.timedelta(days=30)
    complaint.review_concluded_on = None if late else DAY - datetime.timedelta(days=2)
    complaint.save()
    return Made("requests.Complaint", complaint.pk)


def _ico(*, late: bool) -> Made:
    ico = IcoCase.objects.create(
        complaint=ComplaintFactory(), ico_reference="IC-12345-A1B2", contacted_on=DAY - datetime.timedelta(days=20),
        contact_method="email", requested="The case file.",
    )  # fmt: skip
    deadline = IcoDeadline.objects.create(ico_case=ico, what="Send the file", due_on=DAY,
                                          answered_on=None if late else DAY)  # fmt: skip
    return Made("requests.IcoDeadline", deadline.pk)


def _breach(*, late: bool) -> Made:
    breach = Breach(reference="BR-2026-99001", summary="Letter sent to the wrong address", what_happened="Misdelivery",
                    aware_at=at())  # fmt: skip
    if not late:
        breach.report_to_ico = False
        breach.ico_decision_reason = "One letter, returned unopened: no risk likely."
    breach.save()
    return Made("requests.Breach", breach.pk)


def _disclosure(*, late: bool, **fields) -> Made:
    disclosure = DisclosureFactory(disclosed_at=at(), **fields)
    return Made("customers.Disclosure", disclosure.pk)


def _restricted(*, late: bool) -> Made:
    customer = CustomerFactory(
        processing_restricted=late, restricted_at=at(DAY - datetime.timedelta(1)) if late else None
    )
    return _disclosure(late=late, customer=customer)


def _sensitive(*, late: bool) -> Made:
    customer = CustomerFactory()
    if not late:
        PreferenceChange.objects.create(
            customer=customer, purpose="sensitive_sharing", channel="", granted=True, source="letter",
            received_at=at(DAY - datetime.timedelta(days=1)), takes_effect_by=DAY,
        )  # fmt: skip
    return _disclosure(late=late, customer=customer, sensitive=True, special_category_condition="explicit_consent")


def _lawful_basis(*, late: bool) -> Made:
    return _disclosure(late=late, lawful_basis="" if late else "contract")


def _transfer(*, late: bool) -> Made:
    if late:
        recipient = RecipientFactory(country="US")
    else:
        recipient = RecipientFactory(country="US", transfer_mechanism="eu_sccs_uk_addendum", tra_date=DAY,
                                     tra_reference="TRA-1")  # fmt: skip
    return _disclosure(late=late, recipient=recipient)


def _under_18(*, late: bool) -> Made:
    born = DAY - datetime.timedelta(days=365 * 17) if late else datetime.date(1960, 5, 17)
    customer = CustomerFactory(date_of_birth=born, account_opened_on=DAY - datetime.timedelta(days=10))
    return Made("customers.Customer", customer.pk)


def _break_glass(*, late: bool) -> Made:
    handler = UserFactory(role=User.Role.HANDLER)
    event = AccessEvent.objects.create(user=handler, action=AccessEvent.Action.BREAK_GLASS,
                                       customer_id=CustomerFactory().pk, at=at(), flagged=True)  # fmt: skip
    if not late:
        BreakGlassReview.objects.create(event=event, outcome="justified", reviewed_at=at(DAY + datetime.timedelta(1)),
                                        reviewed_by=UserFactory(role=User.Role.DPO))  # fmt: skip
    return Made("privacy_portal.AccessEvent", event.pk)


def _auditor(*, late: bool) -> Made:
    ends = DAY - datetime.timedelta(days=5) if late else DAY + datetime.timedelta(days=5)
    auditor = UserFactory(role=User.Role.AUDITOR, access_ends_on=ends)
    event = AccessEvent.objects.create(user=auditor, action=AccessEvent.Action.VIEW_CUSTOMER,
                                       customer_id=CustomerFactory().pk, at=at())  # fmt: skip
    return Made("privacy_portal.AccessEvent", event.pk)


def _approved(*, late: bool) -> Made:
    agent = UserFactory(role=User.Role.AGENT, approved_at=None if late else at(DAY - datetime.timedelta(days=1)))
    event = AccessEvent.objects.create(user=agent, action=AccessEvent.Action.VIEW_CUSTOMER,
                                       customer_id=CustomerFactory().pk, at=at())  # fmt: skip
    return Made("privacy_portal.AccessEvent", event.pk)


def _chain(*, late: bool) -> Made:
    made = _daily("verify_audit_log", missing=False, detail={"ok": True})
    if late:  # one night the chain was found broken
        night = PERIOD.start + datetime.timedelta(days=20)
        JobRun.objects.filter(name="verify_audit_log", started_at=at(night, 2)).delete()
        JobRun.objects.create(name="verify_audit_log", started_at=at(night, 2), detail={"ok": False, "breaks": 1})
    return made


def _notice(*, late: bool) -> Made:
    if not late:
        PrivacyNoticeVersion.objects.create(label="2099-01", effective_on=PERIOD.start, text="The notice.")
    PreferenceChange.objects.create(
        customer=CustomerFactory(), purpose="direct_marketing", channel="email", granted=True, source="account_page",
        received_at=at(), takes_effect_by=DAY, notice_version="2099-01",
    )  # fmt: skip
    return Made("privacy_portal.PrivacyNoticeVersion", None, "2099-01")


def _screening(*, late: bool) -> Made:
    from customers.models_screening import CampaignScreening, TpsFile

    dpo = UserFactory(role=User.Role.DPO)
    files = {}
    for register in ("tps", "ctps"):
        files[register] = TpsFile.objects.create(
            register=register, kind="full", file_date=DAY - datetime.timedelta(days=40 if late else 3),
            name=f"{register}.txt", sha256=register * 16, lines=1, listed=1, loaded_by=dpo,
        )  # fmt: skip
    screening = CampaignScreening.objects.create(
        screened_by=dpo, screened_at=at(), source_name="list.csv", source_sha256="0" * 64,
        tps_file=files["tps"], ctps_file=files["ctps"], rows=10, allowed=9, blocked=1, status="done",
    )  # fmt: skip
    return Made("customers.CampaignScreening", screening.pk)


def _deletion_task(*, late: bool) -> Made:
    from customers.models_retention import DeletionTask

    task = DeletionTask.objects.create(
        store=DeletionTask.Store.RECORDING_STORE, cause=DeletionTask.Cause.RETENTION, source_reference="RUN-1",
        references=["rec-1"], call_ids=[1], created_at=at(DAY - datetime.timedelta(days=30)), due_on=DAY,
    )  # fmt: skip
    if not late:
        task.confirmed_at, task.confirmed_via = at(DAY - datetime.timedelta(days=2)), DeletionTask.Via.PROVIDER
        task.save()
    return Made("customers.DeletionTask", task.pk)


BUILDERS = {
    "optout_email_phone": lambda late: _optout("phone", late=late, source="phone_call"),
    "optout_post": lambda late: _optout("post", late=late, source="letter"),
    "sms_stop": lambda late: _optout("sms", late=late, source="sms_stop"),
    "one_click_unsubscribe": lambda late: _optout("email", late=late, source="one_click"),
    "external_deletions_confirmed": lambda late: _deletion_task(late=late),
    "objection_every_channel": lambda late: _objection(late=late),
    "suppression_feed_daily": lambda late: _daily("build_suppression_feed", missing=late),
    "calls_deleted": lambda late: _retention(CallFactory, "started_at", late=late),
    "correspondence_deleted": lambda late: _retention(CorrespondenceFactory, "occurred_at", late=late),
    "requests_on_time": lambda late: _requests_on_time(late=late),
    "extensions_told": lambda late: _extension(late=late),
    "refusals_in_time": lambda late: _refusal(late=late),
    "complaints_acknowledged": lambda late: _complaint_ack(late=late),
    "complaints_responded": lambda late: _complaint_response(late=late),
    "internal_reviews_concluded": lambda late: _review(late=late),
    "ico_deadlines": lambda late: _ico(late=late),
    "breaches_reported": lambda late: _breach(late=late),
    "no_disclosure_restricted": lambda late: _restricted(late=late),
    "sensitive_opt_in": lambda late: _sensitive(late=late),
    "disclosure_lawful_basis": lambda late: _lawful_basis(late=late),
    "transfers_safeguarded": lambda late: _transfer(late=late),
    "no_customer_under_18": lambda late: _under_18(late=late),
    "break_glass_reviewed": lambda late: _break_glass(late=late),
    "auditor_within_engagement": lambda late: _auditor(late=late),
    "accounts_approved": lambda late: _approved(late=late),
    "chain_verified_nightly": lambda late: _chain(late=late),
    "notice_versions_archived": lambda late: _notice(late=late),
    "tps_screened": lambda late: _screening(late=late),
}

# Checks whose data the portal does not hold yet: each must say so, and why.
NOT_YET: set[str] = set()

MEASURABLE = [c for c in REGISTER if c.measure is not None]


def test_every_check_of_the_register_has_its_tests():
    keys = {c.key for c in REGISTER}
    assert keys == set(BUILDERS) | NOT_YET, "a check needs a breaking and a keeping builder here (or be NOT_YET)"
    assert {c.key for c in REGISTER if c.measure is None} == NOT_YET


def test_every_quoted_sentence_is_in_the_privacy_notice_word_for_word():
    from pathlib import Path

    from django.conf import settings

    notice = (Path(settings.BASE_DIR) / "privacy_portal" / "notices" / "privacy-notice-2026-06.txt").read_text()
    for check in REGISTER:
        assert check.notice or check.provision, check.key
        if check.notice:
            assert check.notice in notice, check.key
        assert check.measured and check.mechanism, check.key


@pytest.mark.parametrize("check", MEASURABLE, ids=lambda c: c.key)
def test_a_broken_promise_is_reported_broken_naming_the_exception(check):
    made = BUILDERS[check.key](True)
    outcome = check_outcome(check, PERIOD, TODAY)
    assert outcome.status == BROKEN
    assert outcome.broken == 1
    exception = outcome.measurement.exceptions[0]
    assert exception.model == made.model
    if made.id is not None:
        assert exception.id == made.id
    assert made.reference_contains in exception.reference
    assert sum(n for _, n in outcome.trend) == 1


@pytest.mark.parametrize("check", MEASURABLE, ids=lambda c: c.key)
def test_a_kept_promise_is_reported_kept(check):
    BUILDERS[check.key](False)
    outcome = check_outcome(check, PERIOD, TODAY)
    assert outcome.status == KEPT, [e.as_dict() for e in outcome.measurement.exceptions]
    assert outcome.broken == 0 and not outcome.measurement.exceptions


def _not_yet_checks():
    # Every check of the register whose data is not held yet, or (all measurable today) one made for the test.
    made = Check(key="made_up", title="A promise", measured="-", mechanism="-", not_measurable="Not held yet.")
    return [c for c in REGISTER if c.key in NOT_YET] or [made]


@pytest.mark.parametrize("check", _not_yet_checks(), ids=lambda c: c.key)
def test_a_check_without_its_data_says_not_measurable_and_why(check):
    outcome = check_outcome(check, PERIOD, TODAY)
    assert outcome.status == NOT_MEASURABLE
    assert check.not_measurable


def test_a_call_kept_past_six_months_under_a_legal_hold_is_excused_and_counted():
    made = BUILDERS["calls_deleted"](True)
    from customers.models import Call

    CaseFactory(customer=Call.objects.get(pk=made.id).customer)  # an open request: a legal hold
    outcome = check_outcome(next(c for c in REGISTER if c.key == "calls_deleted"), PERIOD, TODAY)
    assert outcome.status == KEPT
    assert ("calls kept past 6 months under a legal hold (open request, complaint or breach)", 1) in (
        outcome.measurement.counts
    )


def test_a_promise_broken_outside_the_period_is_not_counted_in_it():
    BUILDERS["requests_on_time"](True)
    earlier = Period.quarter_of(TODAY, back=2)
    check = next(c for c in REGISTER if c.key == "requests_on_time")
    assert check_outcome(check, earlier, TODAY).status == KEPT


def test_periods_are_calendar_months_quarters_and_years():
    assert Period.quarter(2026, 3).start == datetime.date(2026, 7, 1)
    assert Period.quarter(2026, 3).end == datetime.date(2026, 9, 30)
    assert Period.month(2024, 2).end == datetime.date(2024, 2, 29)
    assert Period.year(2026).label == "2026"
    assert Period.quarter_of(datetime.date(2026, 1, 15), back=1).label == "Q4 2025"
    assert len(Period.year(2026).months()) == 12


def test_a_daily_job_is_not_measurable_before_any_job_has_run_and_counted_from_the_first_run():
    check = next(c for c in REGISTER if c.key == "suppression_feed_daily")
    outcome = check_outcome(check, PERIOD, TODAY)
    assert outcome.status == NOT_MEASURABLE and "No scheduled job has ever run" in outcome.why_not
    # The portal went live (its first job ran) ten days before the period's end: only those days count.
    live = PERIOD.end - datetime.timedelta(days=9)
    JobRun.objects.create(name="heartbeat", started_at=at(live, 1))
    outcome = check_outcome(check, PERIOD, TODAY)
    assert outcome.status == BROKEN and outcome.broken == 10


@pytest.mark.slow
def test_the_demo_report_shows_a_late_opt_out_a_late_request_and_an_unreviewed_break_glass(settings, tmp_path):
    import io

    from django.core.management import call_command

    from privacy_portal.promises.report import promise_report

    settings.DEMO_PASSWORD = "demo-password-for-tests"
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "Demo broken promises: already present." in out.getvalue()
    report = promise_report(Period(TODAY - datetime.timedelta(days=60), TODAY), today=TODAY)
    for key in ("optout_email_phone", "requests_on_time", "break_glass_reviewed"):
        assert report.outcome(key).status == BROKEN, key


def _read(user: User, when: datetime.datetime) -> AccessEvent:
    return AccessEvent.objects.create(
        user=user, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=CustomerFactory().pk, at=when
    )


def test_an_auditors_reads_count_from_the_first_uk_midnight_after_the_engagements_end():
    """Read per account through its own index: the boundary is the day after the end date, in UK time."""
    ends = DAY - datetime.timedelta(days=5)
    auditor = UserFactory(role=User.Role.AUDITOR, access_ends_on=ends)
    _read(auditor, at(ends, 23))  # the engagement's last day: within it
    after = _read(auditor, at(ends + datetime.timedelta(days=1), 0))
    # Another auditor still within the engagement, reading the same day: not an exception.
    _read(UserFactory(role=User.Role.AUDITOR, access_ends_on=PERIOD.end + datetime.timedelta(days=1)), at())
    outcome = check_outcome(next(c for c in REGISTER if c.key == "auditor_within_engagement"), PERIOD, TODAY)
    assert [e.id for e in outcome.measurement.exceptions] == [after.pk]


def test_an_accounts_reads_before_its_approval_are_exceptions_and_those_after_are_not():
    agent = UserFactory(role=User.Role.AGENT, approved_at=at(DAY, 12))
    before = _read(agent, at(DAY, 11))
    _read(agent, at(DAY, 13))
    # Approved before the period: none of its entries can break the promise.
    _read(UserFactory(role=User.Role.AGENT, approved_at=at(PERIOD.start, 0) - datetime.timedelta(days=1)), at())
    outcome = check_outcome(next(c for c in REGISTER if c.key == "accounts_approved"), PERIOD, TODAY)
    assert [e.id for e in outcome.measurement.exceptions] == [before.pk]
