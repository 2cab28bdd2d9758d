"""The promise register: every promise of the privacy notice (and every duty the law adds) as a
named check over a period, computed from the records the portal already keeps.

Each check is set-based: a fixed small number of statements, whatever the number of rows
(`base.measure_queryset`: a count, a per-month count, the first exceptions). A check whose data
the portal does not hold yet is listed with `measure=None` and the reason: it becomes
measurable by writing one function and naming it in its entry.
"""

# ruff: noqa: RUF001  (the notice is quoted exactly, its typographic quotes and dashes included)
from __future__ import annotations

import dataclasses
import datetime
from typing import cast

from axes.models import AccessLog
from dateutil.relativedelta import relativedelta
from django.db.models import Count, DateField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from customers.models import UK_COUNTRY_CODE, Call, Correspondence, Customer, Disclosure, PreferenceChange, Recipient
from customers.models_retention import DeletionTask
from customers.models_screening import CampaignScreening
from customers.selectors.customers import missed_optout_deadlines
from customers.services.legal_holds import held_customer_ids
from customers.services.preferences import MARKETING_PURPOSES
from privacy_portal import legal
from privacy_portal.history_labels import record_kind
from privacy_portal.models import AccessEvent, BreakGlassReview, JobRun, LawfulBasis, PrivacyNoticeVersion, User
from requests.models import Breach, BreachNotification, Case, Complaint, IcoDeadline

from .base import Check, Measurement, Period, PromiseException, measure_queryset, missing_days


def _customer_ref(customer_id: int | None) -> str:
    return f"C-{customer_id:06d}" if customer_id else "no customer"


def _customer_url(customer_id: int | None) -> str:
    return reverse("customers:detail", args=[customer_id]) if customer_id else ""


# --- Marketing opt-outs ------------------------------------------------------------------------


def _missed_optouts(period: Period, today: datetime.date, **filters) -> Measurement:
    """Opt-outs whose take-effect date fell in the period and that missed it (actioned late, or
    still not actioned): the missed opt-out deadlines page's own selector."""
    broken = missed_optout_deadlines(today=today, due_from=period.start, due_to=period.end).filter(**filters)
    due = PreferenceChange.objects.filter(
        granted=False, takes_effect_by__gte=period.start, takes_effect_by__lte=min(period.end, today), **filters
    )

    def note(row: dict) -> str:
        if row["late_by_days"] is not None:
            return f"actioned {row['late_by_days']} days after {row['takes_effect_by']:%-d %b %Y}"
        return f"due {row['takes_effect_by']:%-d %b %Y}, not actioned"

    return measure_queryset(
        broken,
        day="takes_effect_by",
        model="customers.PreferenceChange",
        fields=("customer_id", "late_by_days", "takes_effect_by"),
        reference=lambda row: f"opt-out {row['pk']} of {_customer_ref(row['customer_id'])}",
        url=lambda row: _customer_url(row["customer_id"]),
        customer=lambda row: row["customer_id"],
        note=note,
        label="missed their take-effect date",
        population=due,
        population_label="opt-outs due in the period",
    )


def optouts_email_phone(period: Period, today: datetime.date) -> Measurement:
    return _missed_optouts(period, today, purpose="direct_marketing", channel__in=["email", "phone"])


def optouts_post(period: Period, today: datetime.date) -> Measurement:
    return _missed_optouts(period, today, purpose="direct_marketing", channel="post")


def optouts_sms(period: Period, today: datetime.date) -> Measurement:
    return _missed_optouts(period, today, purpose="direct_marketing", channel="sms")


def optouts_one_click(period: Period, today: datetime.date) -> Measurement:
    """One-click unsubscribes (RFC 8058), each due within legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK."""
    return _missed_optouts(period, today, purpose="direct_marketing", channel="email", source="one_click")


def external_deletions_confirmed(period: Period, today: datetime.date) -> Measurement:
    """Deletion tasks for the stores outside the portal whose confirmation was due in the period
    (legal.EXTERNAL_DELETION_CONFIRM_DAYS after the purge or erasure): confirmed late, or still
    not confirmed after their day."""
    due = DeletionTask.objects.filter(due_on__gte=period.start, due_on__lte=min(period.end, today))
    late = due.filter(Q(confirmed_at__isnull=True, due_on__lt=today) | Q(confirmed_at__date__gt=F("due_on")))

    def note(row: dict) -> str:
        if row["confirmed_at"] is not None:
            return f"confirmed {row['confirmed_at']:%-d %b %Y}, due {row['due_on']:%-d %b %Y}"
        return f"due {row['due_on']:%-d %b %Y}, not confirmed"

    return measure_queryset(
        late,
        day="due_on",
        model="customers.DeletionTask",
        fields=("store", "due_on", "confirmed_at"),
        reference=lambda row: f"deletion task {row['pk']} ({row['store'].replace('_', ' ')})",
        url=lambda row: reverse("customers:deletion_tasks"),
        note=note,
        label="not confirmed by their day",
        population=due,
        population_label="deletion tasks due in the period",
    )


def objection_every_channel(period: Period, today: datetime.date) -> Measurement:
    """Customers who objected in the period and, afterwards, had a marketing purpose switched on
    again, or whose objection's opt-outs missed their date on any channel."""
    objected = Customer.objects.filter(
        marketing_objected=True, objected_at__gte=period.start_at(), objected_at__lt=period.end_before()
    )
    resumed = PreferenceChange.objects.filter(
        customer=OuterRef("pk"), purpose__in=MARKETING_PURPOSES, granted=True, received_at__gte=OuterRef("objected_at")
    )
    late = PreferenceChange.objects.filter(
        Q(late_by_days__isnull=False) | Q(actioned_at__isnull=True, takes_effect_by__lt=today),
        customer=OuterRef("pk"),
        granted=False,
        purpose__in=MARKETING_PURPOSES,
        received_at=OuterRef("objected_at"),
    )
    broken = objected.filter(Exists(resumed) | Exists(late))
    return measure_queryset(
        broken,
        day="objected_at",
        model="customers.Customer",
        fields=(),
        reference=lambda row: _customer_ref(row["pk"]),
        url=lambda row: _customer_url(row["pk"]),
        customer=lambda row: row["pk"],
        note=lambda row: "marketing not stopped on every channel",
        label="objections not honoured on every channel",
        population=objected,
        population_label="objections to direct marketing in the period",
    )


