"""Keyset paging of a plain list: the page and the cursor of the next one. The one pager of the
portal's lists (timelines of history rows page through `privacy_portal.history.history_page`).

Never OFFSET and never COUNT: the page costs the same however long the list (with an index on
the list's filter and its order).

One cursor format everywhere: the last row shown's values of the list's order, the primary key
last, joined by "|" (a date or date-time in ISO 8601 with its offset, a number in ASCII digits):
"2026-03-01T09:30:00+00:00|812" for newest-first by date, "2026-03-01|44" for soonest due,
"812" by id alone. A cursor that cannot be read (tampered with, cut short, another list's) starts
from the first page, as a first visit would.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from .bounds import parse_id

PAGE_SIZE = 50
SEPARATOR = "|"

M = TypeVar("M", bound=models.Model)


def keyset_page(
    qs: QuerySet[M], *, order: Sequence[str], cursor: str = "", limit: int = PAGE_SIZE
) -> tuple[list[M], str | None]:
    """One page of `qs` in `order` (field or annotation names, "-" for descending, the last "pk"
    so that the order is total), after the row `cursor` names, and the next page's cursor (or None).

    The order's fields must never be null (a coalesced annotation where a column may be)."""
    names = [name.removeprefix("-") for name in order]
    if names[-1] != "pk":
        raise ValueError(f"A keyset order ends with the primary key, not {names[-1]!r}.")
    after = parse_cursor(qs, names, cursor) if cursor else None
    if after is not None:
        qs = qs.filter(_after(order, after))
    rows = list(qs.order_by(*order)[: limit + 1])
    shown = rows[:limit]
    if len(rows) <= limit:
        return shown, None
    return shown, cursor_of(shown[-1], names)


def cursor_of(row: Any, names: Sequence[str]) -> str:
    """The cursor after `row` in an order on `names` (the format above)."""
    return SEPARATOR.join(_text(getattr(row, name)) for name in names)


def parse_cursor(qs: QuerySet, names: Sequence[str], cursor: str) -> list | None:
    """The values a cursor holds for an order on `names`, or None if it cannot be read as one."""
    parts = cursor.split(SEPARATOR) if cursor.isascii() else []
    if len(parts) != len(names):
        return None
    values = [_parser(qs, name)(part) for name, part in zip(names, parts, strict=True)]
    return None if any(value is None for value in values) else values


def newest_first(
    qs: QuerySet[M], *, date_field: str, cursor: str = "", limit: int = PAGE_SIZE
) -> tuple[list[M], str | None]:
    """One page of `qs` ordered by (date_field, pk) descending, and the next page's cursor (or None)."""
    return keyset_page(qs, order=(f"-{date_field}", "-pk"), cursor=cursor, limit=limit)


def newest_by_id(qs: QuerySet[M], *, before: str | None, limit: int = PAGE_SIZE) -> tuple[list[M], int | None]:
    """One page of `qs` by id descending, below the id `before` (the cursor of an order on the id
    alone; unreadable: from the newest), and the id the next (older) page starts below (or None)."""
    rows, cursor = keyset_page(qs, order=("-pk",), cursor=before or "", limit=limit)
    return rows, (rows[-1].pk if cursor else None)


def _after(order: Sequence[str], values: list) -> Q:
    """Rows after `values` in `order`: (a > x) or (a = x and b > y) or ..., each comparison in its
    field's direction, with the leading field's bound first so an index range scan can start there."""
    lookups = [("lt" if name.startswith("-") else "gt", name.removeprefix("-")) for name in order]
    beyond = Q()
    for i, (lookup, name) in enumerate(lookups):
        equal = {lookups[j][1]: values[j] for j in range(i)}
        beyond |= Q(**equal, **{f"{name}__{lookup}": values[i]})
    lead_lookup, lead = lookups[0]
    if len(lookups) == 1:
        return beyond
    return Q(**{f"{lead}__{lead_lookup}e": values[0]}) & beyond


def _text(value: Any) -> str:
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    return str(value)


def _parser(qs: QuerySet, name: str) -> Callable[[str], Any]:
    field = _field(qs, name)
    if isinstance(field, models.DateTimeField):
        return _parse_datetime
    if isinstance(field, models.DateField):
        return _parse_date
    if isinstance(field, models.IntegerField | models.ForeignKey):  # AutoField and BigAutoField too
        return parse_id
    raise ValueError(f"No cursor format for {name!r} ({type(field).__name__}).")


def _field(qs: QuerySet, name: str) -> models.Field:
    if name == "pk":
        return qs.model._meta.pk
    if name in qs.query.annotations:
        return qs.query.annotations[name].output_field
    return qs.model._meta.get_field(name)


def _parse_datetime(text: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _parse_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None
