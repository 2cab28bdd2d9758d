from __future__ import annotations

from django import template

from customers.services.normalise import format_phone

register = template.Library()


@register.filter
def uk_phone(e164: str) -> str:
    """+447911123456 -> 07911 123456 (international numbers in international format)."""
    return format_phone(e164)