def _job_days(names: str | tuple[str, ...], period: Period, extra: Q | None = None) -> set[datetime.date]:
    names = (names,) if isinstance(names, str) else names
    runs = JobRun.objects.filter(
        extra or Q(), name__in=names, outcome=JobRun.Outcome.OK, started_at__gte=period.start_at()
    ).filter(started_at__lt=period.end_before())
    return set(runs.annotate(day=TruncDate("started_at")).values_list("day", flat=True).distinct())


def _first_run_day() -> datetime.date | None:
    """The day of the first job run ever recorded (of any job): the portal's go-live."""
    first = JobRun.objects.order_by("started_at").values_list("started_at", flat=True).first()
    return timezone.localdate(first) if first else None


def suppression_feed_daily(period: Period, today: datetime.date) -> Measurement:
    return missing_days(
        _job_days("build_suppression_feed", period),
        period,
        today,
        model="privacy_portal.JobRun",
        what="suppression feed of",
        label="days without a feed built",
        since=_first_run_day(),
    )


# --- Retention ------------------------------------------------------------------------------------


def _held_past_retention(model, date_field: str, months: int, period: Period, today: datetime.date, what: str):
    """Records still held whose retention ended in the period and more than the purge's grace ago."""
    latest_end = min(period.end, today - datetime.timedelta(days=legal.RETENTION_PURGE_GRACE_DAYS))
    if latest_end < period.start:
        return Measurement(counts=[(f"{what} still held past {months} months", 0)])
    first = period.start_at() - relativedelta(months=months)
    before = Period(period.start, latest_end).end_before() - relativedelta(months=months)

    past = model.objects.filter(**{f"{date_field}__gte": first, f"{date_field}__lt": before})
    # A legal hold (an open request, complaint or breach about the person) keeps them, with its reason.
    # No customer id is 0: with no hold the statements are the same as with some.
    holds = held_customer_ids() or {0}
    held = past.exclude(customer_id__in=holds)
    label = model._meta.label
    m = measure_queryset(
        held,
        day=date_field,
        model=label,
        fields=("customer_id",),
        reference=lambda row: f"{record_kind(model)} {row['pk']} of {_customer_ref(row['customer_id'])}",
        url=lambda row: _customer_url(row["customer_id"]),
        customer=lambda row: row["customer_id"],
        note=lambda row: f"recorded {row['promise_day']:%-d %b %Y}, still held",
        label=f"{what} still held past {months} months",
    )
    # Dated by the day each should have gone (its six months' end), not the day it was recorded.
    shift = relativedelta(months=months)
    m.by_month = {month + shift: n for month, n in m.by_month.items()}
    m.exceptions = [dataclasses.replace(e, day=e.day + shift) for e in m.exceptions]
    excused = past.filter(customer_id__in=holds).count()
    m.counts.append(
        (f"{what} kept past {months} months under a legal hold (open request, complaint or breach)", excused)
    )
    return m


def _purge_nights(period: Period, today: datetime.date) -> Measurement:
    return missing_days(
        # The retention schedule's nightly run purges calls and correspondence; purge_expired_calls by hand.
        _job_days(("apply_retention_schedule", "purge_expired_calls"), period),
        period,
        today,
        model="privacy_portal.JobRun",
        what="retention purge of",
        label="nights without a completed purge",
        since=_first_run_day(),
    )


def calls_deleted(period: Period, today: datetime.date) -> Measurement:
    held = _held_past_retention(Call, "started_at", legal.CALL_RETENTION_MONTHS, period, today, "calls")
    return held.add(_purge_nights(period, today))


def correspondence_deleted(period: Period, today: datetime.date) -> Measurement:
    held = _held_past_retention(
        Correspondence, "occurred_at", legal.CORRESPONDENCE_RETENTION_MONTHS, period, today, "records"
    )
    return held.add(_purge_nights(period, today))


# --- Rights requests --------------------------------------------------------------------------------


def _case_ref(row: dict) -> str:
    return row["reference"]


def _case_url(row: dict) -> str:
    return reverse("requests:case", args=[row["pk"]])


def requests_on_time(period: Period, today: datetime.date) -> Measurement:
    """Requests answered (completed or refused) in the period after their due date, and requests
    whose due date fell in the period that are still unanswered after it; counted per right."""
    answered = Case.objects.filter(
        status__in=[Case.Status.COMPLETED, Case.Status.REFUSED], closed_on__gte=period.start, closed_on__lte=period.end
    )
    late = answered.filter(due_on__isnull=False, closed_on__gt=F("due_on"))
    overdue = Case.objects.filter(
        closed_on__isnull=True, due_on__gte=period.start, due_on__lte=period.end, due_on__lt=today
    )
    m = measure_queryset(
        late,
        day="closed_on",
        model="requests.Case",
        fields=("reference", "right", "due_on"),
        reference=_case_ref,
        url=_case_url,
        note=lambda row: f"{Case.Right(row['right']).label}: answered after its due date {row['due_on']:%-d %b %Y}",
        label="answered late",
        population=answered,
        population_label="requests answered in the period",
    )
    m.add(
        measure_queryset(
            overdue,
            day="due_on",
            model="requests.Case",
            fields=("reference", "right"),
            reference=_case_ref,
            url=_case_url,
            note=lambda row: f"{Case.Right(row['right']).label}: due, not answered",
            label="due in the period and still not answered",
        )
    )
    grouped = dict(
        Case.objects.filter(Q(pk__in=late.values("pk")) | Q(pk__in=overdue.values("pk")))
        .values_list("right")
        .annotate(n=Count("pk"))
        .order_by()
    )
    m.counts += [(f"late or overdue: {Case.Right(r).label}", n) for r, n in sorted(grouped.items())]
    return m


