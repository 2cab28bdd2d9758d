"""Readable change history: who changed which field from what to what, when and why.

The one timeline builder. Every timeline in the portal is history rows in order, each with the
same object's row before it (what it changed from), as `TimelineRow`s:

- `timeline(sources)`: rows already loaded ({"app.Model": its history rows}), merged into one
  timeline, oldest first (the complaint bundle, a stale edit's "changed since");
- `history_page(scope)`: one keyset page, newest first, read from the database (a record's
  page, the customer's history, any record's history), and on it `changed_fields_page` and
  `timeline_page` (readable `HistoryEntry`s).

No other module sorts history rows by time or diffs one against another
(`tests/test_one_home_rules.py`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import OuterRef, Q, QuerySet, Subquery

from privacy_portal.services.history_search import PAGE_SIZE, page, tracked_kinds

from .history_labels import field_label, history_type_label

HIDDEN_FIELDS = {"id", "history_id", "history_date", "history_change_reason", "history_type", "history_user"}


@dataclass
class FieldChange:
    field: str
    label: str
    old: object
    new: object


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    who_id: int | None
    kind: str  # "created", "changed", "deleted"
    reason: str
    changes: list[FieldChange] = field(default_factory=list)
    record_label: str = ""


def history_model(model: type[models.Model]) -> Any:
    """The history model simple-history built for `model` (at run time, so typed Any: the
    stubs see neither the `history` manager it adds nor the model's fields)."""
    return model.history.model  # type: ignore[attr-defined]


def _display(value: object) -> object:
    if value in (None, ""):
        return "(empty)"
    return value


@dataclass(frozen=True)
class TimelineRow:
    """One history row of a timeline and the same object's row before it: None for the object's
    first row (or when the row before is not among those given)."""

    record: Any  # a historical record (see history_model)
    previous: Any
    kind: str  # its model's label ("requests.Complaint"), the source it came from

    @property
    def first(self) -> bool:
        return self.previous is None

    def changes(self, fields: Iterable[str] | None = None) -> list[Any]:
        """What this row changed since the row before (simple-history's ModelChange: field, old,
        new), of `fields` or of every tracked field; nothing for a first row."""
        if self.previous is None:
            return []
        included = None if fields is None else list(fields)
        return self.record.diff_against(self.previous, included_fields=included).changes


def timeline(sources: Mapping[str, Iterable[Any]]) -> list[TimelineRow]:
    """History rows of several sources ({"app.Model": that model's history rows, in any order})
    as one timeline, oldest first, each with the same object's row before it.

    Ordered by the time of the change; one source's rows by (history_date, history_id); rows of
    different sources changed at the same instant keep the order of `sources`."""
    per_source = []
    for kind, records in sources.items():
        rows: list[TimelineRow] = []
        previous: dict[object, Any] = {}
        for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
            rows.append(TimelineRow(record, previous.get(record.id), kind))
            previous[record.id] = record
        per_source.append(rows)
    return list(heapq.merge(*per_source, key=lambda row: row.record.history_date))


def _entry(row: TimelineRow, exclude: set[str], record_label: str) -> HistoryEntry:
    record, model = row.record, row.record.instance_type
    changes = [
        FieldChange(c.field, field_label(model, c.field), _display(c.old), _display(c.new))
        for c in row.changes()
        if c.field not in exclude
    ]
    user = record.history_user
    return HistoryEntry(
        when=record.history_date,
        who=(user.get_full_name() or user.username) if user else "the system",
        who_id=user.pk if user else None,
        kind=history_type_label(record.history_type),
        reason=record.history_change_reason or "",
        changes=changes,
        record_label=record_label,
    )


@dataclass
class HistoryPage:
    """One page of a timeline, newest first, and the cursor of the next (older) page."""

    rows: list[TimelineRow]
    next_cursor: str | None


def history_page(scope: dict[str, QuerySet], *, cursor: str = "", limit: int | None = None) -> HistoryPage:
    """One keyset page, newest first, of the history rows in `scope` ({"app.Model": a filtered
    queryset of that model's history}), each with the record it changed from.

    The cost does not grow with the history: one statement pages the rows (the auditors' history
    search's, served by the (id, history_date) and (customer_id, history_date) indexes), then per
    kind on the page one loads the records with the id of each one's predecessor (an indexed
    look-up per row) and one loads the predecessors not already on the page.
    """
    rows, next_cursor = page(scope, cursor=cursor, limit=limit or PAGE_SIZE)
    kinds = tracked_kinds()
    ids_by_kind: dict[str, list[int]] = {}
    for row in rows:
        ids_by_kind.setdefault(row.kind, []).append(row.history_id)
    loaded: dict[tuple[str, int], models.Model] = {}
    previous: dict[tuple[str, int], models.Model | None] = {}
    for kind, ids in ids_by_kind.items():
        model = kinds[kind]
        before = (
            model.objects.filter(id=OuterRef("id"))
            .filter(
                Q(history_date__lt=OuterRef("history_date"))
                | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
            )
            .order_by("-history_date", "-history_id")
            .values("history_id")[:1]
        )
        records = model.objects.filter(history_id__in=ids).select_related("history_user")
        records = list(records.annotate(previous_history_id=Subquery(before)))
        loaded |= {(kind, r.history_id): r for r in records}
        wanted = {r.previous_history_id for r in records if r.previous_history_id and r.history_type != "+"}
        missing = [hid for hid in wanted if (kind, hid) not in loaded]
        found = {(kind, r.history_id): r for r in model.objects.filter(history_id__in=missing)} if missing else {}
        for r in records:
            if r.previous_history_id and r.history_type != "+":
                key = (kind, r.previous_history_id)
                previous[(kind, r.history_id)] = loaded.get(key) or found.get(key)
    found_rows = [
        TimelineRow(loaded[(row.kind, row.history_id)], previous.get((row.kind, row.history_id)), row.kind)
        for row in rows
    ]
    return HistoryPage(rows=found_rows, next_cursor=next_cursor)


def changed_fields_page(
    scope: dict[str, QuerySet], *, fields: list[str], cursor: str = ""
) -> tuple[list[dict], str | None]:
    """The timeline of a record's own page (a case, a complaint): a keyset page, newest first, of
    the history rows in `scope`, each as {"record": the history row, "changes": which of `fields`
    it changed (none for the first version), "first": whether it is the first version}, and the
    next (older) page's cursor."""
    result = history_page(scope, cursor=cursor)
    rows = [
        {"record": row.record, "changes": [c.field for c in row.changes(fields)], "first": row.first}
        for row in result.rows
    ]
    return rows, result.next_cursor


def timeline_page(
    scope: dict[str, QuerySet],
    *,
    cursor: str = "",
    exclude: set[str] | None = None,
    record_label: Callable[[models.Model], str] | None = None,
    limit: int | None = None,
) -> tuple[list[HistoryEntry], str | None]:
    """A keyset page of readable entries, newest first, and the cursor of the next (older) page."""
    exclude = (exclude or set()) | HIDDEN_FIELDS
    result = history_page(scope, cursor=cursor, limit=limit)
    entries = [_entry(row, exclude, record_label(row.record) if record_label else "") for row in result.rows]
    return entries, result.next_cursor
