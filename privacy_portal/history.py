"""Readable change history: who changed which field from what to what, when and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models

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


KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def _label(model: type[models.Model], name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()
    except Exception:
        return name.replace("_", " ").capitalize()


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
        model = record.instance_type
        previous = previous_by_object.get(record.id)
        changes: list[FieldChange] = []
        if previous is not None:
            delta = record.diff_against(previous)
            changes = [
                FieldChange(c.field, _label(model, c.field), _display(c.old), _display(c.new))
                for c in delta.changes
                if c.field not in exclude
            ]
        previous_by_object[record.id] = record
        user = record.history_user
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.get_full_name() or user.username) if user else "the system",
                who_id=user.pk if user else None,
                kind=KINDS.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                changes=changes,
                record_label=record_label,
            )
        )
    return entries
