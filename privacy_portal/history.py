"""Readable change history: who changed which field from what to what, when and why."""

from __future__ import annotations

from collections.abc import Callable
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


def timeline(records, *, exclude: set[str] | None = None, record_label: str = "") -> list[HistoryEntry]:
    """Turn historical records (any order) into entries, oldest first, each with its field changes."""
    exclude = (exclude or set()) | HIDDEN_FIELDS
    rows = sorted(records, key=lambda r: (r.history_date, r.history_id))
    entries: list[HistoryEntry] = []
    previous_by_object: dict[object, object] = {}
    for record in rows:
        entries.append(_entry(record, previous_by_object.get(record.id), exclude, record_label))
        previous_by_object[record.id] = record
    return entries


def _entry(record, previous, exclude: set[str], record_label: str) -> HistoryEntry:
    model = record.instance_type
    changes: list[FieldChange] = []
    if previous is not None:
        delta = record.diff_against(previous)
        changes = [
            FieldChange(c.field, field_label(model, c.field), _display(c.old), _display(c.new))
            for c in delta.changes
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
    """One page of a timeline, newest first: (record, the same object's record before it or None)."""

    pairs: list[tuple[Any, Any]]  # historical records (see history_model)
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
    pairs = [(loaded[(row.kind, row.history_id)], previous.get((row.kind, row.history_id))) for row in rows]
    return HistoryPage(pairs=pairs, next_cursor=next_cursor)


def changed_fields_page(
    scope: dict[str, QuerySet], *, fields: list[str], cursor: str = ""
) -> tuple[list[dict], str | None]:
    """The timeline of a record's own page (a case, a complaint): a keyset page, newest first, of
    the history rows in `scope`, each as {"record": the history row, "changes": which of `fields`
    it changed (none for the first version), "first": whether it is the first version}, and the
    next (older) page's cursor."""
    result = history_page(scope, cursor=cursor)
    rows = []
    for newer, older in result.pairs:
        changes = [] if older is None else [c.field for c in newer.diff_against(older, included_fields=fields).changes]
        rows.append({"record": newer, "changes": changes, "first": older is None})
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
    entries = [
        _entry(record, before, exclude, record_label(record) if record_label else "") for record, before in result.pairs
    ]
    return entries, result.next_cursor
