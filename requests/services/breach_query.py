"""Linking the customers affected by a breach from a query: those whose data was
disclosed to a recipient (the logistics partner that misdelivered), whose calls were recorded
(and sent to the transcription provider), who wrote or were written to by a channel, or who
bought something, in a date range. The DPO previews the count, then links them all at once.

The query is one SQL statement (EXISTS over the indexed table of the source); the link writes
the rows and their history set-based (requests.services.breaches.affected_link), tested at 100,000
customers in bench/breach_bench.py. Erased customers are left out (there is no one to tell);
customers already linked are counted, not linked twice. The link names the query in the
history of every row it writes and of the breach.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from customers.models import Call, Correspondence, Customer, Disclosure, Purchase, Recipient
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Breach, BreachAffected
from . import breaches as svc
from .locking import lock_row
from .workflow import require_breach_manager

SOURCES = {
    "disclosure": "Disclosed to a recipient",
    "call": "Recorded calls",
    "correspondence": "Correspondence",
    "purchase": "Purchases",
}

ERR_SOURCE = "Choose what the affected customers have in common."
ERR_RECIPIENT = "Choose the recipient the data was disclosed to."
ERR_DATES = "The end date cannot be before the start date."
ERR_NONE_MATCH = "No customer matches this query (or every one is already linked or erased)."
ERR_CHANGED = (
    "The query now matches {now:,} customers to link, not the {expected:,} previewed: nothing was linked. "
    "Check the preview again."
)


@dataclass(frozen=True)
class AffectedQuery:
    """Who was affected: the customers with a record of `source` matching the other fields."""

    source: str
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    recipient: Recipient | None = None  # disclosure
    transcribed: bool = False  # call: only those sent to the transcription provider
    medium: str = ""  # correspondence
    payment_method: str = ""  # purchase
    description: str = ""  # purchase: the description contains

    def validate(self) -> None:
        errors: dict[str, str] = {}
        if self.source not in SOURCES:
            errors["source"] = ERR_SOURCE
        elif self.source == "disclosure" and self.recipient is None:
            errors["recipient"] = ERR_RECIPIENT
        if self.date_from and self.date_to and self.date_to < self.date_from:
            errors["date_to"] = ERR_DATES
        if self.medium and self.medium not in Correspondence.Medium.values:
            errors["medium"] = "Choose a channel."
        if self.payment_method and self.payment_method not in Purchase.PaymentMethod.values:
            errors["payment_method"] = "Choose a payment method."
        if errors:
            raise ValidationError(errors)

    def describe(self) -> str:
        """The query in words, for the history (no customer's data: names of recipients, channels)."""
        if self.source == "disclosure":
            text = f"data disclosed to {self.recipient.name if self.recipient else '?'}"
        elif self.source == "call":
            text = "calls recorded" + (" and sent for transcription" if self.transcribed else "")
        elif self.source == "correspondence":
            medium = Correspondence.Medium(self.medium).label.lower() if self.medium else "any channel"
            text = f"correspondence by {medium}"
        else:
            text = "purchases"
            if self.payment_method:
                text += f" paid by {Purchase.PaymentMethod(self.payment_method).label.lower()}"
            if self.description:
                text += f" of “{self.description}”"
        if self.date_from and self.date_to:
            text += f" from {self.date_from:%-d %b %Y} to {self.date_to:%-d %b %Y}"
        elif self.date_from:
            text += f" from {self.date_from:%-d %b %Y}"
        elif self.date_to:
            text += f" up to {self.date_to:%-d %b %Y}"
        return text[0].upper() + text[1:]

    def _range(self, name: str, *, dates: bool = False) -> Q:
        """The date range as a filter on `name`: whole UK days, so 'to 30 Nov' includes 30 Nov."""
        q = Q()
        if dates:
            if self.date_from:
                q &= Q(**{f"{name}__gte": self.date_from})
            if self.date_to:
                q &= Q(**{f"{name}__lte": self.date_to})
            return q
        if self.date_from:
            q &= Q(**{f"{name}__gte": _start_of(self.date_from)})
        if self.date_to:
            q &= Q(**{f"{name}__lt": _start_of(self.date_to + datetime.timedelta(days=1))})
        return q

    def records(self) -> QuerySet:
        """The source's records matching the query, correlated to the customer (for EXISTS)."""
        if self.source == "disclosure":
            return Disclosure.objects.filter(self._range("disclosed_at"), recipient=self.recipient)
        if self.source == "call":
            calls = Call.objects.filter(self._range("started_at"))
            return calls.exclude(transcript_provider="") if self.transcribed else calls
        if self.source == "correspondence":
            letters = Correspondence.objects.filter(self._range("occurred_at"))
            return letters.filter(medium=self.medium) if self.medium else letters
        purchases = Purchase.objects.filter(self._range("ordered_on", dates=True))
        if self.payment_method:
            purchases = purchases.filter(payment_method=self.payment_method)
        if self.description:
            purchases = purchases.filter(description__icontains=self.description)
        return purchases

    def customers(self) -> QuerySet[Customer]:
        """Every customer (erased or not) with at least one matching record."""
        return Customer.objects.filter(Exists(self.records().filter(customer_id=OuterRef("pk"))))


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def breach_query_preview(*, breach: Breach, query: AffectedQuery) -> dict[str, int]:
    """How many customers the query matches: to link, already linked, erased (left out). One query."""
    query.validate()
    linked = BreachAffected.objects.filter(breach=breach, customer_id=OuterRef("pk"))
    counts = query.customers().aggregate(
        matches=Count("pk"),
        erased=Count("pk", filter=Q(erased_at__isnull=False)),
        already=Count("pk", filter=Q(Exists(linked))),
        to_link=Count("pk", filter=Q(erased_at__isnull=True) & ~Q(Exists(linked))),
    )
    return counts


@transaction.atomic
def breach_link_query(*, actor: User, breach: Breach, query: AffectedQuery, expected: int) -> int:
    """Link every live customer the query matches that is not linked yet, all or nothing: if the
    count differs from the `expected` one the DPO previewed, nothing is linked. The history of each
    row, and of the breach, names the query."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # one link at a time per breach: the count below stays true
    query.validate()
    linked = BreachAffected.objects.filter(breach=breach, customer_id=OuterRef("pk"))
    ids = list(
        query.customers()
        .filter(erased_at__isnull=True)
        .exclude(Exists(linked))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ValidationError(ERR_NONE_MATCH)
    if len(ids) != expected:
        raise ValidationError(ERR_CHANGED.format(now=len(ids), expected=expected))
    description = query.describe()
    svc.affected_link(actor, breach, ids, reason=f"Linked from a query: {description}")
    save_tracked(breach, actor=actor, reason=f"Linked {len(ids):,} affected customers from a query: {description}")
    return len(ids)