def extensions_told(period: Period, today: datetime.date) -> Measurement:
    """Extensions whose first month ended in the period: told by then, with reasons."""
    extended = Case.objects.filter(extended=True, original_due_on__gte=period.start, original_due_on__lte=period.end)
    broken = extended.filter(
        Q(extension_notified_on__isnull=True)
        | Q(extension_notified_on__gt=F("original_due_on"))
        | Q(extension_reason="")
    )
    return measure_queryset(
        broken,
        day="original_due_on",
        model="requests.Case",
        fields=("reference",),
        reference=_case_ref,
        url=_case_url,
        note=lambda row: "extension not told within the first month, or without reasons",
        label="extensions told late or without reasons",
        population=extended,
        population_label="extensions whose first month ended in the period",
    )


def refusals_in_time(period: Period, today: datetime.date) -> Measurement:
    refused = Case.objects.filter(status=Case.Status.REFUSED, closed_on__gte=period.start, closed_on__lte=period.end)
    return measure_queryset(
        refused.filter(refused_late=True),
        day="closed_on",
        model="requests.Case",
        fields=("reference",),
        reference=_case_ref,
        url=_case_url,
        note=lambda row: "refusal told after the time limit",
        label="refusals told after the time limit",
        population=refused,
        population_label="refusals in the period",
    )


# --- Complaints and the ICO -----------------------------------------------------------------------------


def _complaint_url(row: dict) -> str:
    return reverse("requests:complaint", args=[row["pk"]])


def _late_or_open(qs, due: str, done: str, today: datetime.date):
    return qs.filter(Q(**{f"{done}__gt": F(due)}) | Q(**{f"{done}__isnull": True, f"{due}__lt": today}))


def complaints_acknowledged(period: Period, today: datetime.date) -> Measurement:
    due = Complaint.objects.filter(acknowledge_by__gte=period.start, acknowledge_by__lte=period.end)
    return measure_queryset(
        _late_or_open(due, "acknowledge_by", "acknowledged_on", today),
        day="acknowledge_by",
        model="requests.Complaint",
        fields=("reference",),
        reference=lambda row: row["reference"],
        url=_complaint_url,
        note=lambda row: f"not acknowledged within {legal.COMPLAINT_ACKNOWLEDGE_DAYS} days",
        label="acknowledged late or not at all",
        population=due,
        population_label="acknowledgements due in the period",
    )


def complaints_responded(period: Period, today: datetime.date) -> Measurement:
    due = Complaint.objects.filter(response_due_on__gte=period.start, response_due_on__lte=period.end)
    return measure_queryset(
        _late_or_open(due, "response_due_on", "responded_on", today),
        day="response_due_on",
        model="requests.Complaint",
        fields=("reference",),
        reference=lambda row: row["reference"],
        url=_complaint_url,
        note=lambda row: "not responded to by the target the DPO set",
        label="responded to late or not at all",
        population=due,
        population_label="responses due in the period",
    )


def internal_reviews_concluded(period: Period, today: datetime.date) -> Measurement:
    days = datetime.timedelta(days=legal.INTERNAL_REVIEW_DAYS)
    requested = Complaint.objects.filter(
        review_requested_on__gte=period.start - days, review_requested_on__lte=period.end - days
    )
    broken = requested.filter(
        Q(review_concluded_on__isnull=True, review_requested_on__lt=today - days)
        | Q(review_concluded_on__gt=F("review_requested_on") + days)
    )
    return measure_queryset(
        broken,
        day="review_requested_on",
        model="requests.Complaint",
        fields=("reference",),
        reference=lambda row: row["reference"],
        url=_complaint_url,
        note=lambda row: f"internal review not concluded within {legal.INTERNAL_REVIEW_DAYS} days",
        label="internal reviews concluded late or not at all",
        population=requested,
        population_label="internal reviews due in the period",
    )


def ico_deadlines(period: Period, today: datetime.date) -> Measurement:
    due = IcoDeadline.objects.filter(due_on__gte=period.start, due_on__lte=period.end)
    return measure_queryset(
        _late_or_open(due, "due_on", "answered_on", today),
        day="due_on",
        model="requests.IcoDeadline",
        fields=("ico_case__complaint_id", "ico_case__complaint__reference"),
        reference=lambda row: f"ICO deadline {row['pk']} on {row['ico_case__complaint__reference']}",
        url=lambda row: reverse("requests:complaint", args=[row["ico_case__complaint_id"]]),
        note=lambda row: "answered after the ICO's deadline, or not at all",
        label="ICO deadlines missed",
        population=due,
        population_label="ICO deadlines in the period",
    )


def breaches_reported(period: Period, today: datetime.date) -> Measurement:
    """Breaches whose 72 hours ended in the period: reported in time, or late with the reasons, or
    decided not reportable with the reasons (Art 33(5)). Broken: reported late without reasons,
    or the 72 hours passed with neither a report nor a decision not to report."""
    due = Breach.objects.filter(due_at__gte=period.start_at(), due_at__lt=period.end_before())
    initial = BreachNotification.objects.filter(breach=OuterRef("pk"), phase=BreachNotification.Phase.INITIAL)
    late_initial = initial.filter(sent_at__gt=OuterRef("due_at"))
    broken = due.filter(
        (Exists(late_initial) & Q(late_reason=""))
        | (~Exists(initial) & ~Q(report_to_ico=False) & Q(due_at__lt=timezone.now()))
    )
    return measure_queryset(
        broken,
        day="due_at",
        model="requests.Breach",
        fields=("reference",),
        reference=lambda row: row["reference"],
        url=lambda row: reverse("requests:breach", args=[row["pk"]]),
        note=lambda row: f"not reported within {legal.BREACH_REPORT_HOURS} hours, and no reasons recorded",
        label="breaches not reported in time nor documented with reasons",
        population=due,
        population_label=f"breaches whose {legal.BREACH_REPORT_HOURS} hours ended in the period",
    )


