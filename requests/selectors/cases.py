"""Reads for rights requests: the queues, with keyset paging and counts only over open cases."""

from __future__ import annotations

import datetime
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Count, DateField, F, FloatField, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from customers.selectors.customers import customers_matching
from privacy_portal import paging
from privacy_portal.charts import Column, MonthlyColumns, monthly_columns

from ..access import visible_cases
from ..models import SORT_WITHOUT_DUE_DATE, Case

QUEUE_PAGE_SIZE = 50
FAR_FUTURE = SORT_WITHOUT_DUE_DATE  # "clock not started" after every due date; the case_sort_due index matches

# The queue's and the dashboard's "due soon": cases due within this many days (a working window,
# not a legal figure).
DUE_SOON_DAYS = 7


@dataclass
class Queue:
    cases: Sequence[Case] = field(default_factory=list)
    next_after: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    due_this_week: int = 0

    @property
    def due_soon_days(self) -> int:
        return DUE_SOON_DAYS


def logged_cases(user) -> QuerySet[Case]:
    """What an agent may see: the status of the cases it logged, nothing inside."""
    # Every field the row shows (requests/_due.html too): a deferred one costs a query per case.
    return Case.objects.filter(logged_by=user).only(
        "id", "reference", "right", "status", "received_on", "due_on", "closed_on", "stopped_days", "extended"
    )


def case_queue(
    user,
    *,
    status: str = "",
    right: str = "",
    window: str = "",
    mine: bool = False,
    after: str = "",
    limit: int = QUEUE_PAGE_SIZE,
    today: datetime.date | None = None,
) -> Queue:
    today = today or timezone.localdate()
    scope = visible_cases(user)
    if mine:
        scope = scope.filter(handler=user)
    open_scope = scope.filter(closed_on__isnull=True)
    qs = scope
    if status == "closed":
        qs = qs.filter(closed_on__isnull=False)
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = open_scope
    if right:
        qs = qs.filter(right=right)
    if window == "overdue":
        qs = qs.filter(due_on__lt=today, closed_on__isnull=True)
    elif window == "refused_late":
        qs = qs.filter(refused_late=True)
    elif window == "week":
        qs = qs.filter(
            due_on__gte=today, due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS), closed_on__isnull=True
        )
    qs = qs.annotate(sort_due=Coalesce("due_on", Value(FAR_FUTURE), output_field=DateField()))
    rows, next_after = paging.keyset_page(
        qs.select_related("customer", "handler"), order=("sort_due", "pk"), cursor=after, limit=limit
    )
    queue = Queue(cases=rows, next_after=next_after)
    # Counts over open cases only (a small set), one grouped query; never a count of all history.
    by_status = dict(open_scope.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    # In workflow order, labelled for people.
    queue.counts = {label: by_status[value] for value, label in Case.Status.choices if value in by_status}
    stats = open_scope.aggregate(
        overdue=Count("id", filter=Q(due_on__lt=today)),
        week=Count("id", filter=Q(due_on__gte=today, due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))),
    )
    queue.overdue, queue.due_this_week = stats["overdue"], stats["week"]
    return queue


# --- The DPO's dashboard ----------------------------------------------------------------------

DASHBOARD_MONTHS = 12
RESPONDED = (Case.Status.COMPLETED, Case.Status.REFUSED)


