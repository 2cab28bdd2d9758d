"""Keyset paging of a plain list, newest first: the page and the cursor of the next (older) one.

Never OFFSET and never COUNT: the page costs the same however long the list (with an index on
the list's filter, the date and the id). Timelines of history rows page through
`privacy_portal.history.history_page` instead.
"""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from .bounds import parse_id

PAGE_SIZE = 50


def parse_cursor(cursor: str) -> tuple[datetime.datetime, int] | None:
    try:
        when, pk = cursor.split("|")
        parsed = datetime.datetime.fromisoformat(when)
        return (parsed, int(pk)) if parsed.tzinfo is not None else None
    except (ValueError, AttributeError):
        return None


def newest_first(qs: QuerySet, *, date_field: str, cursor: str = "", limit: int = PAGE_SIZE) -> tuple[list, str | None]:
    """One page of `qs` ordered by (date_field, pk) descending, and the next page's cursor (or None).

    A cursor that cannot be read starts from the newest, as a first visit would.
    """
    after = parse_cursor(cursor) if cursor else None
    if after is not None:
        when, pk = after
        qs = qs.filter(
            Q(**{f"{date_field}__lte": when}), Q(**{f"{date_field}__lt": when}) | Q(**{date_field: when, "pk__lt": pk})
        )
    rows = list(qs.order_by(f"-{date_field}", "-pk")[: limit + 1])
    shown = rows[:limit]
    if len(rows) <= limit:
        return shown, None
    last = shown[-1]
    return shown, f"{getattr(last, date_field).isoformat()}|{last.pk}"


def newest_by_id(qs: QuerySet, *, before: str | None, limit: int = PAGE_SIZE) -> tuple[list, int | None]:
    """One page of `qs` by id descending, below the id `before` (a bare id; unreadable: from the
    newest), and the id the next (older) page starts below (or None)."""
    if (before_id := parse_id(before)) is not None:
        qs = qs.filter(pk__lt=before_id)
    rows = list(qs.order_by("-pk")[: limit + 1])
    return rows[:limit], (rows[limit - 1].pk if len(rows) > limit else None)
