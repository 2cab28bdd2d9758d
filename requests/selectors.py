"""Reads for rights requests: the queues, with keyset paging and counts only over open cases."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, DateField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from .models import Case

QUEUE_PAGE_SIZE = 50
FAR_FUTURE = datetime.date(9999, 12, 31)  # sorts "clock not started" after every due date


@dataclass
class Queue:
    cases: list[Case] = field(default_factory=list)
    next_after: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    due_this_week: int = 0


def visible_cases(user) -> QuerySet[Case]:
    """Cases the user may open: everything with the model permission (DPO, auditors),
    otherwise those granted on the object (a handler's own cases)."""
    if user.has_perm("requests.view_case"):
        return Case.objects.all()
    return get_objects_for_user(user, "requests.view_case", klass=Case, accept_global_perms=False, with_superuser=False)


def logged_cases(user) -> QuerySet[Case]:
    """What an agent may see: the status of the cases it logged, nothing inside."""
    return Case.objects.filter(logged_by=user).only(
        "id", "reference", "right", "status", "received_on", "due_on", "closed_on"
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
    elif window == "week":
        qs = qs.filter(due_on__gte=today, due_on__lte=today + datetime.timedelta(days=7), closed_on__isnull=True)
    qs = qs.annotate(sort_due=Coalesce("due_on", Value(FAR_FUTURE), output_field=DateField()))
    if after:
        try:
            due_text, _, pk_text = after.partition(":")
            due, pk = datetime.date.fromisoformat(due_text), int(pk_text)
            qs = qs.filter(Q(sort_due__gt=due) | Q(sort_due=due, pk__gt=pk))
        except ValueError:
            pass
    rows = list(qs.select_related("customer", "handler").order_by("sort_due", "id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    queue = Queue(cases=rows, next_after=f"{rows[-1].sort_due.isoformat()}:{rows[-1].pk}" if more else None)
    # Counts over open cases only (a small set), one grouped query; never a count of all history.
    queue.counts = dict(open_scope.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    stats = open_scope.aggregate(
        overdue=Count("id", filter=Q(due_on__lt=today)),
        week=Count("id", filter=Q(due_on__gte=today, due_on__lte=today + datetime.timedelta(days=7))),
    )
    queue.overdue, queue.due_this_week = stats["overdue"], stats["week"]
    return queue
