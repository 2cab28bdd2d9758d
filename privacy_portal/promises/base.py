"""The promise register's building blocks: a period, a check, what a check measured, and the
helpers that measure a queryset in a fixed number of statements.

A check never copies data: it reads the rows the portal already keeps (opt-outs, cases,
complaints, the access log, the job runs) with the same selectors the pages use. What it
returns holds counts and record ids and references only, never a personal value.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DateField, F, QuerySet
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from privacy_portal.history_labels import record_kind

KEPT = "kept"
BROKEN = "broken"
NOT_MEASURABLE = "not_measurable"

# Exceptions listed per check (the counts and the trend always cover all of them); the rest are
# one click away on the page each exception links to.
EXCEPTIONS_LISTED = 200


@dataclass(frozen=True)
class Period:
    """A closed range of days [start, end], as the DPO chose it (a month, quarter, year or custom)."""

    start: datetime.date
    end: datetime.date
    kind: str = "custom"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = datetime.date(year, month, 1)
        return cls(start, start + relativedelta(months=1, days=-1), "month")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        start = datetime.date(year, 3 * (quarter - 1) + 1, 1)
        return cls(start, start + relativedelta(months=3, days=-1), "quarter")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31), "year")

    @classmethod
    def quarter_of(cls, day: datetime.date, back: int = 0) -> Period:
        index = (day.year * 4 + (day.month - 1) // 3) - back
        return cls.quarter(index // 4, index % 4 + 1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start:%-d %b %Y} to {self.end:%-d %b %Y}"

    @property
    def slug(self) -> str:
        """How the period is written in a URL and in the report's JSON."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def start_at(self) -> datetime.datetime:
        """The first instant of the period, in UK time."""
        return timezone.make_aware(datetime.datetime.combine(self.start, datetime.time.min))

    def end_before(self) -> datetime.datetime:
        """The first instant after the period, in UK time."""
        return timezone.make_aware(datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min))

    def months(self) -> list[datetime.date]:
        first, months = self.start.replace(day=1), []
        while first <= self.end:
            months.append(first)
            first += relativedelta(months=1)
        return months

    def days_until(self, today: datetime.date) -> list[datetime.date]:
        """The days of the period that are over (today's nightly run may not have happened yet)."""
        last = min(self.end, today - datetime.timedelta(days=1))
        return [self.start + datetime.timedelta(days=n) for n in range((last - self.start).days + 1)]


def record_label(kind: str, id: int | None) -> str:
    """A record in words with its id ("case #26"), never the model's label ("requests.Case")."""
    return f"{kind} #{id}" if id else kind


@dataclass(frozen=True)
class PromiseException:
    """One broken promise: the record that shows it, by model, id and reference, and a link to
    it (the linked page decides who may open it). Never a personal value."""

    model: str
    id: int | None
    reference: str
    day: datetime.date
    note: str = ""
    url: str = ""
    # The customer the record is about (ids only), for the access log of who was shown what.
    customer_id: int | None = None

    @property
    def record(self) -> str:
        """The record in words with its id ("case #26"): how the page, the PDF and the JSON name it."""
        return record_label(self.kind, self.id)

    @property
    def kind(self) -> str:
        """What the record is, in words ("case", "preference change"), for a reader of the page."""
        try:
            return record_kind(self.model)
        except (LookupError, ValueError):
            return self.model

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "record": self.kind,
            "id": self.id,
            "reference": self.reference,
            "day": self.day.isoformat(),
            "note": self.note,
            "url": self.url,
        }


@dataclass
class Measurement:
    """What one check found in a period: counts (label, number), how many times it was broken,
    the first exceptions, and the broken count per month."""

    counts: list[tuple[str, int]] = field(default_factory=list)
    broken: int = 0
    exceptions: list[PromiseException] = field(default_factory=list)
    by_month: dict[datetime.date, int] = field(default_factory=dict)
    # Set when the records to measure with do not exist (yet): the check is then "not measurable".
    why_not: str = ""

    def add(self, other: Measurement) -> Measurement:
        self.counts += other.counts
        self.broken += other.broken
        self.exceptions += other.exceptions
        for month, n in other.by_month.items():
            self.by_month[month] = self.by_month.get(month, 0) + n
        return self


