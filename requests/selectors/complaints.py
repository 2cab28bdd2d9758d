"""Reads for complaints: who sees which, the list with its filters and counts, and the DPO's
dashboard figures."""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..access import visible_complaints
from ..models import Complaint, IcoCase

S = Complaint.Status
LIST_LIMIT = 200


def complaint_ack_bounced(complaint: Complaint) -> bool:
    """The complaint is not acknowledged yet and the acknowledgement we emailed bounced (the
    complaint page says so)."""
    return (
        complaint.acknowledged_on is None
        and complaint.correspondence.filter(template_key="complaint_ack", delivery="bounced").exists()
    )


def logged_complaints(user) -> QuerySet[Complaint]:
    """What an agent may see: the status of the complaints it logged, nothing inside."""
    return Complaint.objects.filter(logged_by=user).only(
        "id", "reference", "category", "status", "received_on", "acknowledge_by", "acknowledged_on", "closed_on"
    )


def complaint_list(
    user,
    *,
    status: str = "",
    category: str = "",
    ack_overdue: bool = False,
    ico: bool = False,
    mine: bool = False,
    today: datetime.date | None = None,
    limit: int = LIST_LIMIT,
) -> dict:
    """The complaints list: open ones by default, the acknowledgement due soonest first."""
    today = today or timezone.localdate()
    scope = visible_complaints(user)
    if mine:
        scope = scope.filter(handler=user)
    qs = scope
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status=S.CLOSED)
    if category:
        qs = qs.filter(category=category)
    if ack_overdue:
        qs = qs.filter(acknowledged_on__isnull=True, acknowledge_by__lt=today)
    if ico:
        qs = qs.filter(ico_case__isnull=False)
    rows = list(
        qs.select_related("customer", "handler", "ico_case").order_by(
            F("acknowledged_on").asc(nulls_first=True), "acknowledge_by", "id"
        )[:limit]
    )
    open_scope = scope.exclude(status=S.CLOSED)
    counts = dict(open_scope.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    stats = open_scope.aggregate(
        ack_overdue=Count("id", filter=Q(acknowledged_on__isnull=True, acknowledge_by__lt=today)),
        ico_open=Count("id", filter=Q(ico_case__isnull=False)),
    )
    return {"complaints": rows, "counts": counts, "truncated": len(rows) == limit, **stats}


def complaint_dashboard(*, today: datetime.date | None = None, months: int = 12) -> dict:
    """The DPO's figures: complaints by category and month (last `months` months), how many
    were acknowledged within the s164A period, and ICO cases open."""
    today = today or timezone.localdate()
    since = today.replace(day=1) - relativedelta(months=months - 1)
    by_month = (
        Complaint.objects.filter(received_on__gte=since)
        .annotate(month=TruncMonth("received_on"))
        .values_list("month", "category")
        .annotate(n=Count("id"))
        .order_by("month", "category")
    )
    table: dict[datetime.date, dict[str, int]] = {}
    for month, category, n in by_month:
        table.setdefault(month, {})[category] = n
    ack = Complaint.objects.aggregate(
        on_time=Count("id", filter=Q(acknowledged_on__isnull=False, acknowledged_on__lte=F("acknowledge_by"))),
        late=Count("id", filter=Q(acknowledged_on__isnull=False, acknowledged_on__gt=F("acknowledge_by"))),
        overdue=Count("id", filter=Q(acknowledged_on__isnull=True, acknowledge_by__lt=today)),
        waiting=Count("id", filter=Q(acknowledged_on__isnull=True, acknowledge_by__gte=today)),
    )
    ico_open = IcoCase.objects.exclude(complaint__status=S.CLOSED).count()
    categories = Complaint.Category.choices
    return {
        "categories": categories,
        "months": [
            {"month": month, "counts": [table[month].get(value, 0) for value, _ in categories]}
            for month in sorted(table)
        ],
        "acknowledged_on_time": ack["on_time"],
        "acknowledged_late": ack["late"],
        "acknowledgement_overdue": ack["overdue"],
        "acknowledgement_waiting": ack["waiting"],
        "ico_open": ico_open,
        "months_shown": months,
    }
