"""Template helpers for the breach pages."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def uk_moment(value) -> str:
    """A moment in UK time with its zone, e.g. 'Sunday 25 October 2026, 01:15 BST': Django's
    date filter leaves the zone out exactly when it matters, in the hour the clocks go back."""
    if not value:
        return ""
    return f"{timezone.localtime(value):%A %-d %B %Y, %H:%M %Z}"
