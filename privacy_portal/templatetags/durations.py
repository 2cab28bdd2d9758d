"""Durations in words ("30 minutes", "1 hour 30 minutes"), never ISO 8601 (PT30M)."""

from __future__ import annotations

import datetime

from django import template

register = template.Library()


def _part(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


@register.filter
def in_words(delta: datetime.timedelta | None) -> str:
    if not delta:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [_part(n, unit) for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts) or "less than a minute"