# --- Disclosures ------------------------------------------------------------------------------------------


def _disclosures(period: Period):
    return Disclosure.objects.filter(disclosed_at__gte=period.start_at(), disclosed_at__lt=period.end_before())


def _disclosure_measure(broken, label: str, note: str) -> Measurement:
    return measure_queryset(
        broken,
        day="disclosed_at",
        model="customers.Disclosure",
        fields=("customer_id", "recipient_id"),
        reference=lambda row: f"disclosure {row['pk']} of {_customer_ref(row['customer_id'])}",
        url=lambda row: reverse("customers:disclosures", args=[row["customer_id"]]),
        customer=lambda row: row["customer_id"],
        note=lambda row: note,
        label=label,
    )


def no_disclosure_restricted(period: Period, today: datetime.date) -> Measurement:
    """Disclosures made while the customer's processing was restricted, without the DPO's
    recorded override (Art 18(2))."""
    broken = _disclosures(period).filter(
        customer__processing_restricted=True, customer__restricted_at__lte=F("disclosed_at"), override_reason=""
    )
    return _disclosure_measure(broken, "disclosures while restricted, no override", "customer's processing restricted")


def sensitive_opt_in(period: Period, today: datetime.date) -> Measurement:
    """Sensitive disclosures without the customer's opt-in to sensitive sharing in force then
    (the latest sensitive-sharing change received before the disclosure must be an opt-in)."""
    latest = (
        PreferenceChange.objects.filter(customer=OuterRef("customer_id"), purpose="sensitive_sharing", channel="")
        .filter(received_at__lte=OuterRef("disclosed_at"))
        .order_by("-received_at", "-pk")
    )
    # The latest choice may be none at all (null): not an opt-in either.
    broken = _disclosures(period).filter(sensitive=True).annotate(consent=Subquery(latest.values("granted")[:1]))
    broken = broken.filter(Q(consent=False) | Q(consent__isnull=True))
    return _disclosure_measure(broken, "sensitive disclosures without opt-in", "no opt-in to sensitive sharing then")


def disclosure_lawful_basis(period: Period, today: datetime.date) -> Measurement:
    disclosures = _disclosures(period)
    without = disclosures.exclude(lawful_basis__in=LawfulBasis.values)
    m = _disclosure_measure(without, "disclosures without a lawful basis", "no lawful basis")
    m.counts.insert(0, ("disclosures in the period", disclosures.count()))
    return m


def transfers_safeguarded(period: Period, today: datetime.date) -> Measurement:
    # The few recipients without a safeguard, read first: as a subquery the planner cannot tell how few
    # rows they hold, walks the year's disclosures in date order for the first exceptions and reads all
    # of them when none matches (39 s at 5,000,000); as ids it reads each one's rows by its index.
    unsafe = list(
        Recipient.objects.exclude(country=UK_COUNTRY_CODE)
        .filter(country_adequate=False, transfer_mechanism="")
        .values_list("pk", flat=True)
    )
    return _disclosure_measure(
        _disclosures(period).filter(recipient_id__in=unsafe),
        "transfers outside the UK without a mechanism",
        "recipient outside the UK, no adequacy and no transfer mechanism",
    )


# --- Children ------------------------------------------------------------------------------------------------


def no_customer_under_18(period: Period, today: datetime.date) -> Measurement:
    """Customers held while under 18 at some day of the period. Only the youngest customers can be
    (born after the period's start less 18 years): that indexed-by-nature small set is read, and
    each is tested exactly (under 18 on the later of the period's start and the account's opening)."""
    years = legal.MINIMUM_CUSTOMER_AGE_YEARS
    young = Customer.objects.filter(
        date_of_birth__gt=period.start - relativedelta(years=years),
        account_opened_on__lte=period.end,
        erased_at__isnull=True,
    ).values_list("pk", "date_of_birth", "account_opened_on")
    exceptions: list = []
    per_month: dict[datetime.date, int] = {}
    for pk, born, opened in young:
        first_held = max(period.start, opened)
        if born + relativedelta(years=years) > first_held:
            month = first_held.replace(day=1)
            per_month[month] = per_month.get(month, 0) + 1
            exceptions.append(
                PromiseException(
                    "customers.Customer",
                    pk,
                    _customer_ref(pk),
                    first_held,
                    "held while under 18",
                    url=_customer_url(pk),
                    customer_id=pk,
                )
            )
    return Measurement(
        counts=[("customers held while under 18", len(exceptions))],
        broken=len(exceptions),
        exceptions=exceptions[:200],
        by_month=per_month,
    )


# --- Need to know ---------------------------------------------------------------------------------------------


def _any(ranges: list[Q]) -> Q:
    """Any of the accounts' ranges of entries (one index range scan each, OR-ed in one statement);
    none matches no entry (the statements stay the same whatever the data)."""
    if not ranges:
        return Q(pk__in=[0])
    combined = ranges[0]
    for r in ranges[1:]:
        combined |= r
    return combined


def _staff_ref(row: dict) -> str:
    return f"access entry {row['pk']} by staff {row['user_id']}"


def _staff_url(row: dict) -> str:
    return reverse("staff_access", args=[row["user_id"]]) if row["user_id"] else ""


