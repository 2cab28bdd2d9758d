"""Reads of the disclosure log: the Art 19 list, keyset-paged lists, history, monthly counts.

Every list here is served by one of Disclosure's two indexes, (customer, -disclosed_at, -id)
and (recipient, -disclosed_at, -id), so it stays fast with millions of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..models import Customer, DataCategory, Disclosure, Recipient
from ..services.customers import CONTACT_FIELDS
from ..subject import subject_records

PAGE_SIZE = 50
CHART_MONTHS = 12


# --- Art 19: who has this customer's data -------------------------------------------------------


@dataclass
class RecipientDisclosures:
    """Everything disclosed to one recipient about one customer: whom to tell, since when, what."""

    recipient: Recipient
    first_at: datetime.datetime
    last_at: datetime.datetime
    count: int = 0
    data_categories: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    @property
    def data_category_labels(self) -> list[str]:
        return [DataCategory(c).label for c in self.data_categories]


def subject_recipients(graph) -> list[RecipientDisclosures]:
    """Every recipient of the person's data in the subject graph (customers.subject), for
    Art 19: the disclosures of the graph, whoever recorded them."""
    return _recipients(graph.rows(Disclosure))


def art19_recipients(customer: Customer | int) -> list[RecipientDisclosures]:
    """Every recipient the customer's data was disclosed to (UK GDPR Art 19): when (first and last),
    how often, which categories of data, under which of their references. Most recent first.

    Two queries whatever the size of the log: the customer's rows through the
    (customer, -disclosed_at, -id) index, then the recipients.
    """
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    return subject_recipients(subject_records(customer, candidates=False))


def _recipients(disclosures) -> list[RecipientDisclosures]:
    rows = disclosures.order_by("-disclosed_at", "-id").values_list(
        "recipient_id", "disclosed_at", "data_categories", "recipient_reference"
    )
    by_recipient: dict[int, RecipientDisclosures] = {}
    categories: dict[int, set[str]] = {}
    for recipient_id, disclosed_at, data_categories, reference in rows:
        entry = by_recipient.get(recipient_id)
        if entry is None:
            # The recipient is filled in below, all in one query.
            entry = by_recipient[recipient_id] = RecipientDisclosures(None, disclosed_at, disclosed_at)  # type: ignore[arg-type]
            categories[recipient_id] = set()
        entry.count += 1
        entry.first_at = disclosed_at
        categories[recipient_id].update(data_categories)
        if reference:
            entry.references.append(reference)
    recipients = Recipient.objects.in_bulk(list(by_recipient))
    for recipient_id, entry in by_recipient.items():
        entry.recipient = recipients[recipient_id]
        entry.data_categories = [c for c in DataCategory.values if c in categories[recipient_id]]
    return list(by_recipient.values())


# --- Keyset-paged lists -------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosurePage:
    rows: list[Disclosure]
    # The id of the last row shown when there is a next page (the next page's `after`).
    next_after: int | None


def _keyset_page(qs: QuerySet[Disclosure], after: int | None, limit: int) -> DisclosurePage:
    """Newest first, by (disclosed_at, id) below the row `after`; never an OFFSET or a COUNT."""
    if after is not None:
        last = qs.filter(pk=after).values_list("disclosed_at", flat=True).first()
        if last is None:
            return DisclosurePage([], None)
        # "(disclosed_at, id) < (last, after)", written so the index range is disclosed_at <= last.
        qs = qs.filter(disclosed_at__lte=last).exclude(disclosed_at=last, pk__gte=after)
    rows = list(qs.order_by("-disclosed_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return DisclosurePage(rows, rows[-1].pk if more else None)


def customer_disclosures(customer: Customer, *, after: int | None = None, limit: int = PAGE_SIZE) -> DisclosurePage:
    qs = Disclosure.objects.filter(customer=customer).select_related("recipient", "recorded_by", "overridden_by")
    return _keyset_page(qs, after, limit)


def recipient_disclosures(recipient: Recipient, *, after: int | None = None, limit: int = PAGE_SIZE) -> DisclosurePage:
    qs = Disclosure.objects.filter(recipient=recipient).select_related("customer", "recorded_by")
    qs = qs.defer(*(f"customer__{f}" for f in _CUSTOMER_FIELDS_NOT_SHOWN))
    return _keyset_page(qs, after, limit)


# The recipient's page shows customers by reference only: load none of their contact details
# (the fields the contact form edits) nor the name index built from them.
_CUSTOMER_FIELDS_NOT_SHOWN = (*CONTACT_FIELDS, "search_name")


def customer_disclosure_history(customer: Customer) -> QuerySet:
    """Every history row of the customer's disclosures (recorded, changed, deleted), newest first:
    who did it, when, and why, including the DPO's overrides of a restriction."""
    return (
        Disclosure.history.filter(customer_id=customer.pk)
        .select_related("history_user", "recipient", "overridden_by")
        .order_by("-history_date", "-history_id")
    )


# --- Counts by recipient and month (the DPO's chart) --------------------------------------------


@dataclass(frozen=True)
class Segment:
    recipient: str
    colour: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class MonthBar:
    label: str
    year_label: str  # under the first month and each January
    total: int
    x: float
    label_x: float
    total_y: float
    segments: list[Segment]