class Median(Aggregate):
    """PostgreSQL's exact median (percentile_cont), over a whole number of days."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass
class Bar:
    label: str
    value: int
    # Geometry of a horizontal bar in the chart's own units (the template only places it).
    y: float = 0
    width: float = 0
    text_y: float = 0
    value_x: float = 0


@dataclass
class BarChart:
    bars: list[Bar]
    width: int = 480
    height: int = 0
    label_width: int = 200
    bar_height: int = 14
    total: int = 0


def bar_chart(items: list[tuple[str, int]], *, row: int = 22, width: int = 480, label_width: int = 200) -> BarChart:
    """Horizontal bars, longest = the largest value; laid out here so the template holds no arithmetic."""
    top = max((value for _, value in items), default=0) or 1
    span = width - label_width - 48  # room for the value printed after the bar
    bars = []
    for i, (label, value) in enumerate(items):
        length = round(span * value / top, 1)
        bars.append(
            Bar(label, value, y=i * row + 4, width=length, text_y=i * row + 15, value_x=label_width + length + 6)
        )
    return BarChart(
        bars, width=width, height=len(items) * row + 8, label_width=label_width, total=sum(v for _, v in items)
    )


@dataclass
class MonthShare(Column):
    label: str
    responded: int
    on_time: int
    share: float | None  # None when nothing was answered that month

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)


@dataclass
class DashboardFigures:
    open_total: int
    by_status: BarChart
    by_right: BarChart
    overdue: int
    due_this_week: int
    extended_open: int
    responded: int  # answered (completed or refused) in the last 12 months
    on_time: int
    on_time_share: float | None
    on_time_percent: int | None
    extensions_used: int
    refused_late: int  # refusals approved, or told, after the time limit (Art 12(4)) in those months
    median_days: float | None
    monthly: MonthlyColumns[MonthShare]
    since: datetime.date
    months: int = DASHBOARD_MONTHS

    @property
    def due_soon_days(self) -> int:
        return DUE_SOON_DAYS


def _month_start(day: datetime.date, back: int = 0) -> datetime.date:
    month = day.year * 12 + day.month - 1 - back
    return datetime.date(month // 12, month % 12 + 1, 1)


def dashboard_figures(*, today: datetime.date | None = None, months: int = DASHBOARD_MONTHS) -> DashboardFigures:
    """The DPO's figures in three queries, whatever the number of cases.

    Open cases come from the partial index on open cases. The last `months` months count
    cases answered (completed or refused; withdrawn ones are not answers) by the month they
    closed: on time when closed by the due date, or when the clock never started (identity
    never came, so no deadline ran). Days to complete are calendar days from receipt.
    """
    today = today or timezone.localdate()
    week_end = today + datetime.timedelta(days=DUE_SOON_DAYS)
    open_rows = list(
        Case.objects.filter(closed_on__isnull=True)
        .values("status", "right")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_on__lt=today)),
            week=Count("id", filter=Q(due_on__gte=today, due_on__lte=week_end)),
            extended=Count("id", filter=Q(extended=True)),
        )
        .order_by()
    )
    status_counts: dict[str, int] = {s: 0 for s in Case.OPEN_STATUSES}
    right_counts: dict[str, int] = {r: 0 for r in Case.Right.values}
    for row in open_rows:
        status_counts[row["status"]] = status_counts.get(row["status"], 0) + row["n"]
        right_counts[row["right"]] = right_counts.get(row["right"], 0) + row["n"]

    since = _month_start(today, months - 1)
    answered = Case.objects.filter(closed_on__gte=since, status__in=RESPONDED)
    on_time_q = Q(due_on__isnull=True) | Q(closed_on__lte=F("due_on"))
    per_month = {
        row["month"]: row
        for row in answered.annotate(month=TruncMonth("closed_on", output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"), on_time=Count("id", filter=on_time_q))
        .order_by()
    }
    days = Func(F("closed_on"), F("received_on"), template="(%(expressions)s)", arg_joiner=" - ",
                output_field=IntegerField())  # fmt: skip
    if connection.vendor == "postgresql":
        totals = answered.aggregate(
            extensions=Count("id", filter=Q(extended=True)),
            refused_late=Count("id", filter=Q(refused_late=True)),
            median=Median(days, filter=Q(status=Case.Status.COMPLETED)),
        )
    else:
        # SQLite (the local demo) has no percentile_cont: a demo's few cases, in Python.
        spans = [
            (closed - received).days  # type: ignore[operator]  # a completed case has its closed_on
            for closed, received in answered.filter(status=Case.Status.COMPLETED).values_list(
                "closed_on", "received_on"
            )
        ]
        totals = {
            "extensions": answered.filter(extended=True).count(),
            "refused_late": answered.filter(refused_late=True).count(),
            "median": statistics.median(spans) if spans else None,
        }
    monthly = []
    for back in range(months - 1, -1, -1):
        start = _month_start(today, back)
        counts = per_month.get(start, {"n": 0, "on_time": 0})
        share = counts["on_time"] / counts["n"] if counts["n"] else None
        monthly.append(MonthShare(f"{start:%b %y}", counts["n"], counts["on_time"], share))
    responded = sum(m.responded for m in monthly)
    on_time = sum(m.on_time for m in monthly)
    return DashboardFigures(
        open_total=sum(status_counts.values()),
        by_status=bar_chart([(Case.Status(s).label, n) for s, n in status_counts.items()]),
        by_right=bar_chart([(Case.Right(r).label, n) for r, n in right_counts.items()]),
        overdue=sum(row["overdue"] for row in open_rows),
        due_this_week=sum(row["week"] for row in open_rows),
        extended_open=sum(row["extended"] for row in open_rows),
        responded=responded,
        on_time=on_time,
        on_time_share=on_time / responded if responded else None,
        on_time_percent=round(100 * on_time / responded) if responded else None,
        extensions_used=totals["extensions"],
        refused_late=totals["refused_late"],
        median_days=totals["median"],
        monthly=monthly_columns(monthly, [m.share or 0 for m in monthly]),  # 100% reaches the top
        since=since,
        months=months,
    )


def case_correspondence_items(case: Case) -> QuerySet:
    """A rights request's correspondence, newest first, with who recorded each item."""
    return case.correspondence.select_related("recorded_by").order_by("-occurred_on", "-pk")


def case_customer_matches(case: Case) -> list:
    """Customer records that match what a requester typed on the public form (by any identifier
    ever held: customers.selectors.customers.customers_matching), for the handler to confirm. Only for a
    case with no customer yet."""
    if case.customer_id is not None or case.channel != Case.Channel.WEB_FORM:
        return []
    account = re.search(r"^Account reference given: (\S+)$", case.description, re.MULTILINE)
    return customers_matching(
        name=case.requester_name if case.requester_name != case.requester_email else "",
        email=case.requester_email,
        phone=case.requester_phone,
        postcode=case.requester_address,
        account_reference=account.group(1) if account else "",
    )
