"""Human references like R-2026-00042: one counter row per prefix and year, locked while used;
and finding the requests and complaints a member of staff names by reference (one answer for a
reference that names nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from privacy_portal.models import User
from privacy_portal.tracked import get_or_create_tracked, save_tracked

from ..models import Case, Complaint, ReferenceCounter

ERR_CASE_UNKNOWN = "No request has the reference {reference}."
ERR_COMPLAINT_UNKNOWN = "No complaint has the reference {reference}."
_UNKNOWN = {Case: ERR_CASE_UNKNOWN, Complaint: ERR_COMPLAINT_UNKNOWN}

R = TypeVar("R", Case, Complaint)


@transaction.atomic
def next_reference(prefix: str, *, actor: User | None, year: int | None = None) -> str:
    """The next reference of `prefix` this year, its counter row locked while used; `actor`
    who is creating the record it names (None: the public door, an import, seeding)."""
    year = year or timezone.localdate().year
    counter, _ = get_or_create_tracked(
        ReferenceCounter.objects.select_for_update(),
        actor=actor,
        reason=f"Counter of {prefix} references for {year} started",
        prefix=prefix,
        year=year,
    )
    counter.last += 1
    reference = f"{prefix}-{year}-{counter.last:05d}"
    save_tracked(counter, actor=actor, reason=f"Reference {reference} issued")
    return reference


def find_by_reference(
    model: type[R], references: Iterable[str], *, hidden: Callable[[R], bool] | None = None
) -> tuple[list[R], str | None]:
    """The requests or complaints (`model`) that `references` name, each once in the order named,
    and the message naming (sorted) every reference that names none, or None. A reference naming
    one that `hidden` says the actor may not know of gets the same answer, so no one learns from
    it that the record exists."""
    references = list(dict.fromkeys(references))
    found = {row.reference: row for row in model.objects.filter(reference__in=references)}
    unknown = sorted(ref for ref in references if ref not in found or (hidden is not None and hidden(found[ref])))
    message = _UNKNOWN[model].format(reference=", ".join(unknown)) if unknown else None
    return [found[ref] for ref in references if ref in found], message