def break_glass_reviewed(period: Period, today: datetime.date) -> Measurement:
    """Break-glass openings in the period that the DPO did not review within BREAK_GLASS_REVIEW_DAYS
    (a BreakGlassReview, or the opening taken up as a breach). Openings still inside their review
    days are not yet due."""
    days = datetime.timedelta(days=legal.BREAK_GLASS_REVIEW_DAYS)
    openings = AccessEvent.objects.filter(
        action=AccessEvent.Action.BREAK_GLASS, at__gte=period.start_at(), at__lt=period.end_before()
    )
    in_time = BreakGlassReview.objects.filter(event=OuterRef("pk"), reviewed_at__lte=OuterRef("at") + days)
    # Openings turned into a breach count as reviewed (the breach is the DPO's finding).
    as_breach: set[int] = set()
    for ids in Breach.objects.exclude(access_event_ids=[]).values_list("access_event_ids", flat=True):
        as_breach.update(i for i in ids if isinstance(i, int))
    broken = openings.filter(at__lt=timezone.now() - days).exclude(Exists(in_time)).exclude(pk__in=as_breach)
    return measure_queryset(
        broken,
        day="at",
        model="privacy_portal.AccessEvent",
        fields=("user_id",),
        reference=_staff_ref,
        url=_staff_url,
        note=lambda row: f"break-glass opening not reviewed within {legal.BREAK_GLASS_REVIEW_DAYS} days",
        label="openings not reviewed in time",
        population=openings,
        population_label="break-glass openings in the period",
    )


def auditor_within_engagement(period: Period, today: datetime.date) -> Measurement:
    """Reads of customer data (access-log entries) and sign-ins (django-axes' log) by an auditor
    after the engagement's end date."""
    # Only an engagement that ended before the period's last day can be broken in it; for each such
    # auditor, the entries from the day after the end to the period's end, read through the account's
    # own index (access_user_at: user, at), never the whole period's entries.
    auditors = User.objects.filter(role=User.Role.AUDITOR, access_ends_on__lt=period.end)
    ranges = [
        Q(user_id=pk, at__gte=max(period.start_at(), Period(ends, ends).end_before()), at__lt=period.end_before())
        for pk, ends in cast("list[tuple[int, datetime.date]]", auditors.values_list("pk", "access_ends_on"))
    ]  # the filter on access_ends_on leaves no None
    after_end = AccessEvent.objects.filter(_any(ranges))
    m = measure_queryset(
        after_end,
        day="at",
        model="privacy_portal.AccessEvent",
        fields=("user_id",),
        reference=_staff_ref,
        url=_staff_url,
        note=lambda row: "auditor's read after the engagement ended",
        label="reads by an auditor after the engagement's end",
    )
    ends = dict(auditors.values_list("username", "access_ends_on"))
    logins = AccessLog.objects.filter(
        username__in=list(ends), attempt_time__gte=period.start_at(), attempt_time__lt=period.end_before()
    ).values_list("pk", "username", "attempt_time")
    ids = dict(auditors.values_list("username", "pk"))
    late = []
    for pk, username, at in logins:
        day = at.astimezone(datetime.UTC).date() if at.tzinfo else at.date()
        if day > ends[username]:
            late.append(
                PromiseException(
                    "axes.AccessLog",
                    pk,
                    f"sign-in {pk} by staff {ids[username]}",
                    day,
                    "auditor signed in after the engagement ended",
                    reverse("staff_access", args=[ids[username]]),
                )
            )
    for e in late:
        m.by_month[e.day.replace(day=1)] = m.by_month.get(e.day.replace(day=1), 0) + 1
    m.counts.append(("sign-ins by an auditor after the engagement's end", len(late)))
    m.broken += len(late)
    m.exceptions += late[:200]
    return m


def accounts_approved(period: Period, today: datetime.date) -> Measurement:
    """Reads of customer data by an account of a data role before (or without) a DPO's approval."""
    # Only an account approved after the period began (or never) can break it: for each, its entries
    # of the period before its approval, read through its own index (access_user_at: user, at).
    could = User.objects.filter(Q(approved_at__isnull=True) | Q(approved_at__gt=period.start_at()),
                                role__in=User.DATA_ROLES)  # fmt: skip
    ranges = [
        Q(
            user_id=pk,
            at__gte=period.start_at(),
            at__lt=min(approved, period.end_before()) if approved else period.end_before(),
        )
        for pk, approved in could.values_list("pk", "approved_at")
    ]
    unapproved = AccessEvent.objects.filter(_any(ranges)).exclude(action=AccessEvent.Action.PROMISE_REPORT)
    return measure_queryset(
        unapproved,
        day="at",
        model="privacy_portal.AccessEvent",
        fields=("user_id",),
        reference=_staff_ref,
        url=_staff_url,
        note=lambda row: "read by an account not approved by a DPO",
        label="reads by unapproved accounts",
    )


def chain_verified_nightly(period: Period, today: datetime.date) -> Measurement:
    """Nights without a verification run that found the chain intact."""
    return missing_days(
        _job_days("verify_audit_log", period, Q(detail__ok=True)),
        period,
        today,
        model="privacy_portal.JobRun",
        what="access-log verification of",
        label="nights the chain was not verified intact",
        since=_first_run_day(),
    )


def notice_versions_archived(period: Period, today: datetime.date) -> Measurement:
    """Notice versions that customers were shown (named by their preference changes in the
    period) but that the archive does not hold."""
    shown = PreferenceChange.objects.filter(
        received_at__gte=period.start_at(), received_at__lt=period.end_before()
    ).exclude(notice_version="")
    missing = shown.exclude(notice_version__in=PrivacyNoticeVersion.objects.values("label"))
    versions = sorted(missing.values_list("notice_version", flat=True).distinct()[:200])
    exceptions = [
        PromiseException(
            "privacy_portal.PrivacyNoticeVersion",
            None,
            f"notice version {v!r}",
            period.start,
            "named by preference changes, not in the archive",
            reverse("notices"),
        )
        for v in versions
    ]
    return Measurement(
        counts=[
            ("archived versions", PrivacyNoticeVersion.objects.count()),
            ("versions shown but not archived", len(versions)),
        ],
        broken=len(versions),
        exceptions=exceptions,
        by_month={period.start.replace(day=1): len(versions)} if versions else {},
    )


