"""The one map of history labels: what a history row's type, a kind of record and a field's name
read as, in the history views, the timelines, the complaint bundle, the access export and the
promise report. No other module reads a model's or a field's verbose name, or keeps a map of
its own from models to words (`tests/test_one_home_rules.py`)."""

from __future__ import annotations

from django.apps import apps
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


# The word for a kind of record where its model's verbose name does not read right (an
# abbreviation, written in capitals); every other kind reads as its verbose name.
RECORD_KINDS = {
    "customers.InboundSms": "inbound SMS",
    "customers.MpsFile": "MPS file",
    "customers.MpsMatch": "MPS match",
    "customers.TpsFile": "TPS file",
    "requests.IcoDeadline": "ICO deadline",
}


def record_kind(model: type[models.Model] | str, *, capital: bool = False) -> str:
    """What a record of `model` (a model or its label, "customers.Call") is, in words: "call",
    "case note", "ICO case"; with `capital`, its first letter in capitals ("Case note", a
    column or a heading of its own)."""
    model = apps.get_model(model) if isinstance(model, str) else model
    word = RECORD_KINDS.get(model._meta.label) or str(model._meta.verbose_name)
    return word[:1].upper() + word[1:] if capital else word
