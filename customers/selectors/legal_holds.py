"""Reads of the legal holds for the DPO's list: the manual holds (in force or ended), keyset-paged
newest first, and the automatic holds (every open matter concerning a customer), a page at a time.

An automatic hold has no row: it is the open rights request, complaint (with or without an ICO
case) or breach itself, and it ends when the matter closes. So the automatic list is a union of
the three open-matter queries, each with the customer it holds; the page's cost does not grow
with the number of holds (one statement for the rows, one for the count).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Case as When_
from django.db.models import CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.urls import reverse

from privacy_portal import paging
from requests.models import BreachAffected, Case, Complaint

from ..models import Customer, LegalHold

ACTIVE, ENDED, ALL = "active", "ended", "all"
PAGE_SIZE = paging.PAGE_SIZE

# The kinds of automatic hold, as the list names them.
KIND_REQUEST = "Open rights request"
KIND_COMPLAINT = "Open complaint"
KIND_COMPLAINT_ICO = "Open complaint with an ICO case"
KIND_BREACH = "Open breach"
# The same matters once closed (the ended list).
KIND_REQUEST_ENDED = "Rights request"
KIND_COMPLAINT_ENDED = "Complaint"
KIND_COMPLAINT_ICO_ENDED = "Complaint with an ICO case"
KIND_BREACH_ENDED = "Breach"


def _in_force(today: datetime.date) -> Q:
    return Q(released_at__isnull=True, ends_on__gte=today)


def manual_holds(*, state: str, today: datetime.date) -> QuerySet[LegalHold]:
    holds = LegalHold.objects.select_related("customer", "placed_by", "released_by")
    if state == ACTIVE:
        return holds.filter(_in_force(today))
    if state == ENDED:
        return holds.exclude(_in_force(today))
    return holds


def manual_holds_page(*, state: str, today: datetime.date, cursor: str = "") -> tuple[list[LegalHold], str | None]:
    """One page of the DPO's holds, newest placed first, and the next page's cursor (or None).
    Each hold knows whether it is in force today (`active`)."""
    rows, next_cursor = paging.newest_first(
        manual_holds(state=state, today=today), date_field="placed_at", cursor=cursor
    )
    for hold in rows:
        hold.active = hold.in_force(today)  # type: ignore[attr-defined]  # for the template
    return rows, next_cursor


@dataclass(frozen=True)
class AutomaticHold:
    """One open matter holding one customer's records: which matter, since when."""

    kind: str
    reference: str
    matter_id: int
    customer_id: int
    since: datetime.datetime
    # When the matter closed (the ended list only): the hold ended that day.
    ended: datetime.date | None = None

    @property
    def customer_reference(self) -> str:
        return Customer(pk=self.customer_id).reference

    @property
    def url(self) -> str:
        cases, breaches = (KIND_REQUEST, KIND_REQUEST_ENDED), (KIND_BREACH, KIND_BREACH_ENDED)
        name = "requests:case" if self.kind in cases else "requests:breach" if self.kind in breaches else ""
        return reverse(name or "requests:complaint", args=[self.matter_id])


def automatic_holds() -> QuerySet:
    """Every open matter concerning a customer (the automatic holds of legal_holds), newest first."""
    text = CharField()
    cases = Case.objects.filter(status__in=Case.OPEN_STATUSES, customer_id__isnull=False).values_list(
        Value(KIND_REQUEST, output_field=text),
        "reference",
        "pk",
        "customer_id",
        "created_at",
    )
    complaints = (
        Complaint.objects.filter(customer_id__isnull=False)
        .exclude(status=Complaint.Status.CLOSED)
        .values_list(
            When_(
                When(ico_case__isnull=False, then=Value(KIND_COMPLAINT_ICO)),
                default=Value(KIND_COMPLAINT),
                output_field=text,
            ),
            "reference",
            "pk",
            "customer_id",
            "created_at",
        )
    )
    breaches = BreachAffected.objects.filter(breach__closed_at__isnull=True).values_list(
        Value(KIND_BREACH, output_field=text),
        "breach__reference",
        "breach_id",
        "customer_id",
        F("linked_at"),
    )
    return cases.union(complaints, breaches, all=True).order_by("-created_at", "-pk")


def ended_automatic_holds() -> QuerySet:
    """Every closed matter that concerned a customer: an automatic hold that ended when it closed
    (hostile review: it vanished from the list, so "was this person held, until when?" had no
    answer), latest ended first. The three queries of automatic_holds, closed instead of open,
    each with its closing day."""
    text = CharField()
    cases = (
        Case.objects.filter(customer_id__isnull=False)
        .exclude(status__in=Case.OPEN_STATUSES)
        .values_list(
            Value(KIND_REQUEST_ENDED, output_field=text), "reference", "pk", "customer_id", "created_at", "closed_on"
        )
    )
    complaints = Complaint.objects.filter(customer_id__isnull=False, status=Complaint.Status.CLOSED).values_list(
        When_(
            When(ico_case__isnull=False, then=Value(KIND_COMPLAINT_ICO_ENDED)),
            default=Value(KIND_COMPLAINT_ENDED),
            output_field=text,
        ),
        "reference",
        "pk",
        "customer_id",
        "created_at",
        "closed_on",
    )
    breaches = BreachAffected.objects.filter(breach__closed_at__isnull=False).values_list(
        Value(KIND_BREACH_ENDED, output_field=text),
        "breach__reference",
        "breach_id",
        "customer_id",
        F("linked_at"),
        TruncDate("breach__closed_at"),
    )
    return cases.union(complaints, breaches, all=True).order_by(F("closed_on").desc(nulls_last=True), "-pk")


def automatic_holds_page(number, *, ended: bool = False) -> Page:
    """One numbered page of the automatic holds in force, or of those ended (each row an
    AutomaticHold)."""
    page = Paginator(ended_automatic_holds() if ended else automatic_holds(), PAGE_SIZE).get_page(number)
    page.object_list = [AutomaticHold(*row) for row in page.object_list]
    return page
