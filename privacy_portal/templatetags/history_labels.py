"""History labels on a page: a history row's type in the words of privacy_portal/history_labels.py."""

from __future__ import annotations

from django import template

from privacy_portal.history_labels import history_type_label

register = template.Library()


@register.filter
def history_type(value: str) -> str:
    """ "Created", "Changed" or "Deleted": `{{ row.history_type|history_type }}`."""
    return history_type_label(value, capital=True)