# --- Telephone marketing -----------------------------------------------------------------------------------


def tps_screened(period: Period, today: datetime.date) -> Measurement:
    """Call lists screened in the period without both a TPS and a CTPS file, or against a file
    more than TPS_FILE_MAX_AGE_DAYS older than the screening (it cannot clear a number)."""
    # Only finished screenings: a queued or running one has no files recorded yet, a failed one no result.
    screened = CampaignScreening.objects.filter(
        status=CampaignScreening.Status.DONE, screened_at__gte=period.start_at(), screened_at__lt=period.end_before()
    )
    oldest = ExpressionWrapper(
        TruncDate("screened_at") - datetime.timedelta(days=legal.TPS_FILE_MAX_AGE_DAYS), output_field=DateField()
    )
    broken = screened.annotate(oldest_file=oldest).filter(
        Q(tps_file__isnull=True)
        | Q(ctps_file__isnull=True)
        | Q(tps_file__file_date__lt=F("oldest_file"))
        | Q(ctps_file__file_date__lt=F("oldest_file"))
    )
    return measure_queryset(
        broken,
        day="screened_at",
        model="customers.CampaignScreening",
        fields=(),
        reference=lambda row: f"call-list screening {row['pk']}",
        url=lambda row: reverse("customers:screening", args=[row["pk"]]),
        note=lambda row: f"screened without a TPS and a CTPS file at most {legal.TPS_FILE_MAX_AGE_DAYS} days old",
        label="call lists screened without both registers in date",
        population=screened,
        population_label="call lists screened in the period",
    )


# --- The register ------------------------------------------------------------------------------------------


def _and(figures: tuple[int, ...]) -> str:
    """(7, 2) as "7 and 2", (24, 48, 66) as "24, 48 and 66"."""
    *rest, last = figures
    return f"{', '.join(map(str, rest))} and {last}" if rest else str(last)


NEED_TO_KNOW = (
    "We restrict access to personal information to The London Mint Office employees, contractors and agents who "
    "need to know that information in order to process it for us"
)

