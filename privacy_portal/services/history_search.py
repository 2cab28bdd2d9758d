"""The auditors' history search: every change to every tracked record, newest first.

One statement: a branch per history table in scope (each served by an index on
(history_user_id, history_date) or on history_date, and cut at the page size), joined by
UNION ALL and merged by the database, paged by keyset on (history_date, kind, history_id):
no OFFSET, no COUNT, so it stays fast at tens of millions of rows (bench/history_bench.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connection, connections
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from privacy_portal.history_labels import history_type_label, record_kind

HISTORY_APPS = ("privacy_portal", "customers", "requests")
PAGE_SIZE = 50


@cache
def tracked_kinds() -> dict[str, Any]:
    """{"customers.Customer": HistoricalCustomer, ...} for every model with history. Typed Any:
    simple-history builds these classes at run time, so the stubs know neither their fields nor
    their managers."""
    kinds = {}
    for app in HISTORY_APPS:
        for model in apps.get_app_config(app).get_models():
            history = getattr(model, "history", None)
            if history is None or not hasattr(history, "model"):
                continue
            if model._meta.auto_created:
                continue
            kinds[model._meta.label] = history.model
    return dict(sorted(kinds.items()))


def kind_choices() -> list[tuple[str, str]]:
    return [(label, record_kind(label, capital=True)) for label in tracked_kinds()]


@dataclass(frozen=True)
class Row:
    when: datetime.datetime
    kind: str
    history_id: int
    record_id: int
    change: str
    user_id: int | None
    reason: str

    @property
    def cursor(self) -> str:
        return f"{self.when.isoformat()}|{self.kind}|{self.history_id}"


def parse_cursor(cursor: str) -> tuple[datetime.datetime, str, int] | None:
    try:
        when, kind, hid = cursor.split("|")
        return datetime.datetime.fromisoformat(when), kind, int(hid)
    except (ValueError, AttributeError):
        return None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def search(
    *,
    user_id: int | None = None,
    kind: str = "",
    record_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> tuple[list[Row], str | None]:
    """One page of history rows, newest first, and the cursor of the next page (or None)."""
    kinds = tracked_kinds()
    scope = {}
    for label, model in ({kind: kinds[kind]} if kind else kinds).items():
        qs = model.objects.all()
        if user_id is not None:
            qs = qs.filter(history_user_id=user_id)
        if record_id is not None:
            qs = qs.filter(id=record_id)
        # Whole London days, as a range on the indexed column (never a cast of it).
        if date_from:
            qs = qs.filter(history_date__gte=_day_start(date_from))
        if date_to:
            qs = qs.filter(history_date__lt=_day_start(date_to + datetime.timedelta(days=1)))
        scope[label] = qs
    return page(scope, cursor=cursor, limit=limit)


def page(scope: dict[str, QuerySet], *, cursor: str = "", limit: int = PAGE_SIZE) -> tuple[list[Row], str | None]:
    """One page, newest first, of the history rows in `scope` ({kind label: filtered queryset of
    that kind's history model}), and the cursor of the next page (or None). One statement.

    Every timeline in the portal pages through this (the auditors' search, a record's history,
    a customer's, a case's), so each costs the same at 10 rows as at 10 million.
    """
    labels = list(tracked_kinds())  # sorted
    after = parse_cursor(cursor) if cursor else None
    branches: list[str] = []
    params: list[Any] = []
    for label, qs in scope.items():
        if after is not None:
            when, after_kind, after_id = after
            if label < after_kind:
                # Same instant sorts after the cursor when the kind's label is smaller (descending order).
                qs = qs.filter(history_date__lte=when)
            elif label == after_kind:
                # The plain `<=` is implied by the OR but is what bounds the index scan: without it the
                # OR is only a filter, and every row newer than the cursor is read again on each page.
                qs = qs.filter(
                    Q(history_date__lte=when), Q(history_date__lt=when) | Q(history_date=when, history_id__lt=after_id)
                )
            else:
                qs = qs.filter(history_date__lt=when)
        values = qs.order_by("-history_date", "-history_id").values_list(
            "history_date", "history_id", "id", "history_type", "history_user_id", "history_change_reason"
        )[: limit + 1]
        sql, branch_params = values.query.sql_with_params()
        # The kind as its rank among the sorted labels: the order of Python's string comparison (that of
        # the cursor), whatever the database's collation. The values stay parameters of the ORM's SQL.
        rank = labels.index(label)
        branches.append(f"SELECT {rank} AS kind_rank, b.* FROM ({sql}) AS b")  # noqa: S608 (an int and ORM SQL)
        params += branch_params
    order = " ORDER BY history_date DESC, kind_rank DESC, history_id DESC LIMIT %s"
    with connection.cursor() as db:
        db.execute(" UNION ALL ".join(branches) + order, [*params, limit + 1])
        rows = [
            Row(_aware(d), labels[rank], hid, rid, history_type_label(t), uid, reason or "")
            for rank, d, hid, rid, t, uid, reason in db.fetchall()
        ]
    shown = rows[:limit]
    return shown, (shown[-1].cursor if len(rows) > limit else None)


def _aware(value) -> datetime.datetime:
    """A history_date read through the UNION, in UTC: PostgreSQL gives it aware; SQLite naive or as text."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)


def ensure_history_indexes(using: str = "default") -> None:
    """On PostgreSQL, for every history table, indexes that let each timeline read one page in
    order: (history_user_id, history_date) for "everything this person changed", (id, history_date)
    for one record's history (and each row's predecessor), and (customer_id, history_date) where
    the table has a customer (a customer's preference history). Idempotent."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    existing = set(connection.introspection.table_names())
    order = "history_date DESC, history_id DESC"
    with connection.cursor() as cursor:
        for model in tracked_kinds().values():
            table = model._meta.db_table
            if table not in existing:
                continue
            leads = {"user": "history_user_id", "record": "id"}
            if any(f.column == "customer_id" for f in model._meta.concrete_fields):
                leads["customer"] = "customer_id"
            for suffix, lead in leads.items():
                name = f"{table[:40]}_{'user_date' if suffix == 'user' else suffix + '_date'}"
                cursor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({lead}, {order})')