@dataclass(frozen=True)
class DisclosureChart:
    """A stacked bar per month (one colour per recipient), drawn as SVG by the template."""

    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    max_value: int
    months: list[MonthBar]
    legend: list[tuple[str, str]]  # (recipient, colour)
    table: list[tuple[str, list[int]]]  # (recipient, count per month) for the accessible table
    month_labels: list[str]
    total: int
    counted_at: datetime.datetime

    @property
    def value_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def month_label_y(self) -> float:
        return self.plot_bottom + 16

    @property
    def year_label_y(self) -> float:
        return self.plot_bottom + 30

    @property
    def gridlines(self) -> list[tuple[float, int]]:
        """(y, value) for 0, half and the top of the scale."""
        span = self.plot_bottom - self.plot_top
        fractions = (0, 0.5, 1) if self.max_value >= 2 else (0, 1)
        return [(round(self.plot_bottom - span * f, 1), round(self.max_value * f)) for f in fractions]


# Colour-blind-safe palette (Okabe-Ito, then Tol's muted), readable on white.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#332288",
    "#117733",
    "#882255",
    "#999933",
    "#44aa99",
    "#aa4499",
)


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def monthly_counts(*, months: int = CHART_MONTHS, today: datetime.date | None = None):
    """Disclosures per (recipient id, first day of month) over the last `months` months,
    this one included, in the company's time zone."""
    today = today or timezone.localdate()
    first = today.replace(day=1) - relativedelta(months=months - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        Disclosure.objects.filter(disclosed_at__gte=start)
        .annotate(month=TruncMonth("disclosed_at"))
        .values_list("recipient_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    )
    month_starts = [first + relativedelta(months=i) for i in range(months)]
    counts: dict[tuple[int, datetime.date], int] = {}
    for recipient_id, month, n in rows:
        day = month.date() if isinstance(month, datetime.datetime) else month
        counts[(recipient_id, day)] = n
    return month_starts, counts


# Counting a year of a busy log takes most of a second (bench/RESULTS.md), too slow for every
# view of the DPO's home page: the counts are kept in the cache for a few minutes, and forgotten
# as soon as this process records a disclosure (other processes catch up within the same time).
CHART_CACHE_KEY = "customers:disclosure-monthly-counts"
CHART_CACHE_SECONDS = 300


def cached_monthly_counts(*, months: int = CHART_MONTHS, today: datetime.date | None = None):
    """monthly_counts(), from the cache when counted in the last CHART_CACHE_SECONDS, with the time
    they were counted."""
    today = today or timezone.localdate()
    cached = cache.get(CHART_CACHE_KEY)
    if cached is not None and cached[0] == (months, today):
        return cached[1], cached[2], cached[3]
    month_starts, counts = monthly_counts(months=months, today=today)
    counted_at = timezone.now()
    cache.set(CHART_CACHE_KEY, ((months, today), month_starts, counts, counted_at), CHART_CACHE_SECONDS)
    return month_starts, counts, counted_at


def forget_monthly_counts() -> None:
    """Called once a disclosure is committed, so the chart counts it on the next view."""
    cache.delete(CHART_CACHE_KEY)


def disclosure_chart(*, months: int = CHART_MONTHS, today: datetime.date | None = None) -> DisclosureChart:
    """The numbers of disclosures by recipient and month, laid out for a small SVG chart."""
    month_starts, counts, counted_at = cached_monthly_counts(months=months, today=today)
    recipient_ids = sorted({r for r, _ in counts})
    names = dict(Recipient.objects.filter(pk__in=recipient_ids).values_list("pk", "name"))
    order = sorted(recipient_ids, key=lambda pk: names.get(pk, ""))
    colours = {pk: PALETTE[i % len(PALETTE)] for i, pk in enumerate(order)}
    totals = [sum(counts.get((r, m), 0) for r in order) for m in month_starts]
    max_value = _nice_ceiling(max(totals, default=0))

    width, height = 880, 280
    left, right, top, bottom = 48.0, width - 12.0, 16.0, height - 44.0
    slot = (right - left) / len(month_starts)
    bar_width = slot * 0.64
    scale = (bottom - top) / max_value
    bars = []
    for i, month in enumerate(month_starts):
        x = left + i * slot + (slot - bar_width) / 2
        y = bottom
        segments = []
        for pk in order:
            n = counts.get((pk, month), 0)
            if not n:
                continue
            h = n * scale
            y -= h
            segments.append(
                Segment(names.get(pk, ""), colours[pk], n, round(x, 1), round(y, 1), round(bar_width, 1), round(h, 1))
            )
        bars.append(
            MonthBar(
                label=f"{month:%b}",
                year_label=f"{month:%Y}" if i == 0 or month.month == 1 else "",
                total=totals[i],
                x=round(x, 1),
                label_x=round(x + bar_width / 2, 1),
                total_y=round(y - 4, 1),
                segments=segments,
            )
        )
    return DisclosureChart(
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        max_value=max_value,
        months=bars,
        legend=[(names.get(pk, ""), colours[pk]) for pk in order],
        table=[(names.get(pk, ""), [counts.get((pk, m), 0) for m in month_starts]) for pk in order],
        month_labels=[f"{m:%b %Y}" for m in month_starts],
        total=sum(totals),
        counted_at=counted_at,
    )