@dataclass(frozen=True)
class Check:
    """One promise or duty, as a named check.

    `notice` is a sentence quoted exactly from the privacy notice (a test holds it to the text);
    `provision` the law or policy it comes from. `measure(period, today)` computes it; a check
    whose data is not held yet has `measure=None` and says why in `not_measurable`, so it
    becomes measurable by adding one function when its feature lands.
    """

    key: str
    title: str
    measured: str
    mechanism: str
    notice: str = ""
    provision: str = ""
    measure: Callable[[Period, datetime.date], Measurement] | None = None
    not_measurable: str = ""


@dataclass
class Outcome:
    check: Check
    status: str
    measurement: Measurement
    trend: list[tuple[datetime.date, int]]

    @property
    def broken(self) -> int:
        return self.measurement.broken

    @property
    def why_not(self) -> str:
        """Why it is not measurable: the check's own reason, or what its measurement found missing."""
        return self.check.not_measurable or self.measurement.why_not

    @property
    def more(self) -> int:
        """Exceptions not listed (beyond EXCEPTIONS_LISTED)."""
        return max(self.measurement.broken - len(self.measurement.exceptions), 0)


def measure_queryset(
    broken: QuerySet,
    *,
    day: str,
    model: str,
    fields: Iterable[str],
    reference: Callable[[dict], str],
    url: Callable[[dict], str] = lambda row: "",
    note: Callable[[dict], str] = lambda row: "",
    customer: Callable[[dict], int | None] = lambda row: None,
    label: str,
    population: QuerySet | None = None,
    population_label: str = "",
) -> Measurement:
    """Three statements at most, whatever the number of rows: the population's count, the broken
    rows counted per month, and the first EXCEPTIONS_LISTED of them (ids and references)."""
    trunc = TruncMonth(day, output_field=DateField())
    per_month = {
        row["promise_month"]: row["n"]
        for row in broken.annotate(promise_month=trunc).values("promise_month").annotate(n=Count("pk")).order_by()
    }
    total = sum(per_month.values())
    # Run even when nothing is broken: the same statements whatever the data.
    rows = list(broken.annotate(promise_day=_as_date(broken, day)).order_by(day, "pk").values(
        "pk", "promise_day", *fields)[:EXCEPTIONS_LISTED])  # fmt: skip
    exceptions = [
        PromiseException(model, row["pk"], reference(row), row["promise_day"], note(row), url(row), customer(row))
        for row in rows
    ]
    counts = []
    if population is not None:
        counts.append((population_label, population.count()))
    counts.append((label, total))
    return Measurement(counts=counts, broken=total, exceptions=exceptions, by_month=per_month)


def _as_date(qs: QuerySet, day: str):
    """The exception's day: the date itself, or a timestamp's day in UK time."""
    target, f = qs.model, None
    for part in day.split("__"):
        f = target._meta.get_field(part)
        target = f.related_model or target
    assert f is not None, day  # a lookup has at least one part
    return TruncDate(day) if f.get_internal_type() == "DateTimeField" else F(day)


def missing_days(days_done: set[datetime.date], period: Period, today: datetime.date, *, model: str, what: str,
                 label: str, since: datetime.date | None) -> Measurement:  # fmt: skip
    """The days of the period (those over) on which a daily job left no successful run. Days
    before `since` (the portal's first recorded job run of any kind: its go-live) are not counted;
    with no job run at all the check is not measurable."""
    if since is None:
        return Measurement(why_not="No scheduled job has ever run here (a new installation, or no Celery beat).")
    days = [d for d in period.days_until(today) if d >= since]
    missing = [d for d in days if d not in days_done]
    per_month: dict[datetime.date, int] = {}
    for d in missing:
        per_month[d.replace(day=1)] = per_month.get(d.replace(day=1), 0) + 1
    exceptions = [PromiseException(model, None, f"{what} {d.isoformat()}", d, "no successful run") for d in missing]
    return Measurement(
        counts=[("days in the period (to yesterday, since the first job run)", len(days)), (label, len(missing))],
        broken=len(missing),
        exceptions=exceptions[:EXCEPTIONS_LISTED],
        by_month=per_month,
    )
