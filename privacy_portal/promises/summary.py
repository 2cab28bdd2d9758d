"""The current quarter's promise summary for the DPO's dashboard, computed by an hourly job and
stored as its JobRun (check keys, statuses and counts: no personal value, no record id).

A year's report takes seconds at a million customers (bench/RESULTS.md), so the dashboard never
builds one: it reads the latest summary of the quarter (one statement) and says when it was made.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from privacy_portal.models import JobRun

from .base import BROKEN, KEPT, NOT_MEASURABLE, Period
from .register import BY_KEY
from .report import promise_report

JOB_NAME = "promise_summary"


def summarise_quarter(today: datetime.date | None = None) -> dict:
    """The job's work: the quarter of `today`, every check's status and broken count."""
    today = today or timezone.localdate()
    period = Period.quarter_of(today)
    report = promise_report(period, today=today)
    return {
        "period": period.slug,
        "checks": [{"key": o.check.key, "status": o.status, "broken": o.broken} for o in report.outcomes],
    }


@dataclass
class SummaryLine:
    key: str
    title: str
    status: str
    broken: int


@dataclass
class QuarterSummary:
    period: Period
    as_of: datetime.datetime | None
    lines: list[SummaryLine]

    @property
    def computed(self) -> bool:
        return self.as_of is not None

    @property
    def broken(self) -> list[SummaryLine]:
        return [line for line in self.lines if line.status == BROKEN]

    @property
    def kept(self) -> list[SummaryLine]:
        return [line for line in self.lines if line.status == KEPT]

    @property
    def not_measurable(self) -> list[SummaryLine]:
        return [line for line in self.lines if line.status == NOT_MEASURABLE]


def quarter_summary(today: datetime.date | None = None) -> QuarterSummary:
    """The latest stored summary of the quarter of `today` (one statement); not computed when the
    job has not run since the quarter began."""
    period = Period.quarter_of(today or timezone.localdate())
    run = (
        JobRun.objects.filter(name=JOB_NAME, outcome=JobRun.Outcome.OK, detail__period=period.slug)
        .exclude(finished_at=None)
        .order_by("-started_at")
        .only("started_at", "detail")
        .first()
    )
    if run is None:
        return QuarterSummary(period, None, [])
    lines = [
        SummaryLine(c["key"], BY_KEY[c["key"]].title, c["status"], c["broken"])
        for c in run.detail.get("checks", [])
        if c.get("key") in BY_KEY  # a check since removed from the register is not shown
    ]
    # As of its start: the report read the records in one snapshot taken after it.
    return QuarterSummary(period, run.started_at, lines)
