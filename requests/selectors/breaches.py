"""Reads for personal-data breaches: who sees which, the register with its counts, the figures
by month and cause, and the DPO's dashboard."""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.models import Customer
from privacy_portal.models import AccessEvent, User

from ..access import visible_breaches
from ..models import Breach, BreachNotification, BreachTask
from .cases import bar_chart

LIST_LIMIT = 200
DUE_SOON_HOURS = 24  # the register's and the dashboard's "due soon" (a working window)
DUE_SOON = datetime.timedelta(hours=DUE_SOON_HOURS)


def open_breach_tasks_of(user) -> QuerySet[BreachTask]:
    """The breach tasks the DPO gave `user`, still open, the soonest due first (the home page
    and the "my breach tasks" page)."""
    return BreachTask.objects.filter(owner=user, done_at__isnull=True).select_related("breach").order_by("due_on", "pk")


def _initial_report():
    return BreachNotification.objects.filter(breach=OuterRef("pk"), phase=BreachNotification.Phase.INITIAL)


def awaiting_report(qs: QuerySet[Breach]) -> QuerySet[Breach]:
    """Open breaches whose clock still runs: not decided unreportable, no initial report yet."""
    return qs.filter(closed_at__isnull=True).exclude(report_to_ico=False).exclude(Exists(_initial_report()))


def breach_register(user, *, show: str = "open", now: datetime.datetime | None = None, limit: int = LIST_LIMIT) -> dict:
    """The register: the breaches the user may see, soonest due first, with the counts."""
    now = now or timezone.now()
    scope = visible_breaches(user)
    waiting = awaiting_report(scope)
    if show == "all":
        qs = scope
    elif show == "due24":
        qs = waiting.filter(due_at__gte=now, due_at__lt=now + DUE_SOON)
    elif show == "overdue":
        qs = waiting.filter(due_at__lt=now)
    else:
        qs = scope.filter(closed_at__isnull=True)
    rows = list(
        qs.annotate(reported=Exists(_initial_report()), affected_count=Count("affected", distinct=True)).order_by(
            "due_at", "id"
        )[:limit]
    )
    for row in rows:
        row.hours_left = (row.due_at - now).total_seconds() / 3600  # type: ignore[attr-defined]  # for the template
    counts = waiting.aggregate(
        due24=Count("id", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
        overdue=Count("id", filter=Q(due_at__lt=now)),
    )
    counts["open"] = scope.filter(closed_at__isnull=True).count()
    return {
        "breaches": rows,
        "counts": counts,
        "truncated": len(rows) == limit,
        "now": now,
        "due_soon_hours": DUE_SOON_HOURS,
    }


def breach_figures(*, now: datetime.datetime | None = None, months: int = 12) -> dict:
    """Breaches by month of awareness and by cause over the last `months` months, as charts
    rendered on the server (inline SVG), plus the open, due-soon and overdue counts."""
    now = now or timezone.now()
    start = timezone.localtime(now).date().replace(day=1) - relativedelta(months=months - 1)
    since = timezone.make_aware(datetime.datetime.combine(start, datetime.time()))
    recent = Breach.objects.filter(aware_at__gte=since)
    by_month = dict(
        recent.annotate(month=TruncMonth("aware_at"))
        .values_list("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    by_month = {timezone.localtime(m).date() if isinstance(m, datetime.datetime) else m: n for m, n in by_month.items()}
    month_items = []
    for i in range(months):
        month = start + relativedelta(months=i)
        month_items.append((f"{month:%b %Y}", by_month.get(month, 0)))
    by_cause = dict(recent.values_list("cause").annotate(n=Count("id")).values_list("cause", "n"))
    cause_items = [(label, by_cause.get(value, 0)) for value, label in Breach.Cause.choices]
    waiting = awaiting_report(Breach.objects.all())
    return {
        "by_month": bar_chart(month_items, label_width=90),
        "by_cause": bar_chart(cause_items),
        "open": Breach.objects.filter(closed_at__isnull=True).count(),
        "due24": waiting.filter(due_at__gte=now, due_at__lt=now + DUE_SOON).count(),
        "overdue": waiting.filter(due_at__lt=now).count(),
        "not_reported": Breach.objects.filter(report_to_ico=False, aware_at__gte=since).count(),
        "reported": Breach.objects.filter(Exists(_initial_report()), aware_at__gte=since).count(),
        "months": months,
        "due_soon_hours": DUE_SOON_HOURS,
    }


# --- detection from the portal's own data ------------------------------------------------------

# A member of staff opening this many different customers in 24 hours is shown to the DPO for
# review (the company's own threshold, not a legal figure: an agent takes 60 to 80 calls a day,
# most from customers it has to open once; a run beyond that is worth a look).
UNUSUAL_OPENINGS_PER_DAY = 100
UNUSUAL_WINDOW = datetime.timedelta(hours=24)
# Openings of a customer who shares the member of staff's surname, over this many days. The portal
# holds no address of its staff, so the surname alone: the DPO judges (a common name, a relative).
NAMESAKE_WINDOW = datetime.timedelta(days=30)
NAMESAKE_LIMIT = 20
OPENING_ACTIONS = ("view_customer", "break_glass", "edit_form")


def access_patterns(*, now: datetime.datetime | None = None) -> dict:
    """What the DPO should look at in the access log to detect a breach: staff who opened an
    unusual number of customers in the last 24 hours, and openings of a customer sharing the
    member of staff's surname. Entries already the evidence of a breach are left out. Two
    queries over the indexed `at` column, whatever the log's size."""
    now = now or timezone.now()
    heavy = list(
        AccessEvent.objects.filter(at__gte=now - UNUSUAL_WINDOW, user__isnull=False, customer_id__isnull=False)
        .values("user")
        .annotate(customers=Count("customer_id", distinct=True))
        .filter(customers__gte=UNUSUAL_OPENINGS_PER_DAY)
        .order_by("-customers", "user")
    )
    users = User.objects.in_bulk([row["user"] for row in heavy])
    taken = {
        i for ids in Breach.objects.exclude(access_event_ids=[]).values_list("access_event_ids", flat=True) for i in ids
    }
    namesake = Customer.objects.filter(pk=OuterRef("customer_id"), last_name__iexact=OuterRef("user__last_name"))
    namesakes = [
        e
        for e in AccessEvent.objects.filter(
            Exists(namesake), at__gte=now - NAMESAKE_WINDOW, action__in=OPENING_ACTIONS, user__isnull=False
        )
        .exclude(user__last_name="")
        .select_related("user", "free_text")
        .order_by("-at")[: NAMESAKE_LIMIT + len(taken)]
        if e.pk not in taken
    ][:NAMESAKE_LIMIT]
    return {
        "heavy": [{"user": users[row["user"]], "customers": row["customers"]} for row in heavy],
        "namesakes": namesakes,
        "threshold": UNUSUAL_OPENINGS_PER_DAY,
        "window_hours": int(UNUSUAL_WINDOW.total_seconds() // 3600),
        "namesake_days": NAMESAKE_WINDOW.days,
    }
