"""The one map of history labels: what a history row's type and a field's name read as, in the
history views, the timelines, the complaint bundle and the access export."""

from __future__ import annotations

from django.db import models

# simple-history's history_type: "+" created, "~" changed, "-" deleted.
HISTORY_TYPE_LABELS = {"+": "created", "~": "changed", "-": "deleted"}


def history_type_label(history_type: str, *, capital: bool = False) -> str:
    """ "created", "changed" or "deleted" (capitalised for a column of its own); an unknown
    type as it is."""
    label = HISTORY_TYPE_LABELS.get(history_type, history_type)
    return label.capitalize() if capital else label


def field_label(model: type[models.Model], name: str) -> str:
    """A field's verbose name, capitalised; a name that is no field (a reverse relation has no
    verbose_name) made readable."""
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()  # type: ignore[union-attr]
    except Exception:
        return name.replace("_", " ").capitalize()