REGISTER: tuple[Check, ...] = (
    Check(
        key="optout_email_phone",
        title=f"Email and phone opt-outs take effect within {legal.OPT_OUT_DAYS_EMAIL} days",
        notice="if you inform us that you no longer wish to receive marketing emails and/or telephone calls you "
        "will stop receiving them within 7 Days of your request being received",
        provision="PECR reg 21-22; legal.OPT_OUT_DAYS_EMAIL, OPT_OUT_DAYS_PHONE",
        measured="Email and phone opt-outs whose take-effect date fell in the period: each actioned (first carried "
        "by the suppression feed) by that date, or listed as missed (missed opt-out deadlines page).",
        mechanism="The daily suppression feed actions every opt-out; the feed records late ones (late_by_days) and "
        "the DPO's missed opt-out deadlines page lists them.",
        measure=optouts_email_phone,
    ),
    Check(
        key="optout_post",
        title=f"Postal opt-outs take effect within {legal.OPT_OUT_WEEKS_POST} weeks",
        notice="If you inform us you no longer wish to receive postal marketing you may still receive some letters "
        "up to 6 weeks after you change your preferences as mailings are printed in advance.",
        provision="DMA Code; legal.OPT_OUT_WEEKS_POST",
        measured=f"Postal opt-outs whose take-effect date ({legal.OPT_OUT_WEEKS_POST} weeks after receipt) fell in the "
        "period, actioned by it.",
        mechanism="The suppression feed's post file, sent to the mailing house daily.",
        measure=optouts_post,
    ),
    Check(
        key="sms_stop",
        title=f"SMS STOP and other SMS opt-outs take effect within {legal.OPT_OUT_DAYS_SMS} days",
        notice="Text “STOP” to the SMS number to opt-out of text messages",
        provision="PECR reg 22(3); legal.OPT_OUT_DAYS_SMS",
        measured="SMS opt-outs (STOP replies and every other source) whose take-effect date fell in the period, "
        "actioned by it.",
        mechanism="The signed SMS webhook records a STOP as an opt-out at once; the suppression feed's SMS file.",
        measure=optouts_sms,
    ),
    Check(
        key="one_click_unsubscribe",
        title=f"One-click unsubscribes take effect within {legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK} days",
        notice="Click the ‘unsubscribe’ link in any of our promotional emails and update your contact preferences",
        provision=f"RFC 8058 one-click unsubscribe; bulk-sender rules ({legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK} days)",
        measured=f"One-click unsubscribes whose {legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK}-day deadline fell in the period, "
        "actioned by it.",
        mechanism="The one-click unsubscribe receiver and its own take-effect date.",
        measure=optouts_one_click,
    ),
    Check(
        key="objection_every_channel",
        title="An objection to direct marketing stops every channel at once",
        notice="The right to object - to stop direct marketing, or withdraw your consent about how your data is "
        "being processed",
        provision="UK GDPR Art 21(2)-(3)",
        measured="Customers who objected in the period: no marketing purpose switched on again afterwards, and "
        "every channel's opt-out recorded with the objection actioned by its date.",
        mechanism="customer_object_to_marketing withdraws every purpose on every channel and suppresses every "
        "identifier in one transaction.",
        measure=objection_every_channel,
    ),
    Check(
        key="suppression_feed_daily",
        title="The suppression feed was built every day",
        notice="You will only receive these marketing messages if you gave us permission to, and you can stop "
        "receiving them at any time",
        provision="PECR reg 21-22",
        measured="Each day of the period (to yesterday) has a successful run of build_suppression_feed (the job "
        "record). Delivery is the files written for the mailing house and the ad platforms; their "
        "collection is not recorded by the portal.",
        mechanism="The Celery beat's daily build_suppression_feed job, recorded as a JobRun.",
        measure=suppression_feed_daily,
    ),
    Check(
        key="calls_deleted",
        title=f"Call recordings and transcripts deleted after {legal.CALL_RETENTION_MONTHS} months",
        notice="Retention – call recordings and transcriptions are kept for 6 months and then securely deleted.",
        provision="UK GDPR Art 5(1)(e); legal.CALL_RETENTION_MONTHS",
        measured=f"Calls whose {legal.CALL_RETENTION_MONTHS} months ended in the period (more than a day ago) still "
        "held, except under a legal hold (an open request, complaint or breach about the person: counted with its "
        "reason), and nights of the period without a completed retention run.",
        mechanism="The nightly retention schedule (apply_retention_schedule) deletes the calls and their history "
        "rows, skipping what a legal hold keeps.",
        measure=calls_deleted,
    ),
    Check(
        key="external_deletions_confirmed",
        title="Deletions at the external stores confirmed",
        notice="Retention – call recordings and transcriptions are kept for 6 months and then securely deleted.",
        provision="UK GDPR Art 28(3)(g)",
        measured="Deletion tasks for the call-recording store and the transcription provider whose confirmation "
        f"was due in the period ({legal.EXTERNAL_DELETION_CONFIRM_DAYS} days after the purge or erasure), "
        "confirmed by their day.",
        mechanism="Each purge and erasure creates deletion tasks for the stores outside the portal, confirmed by "
        "a person with the provider's confirmation or by the provider's system.",
        measure=external_deletions_confirmed,
    ),
    Check(
        key="correspondence_deleted",
        title=f"Brief records of correspondence kept no longer than {legal.CORRESPONDENCE_RETENTION_MONTHS} months",
        notice="We may keep a brief record of any correspondence or telephone calls we have had with you for up "
        "to six months so that we can always help you with any question.",
        provision="UK GDPR Art 5(1)(e); legal.CORRESPONDENCE_RETENTION_MONTHS",
        measured=f"Records of correspondence whose {legal.CORRESPONDENCE_RETENTION_MONTHS} months ended in the period "
        "still held, except under a legal hold, and nights without a completed retention run.",
        mechanism="The nightly retention schedule (apply_retention_schedule), skipping what a legal hold keeps.",
        measure=correspondence_deleted,
    ),
    Check(
        key="requests_on_time",
        title="Rights requests answered within the time limit, per right",
        notice="You can make a data subject access request (DSAR) at any time and in doing so you are exercising "
        "your right to see the personal data we hold about you.",
        provision="UK GDPR Art 12(3); legal.DSAR_RESPONSE_MONTHS",
        measured="Requests answered in the period after their due date, and requests due in the period still "
        "unanswered; the figures per right.",
        mechanism="The statutory clock (requests.deadlines) sets each due date; the queue sorts by it and "
        f"reminders go {_and(legal.CASE_REMINDER_DAYS_BEFORE)} days before.",
        measure=requests_on_time,
    ),
    Check(
        key="extensions_told",
        title="Extensions told within the first month, with reasons",
        provision="UK GDPR Art 12(3); legal.DSAR_EXTENSION_MONTHS",
        measured="Extended requests whose first month ended in the period: the requester told by then, and the "
        "reasons recorded.",
        mechanism="The DPO signs off each extension; the service records the reasons and the day told.",
        measure=extensions_told,
    ),
    Check(
        key="refusals_in_time",
        title="Refusals told in time, with the right to complain",
        provision="UK GDPR Art 12(4)",
        measured="Refusals in the period told after the time limit (the case's refused_late flag). The letter "
        "always states the right to complain to the ICO (requests.services.cases).",
        mechanism="The DPO's refusal sign-off records the day told and whether it was late.",
        measure=refusals_in_time,
    ),
    Check(
        key="complaints_acknowledged",
        title=f"Complaints acknowledged within {legal.COMPLAINT_ACKNOWLEDGE_DAYS} days",
        notice="When we receive formal written complaints, we will contact the person who made the complaint to "
        "follow up.",
        provision="DPA 2018 s164A; legal.COMPLAINT_ACKNOWLEDGE_DAYS",
        measured="Complaints whose acknowledgement was due in the period, acknowledged by then.",
        mechanism=f"Reminders {_and(legal.COMPLAINT_REMINDER_DAYS_BEFORE)} days before; the DPO is told once missed.",
        measure=complaints_acknowledged,
    ),
    Check(
        key="complaints_responded",
        title="Complaints responded to",
        notice="When we receive formal written complaints, we will contact the person who made the complaint to "
        "follow up.",
        provision="DPA 2018 s164A(2) (without undue delay)",
        measured="Complaints whose response target (set by the DPO) fell in the period, responded to by then.",
        mechanism="The DPO sets each response target; reminders before it.",
        measure=complaints_responded,
    ),
    Check(
        key="internal_reviews_concluded",
        title="Internal reviews concluded",
        notice="you have the right to request an internal review.",
        provision="Company policy; legal.INTERNAL_REVIEW_DAYS",
        measured=f"Internal reviews whose {legal.INTERNAL_REVIEW_DAYS} days ended in the period, concluded by then.",
        mechanism="The complaint workflow's review steps (requested, concluded).",
        measure=internal_reviews_concluded,
    ),
    Check(
        key="ico_deadlines",
        title="ICO deadlines met",
        notice="We work with the appropriate regulatory authorities, to resolve any complaints regarding the "
        "transfer of personal data that we cannot resolve with our users directly.",
        provision="DPA 2018 s165; the ICO's own deadlines",
        measured="Deadlines the ICO set falling in the period, answered by then.",
        mechanism=f"The DPO is reminded {_and(legal.ICO_DEADLINE_REMINDER_DAYS_BEFORE)} days before each ICO "
        "deadline and on the day.",
        measure=ico_deadlines,
    ),
    Check(
        key="breaches_reported",
        title=f"Personal-data breaches reported within {legal.BREACH_REPORT_HOURS} hours or documented with reasons",
        provision="UK GDPR Art 33(1), 33(5); legal.BREACH_REPORT_HOURS",
        measured=f"Breaches whose {legal.BREACH_REPORT_HOURS} hours ended in the period: reported to the ICO in time, "
        "or late with the reasons for the delay, or decided not reportable with the reasons.",
        mechanism=f"The breach register's clock; the DPO is emailed at {_and(legal.BREACH_REMINDER_HOURS)} hours and "
        "once overdue.",
        measure=breaches_reported,
    ),
    Check(
        key="no_disclosure_restricted",
        title="No disclosure for a customer whose processing is restricted",
        notice="The right to restrict processing - to stop your data being processed, or collected",
        provision="UK GDPR Art 18(1)-(2)",
        measured="Disclosures in the period made while the customer was restricted, without the DPO's recorded "
        "override.",
        mechanism="The disclosure service refuses them unless the DPO overrides with a reason.",
        measure=no_disclosure_restricted,
    ),
    Check(
        key="sensitive_opt_in",
        title="No sensitive data shared without opt-in",
        notice="We require opt-in consent for the sharing of any sensitive personal information.",
        provision="UK GDPR Art 9(2)(a)",
        measured="Sensitive disclosures in the period for which the customer's latest sensitive-sharing choice "
        "before it was not an opt-in.",
        mechanism="The disclosure service's consent guard (state at the disclosure's time).",
        measure=sensitive_opt_in,
    ),
    Check(
        key="disclosure_lawful_basis",
        title="Every disclosure with a lawful basis",
        notice="We do not share personal information with companies, organisations and individuals outside of "
        "The London Mint Office unless one of the following circumstances applies:",
        provision="UK GDPR Art 6(1)",
        measured="Disclosures in the period without one of the six lawful bases.",
        mechanism="The disclosure form and import require a lawful basis.",
        measure=disclosure_lawful_basis,
    ),
    Check(
        key="transfers_safeguarded",
        title="Every transfer outside the UK with a mechanism",
        notice="We ensure this is done securely using Standard Contractual Clauses (SCCs) approved by the UK and "
        "EU, or other lawful transfer mechanisms.",
        provision="UK GDPR Art 44-46",
        measured="Disclosures in the period to a recipient outside the UK with neither UK adequacy nor a transfer "
        "mechanism.",
        mechanism="The recipient register requires a mechanism with its transfer risk assessment.",
        measure=transfers_safeguarded,
    ),
    Check(
        key="no_customer_under_18",
        title="No customer under 18",
        notice="Our services are not directed at children under 18 and we do not knowingly collect personal data "
        "from children.",
        provision="legal.MINIMUM_CUSTOMER_AGE_YEARS; Consumer Credit Act 1974",
        measured="Customers (not erased) held on some day of the period while under 18.",
        mechanism="The customer form and import refuse a date of birth under 18.",
        measure=no_customer_under_18,
    ),
    Check(
        key="break_glass_reviewed",
        title="Every break-glass opening reviewed by the DPO",
        notice=NEED_TO_KNOW,
        provision="UK GDPR Art 32(4); legal.BREAK_GLASS_REVIEW_DAYS",
        measured=f"Break-glass openings in the period not reviewed by the DPO within {legal.BREAK_GLASS_REVIEW_DAYS} "
        "days (a review recorded, or the opening taken up as a breach).",
        mechanism="Each opening is flagged on the DPO's dashboard with Justified / Not justified / Turn into a breach.",
        measure=break_glass_reviewed,
    ),
    Check(
        key="auditor_within_engagement",
        title="No sign-in or read by an auditor after the engagement's end",
        notice=NEED_TO_KNOW,
        provision="UK GDPR Art 32(4)",
        measured="Auditors' access-log entries and sign-ins (django-axes' log) in the period after their "
        "account's end date.",
        mechanism="The sign-in refuses an auditor account after its end date.",
        measure=auditor_within_engagement,
    ),
    Check(
        key="accounts_approved",
        title="No account sees customer data without a DPO's approval",
        notice=NEED_TO_KNOW,
        provision="UK GDPR Art 32(4); separation of duties",
        measured="Access-log entries in the period by an account of a data role before (or without) a DPO's approval.",
        mechanism="The sign-in refuses an unapproved account of a data role; a DPO other than its creator approves it.",
        measure=accounts_approved,
    ),
    Check(
        key="chain_verified_nightly",
        title="The access log's hash chain verified every night",
        provision="UK GDPR Art 5(2) (accountability), Art 32(1)(d)",
        measured="Each night of the period (to last night) has a verify_audit_log run that found the chain intact.",
        mechanism="The nightly verify_audit_log job; the DPO is emailed naming every break.",
        measure=chain_verified_nightly,
    ),
    Check(
        key="notice_versions_archived",
        title="Every notice version archived",
        notice="We will also keep prior versions of this Privacy Notice in an archive for review.",
        provision="UK GDPR Art 13; Art 5(2)",
        measured="Notice versions named by the preference changes of the period (what customers were shown) that "
        "are not in the archive.",
        mechanism="The privacy notice archive; each preference change names the version shown.",
        measure=notice_versions_archived,
    ),
    Check(
        key="tps_screened",
        title="Marketing calls screened against the TPS and CTPS",
        provision=f"PECR reg 21 (the {legal.TPS_LISTED_GRACE_DAYS}-day rule); legal.TPS_FILE_MAX_AGE_DAYS",
        measured="Call lists screened in the period without both a TPS and a CTPS file, or against a file more "
        f"than {legal.TPS_FILE_MAX_AGE_DAYS} days older than the screening. Calls actually made are not recorded by "
        "the portal, so a call list dialled without screening is not seen.",
        mechanism="Every call list is screened (Screening) against the latest TPS and CTPS files; the dialler's "
        "pre-dial check reads the register live.",
        measure=tps_screened,
    ),
)

BY_KEY = {check.key: check for check in REGISTER}
