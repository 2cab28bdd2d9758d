"""Human references like R-2026-00042: one counter row per prefix and year, locked while used."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import ReferenceCounter


@transaction.atomic
def next_reference(prefix: str, *, year: int | None = None) -> str:
    year = year or timezone.localdate().year
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(prefix=prefix, year=year)
    counter.last += 1
    counter.save()
    return f"{prefix}-{year}-{counter.last:05d}"
