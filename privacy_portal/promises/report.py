"""The promise report: every check of the register over a period, as a page, JSON and PDF; the
SHA-256 of each report handed out recorded in the access log's chain, and its verification."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.db import transaction
from django.utils import timezone

from privacy_portal.audit import access_entry, entry_hash
from privacy_portal.charts import Column, MonthlyColumns, monthly_columns
from privacy_portal.models import AccessEvent

from .base import BROKEN, KEPT, NOT_MEASURABLE, Check, Measurement, Outcome, Period, record_label
from .register import REGISTER

STATUS_LABELS = {KEPT: "Kept", BROKEN: "Broken", NOT_MEASURABLE: "Not measurable"}
FORMATS = ("pdf", "json")


@dataclass
class TrendMonth(Column):
    month: datetime.date
    broken: int

    @property
    def label(self) -> str:
        return f"{self.month:%b %y}"


@dataclass
class Report:
    period: Period
    today: datetime.date
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def broken(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == BROKEN]

    @property
    def kept(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == KEPT]

    @property
    def not_measurable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == NOT_MEASURABLE]

    def outcome(self, key: str) -> Outcome:
        return next(o for o in self.outcomes if o.check.key == key)

    def trend(self) -> MonthlyColumns[TrendMonth]:
        """Broken promises of every check, month by month, as vertical bars (the month with the
        most reaches the top)."""
        totals: dict[datetime.date, int] = {}
        for o in self.outcomes:
            for month, n in o.trend:
                totals[month] = totals.get(month, 0) + n
        months = [TrendMonth(m, totals.get(m, 0)) for m in self.period.months()]
        top = max((m.broken for m in months), default=0) or 1
        return monthly_columns(months, [m.broken for m in months], top_value=top)


def check_outcome(check: Check, period: Period, today: datetime.date) -> Outcome:
    """Run one check over the period."""
    if check.measure is None:
        return Outcome(check, NOT_MEASURABLE, Measurement(), [])
    measurement = check.measure(period, today)
    if measurement.why_not:
        return Outcome(check, NOT_MEASURABLE, measurement, [])
    trend = [(m, measurement.by_month.get(m, 0)) for m in period.months()]
    return Outcome(check, BROKEN if measurement.broken else KEPT, measurement, trend)


def promise_report(period: Period, *, today: datetime.date | None = None, checks=REGISTER) -> Report:
    """Every check of the register over `period`, read from the records the portal keeps."""
    today = today or timezone.localdate()
    report = Report(period, today)
    # One snapshot for every check, so their figures agree with each other.
    with transaction.atomic():
        report.outcomes = [check_outcome(check, period, today) for check in checks]
    return report


def report_data(report: Report, *, generated_at: datetime.datetime, generated_by) -> dict:
    """The report as plain data (what the JSON holds and the PDF prints): ids, references and
    counts, never a personal value."""
    return {
        "report": "Promise report",
        "period": {
            "kind": report.period.kind,
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "generated_by": {"id": generated_by.pk, "username": generated_by.username, "role": generated_by.role},
        "summary": {
            "checks": len(report.outcomes),
            "kept": len(report.kept),
            "broken": len(report.broken),
            "not_measurable": len(report.not_measurable),
        },
        "checks": [
            {
                "key": o.check.key,
                "title": o.check.title,
                "notice": o.check.notice,
                "provision": o.check.provision,
                "measured": o.check.measured,
                "mechanism": o.check.mechanism,
                "status": o.status,
                "broken": o.broken,
                "not_measurable": o.why_not,
                "counts": [{"label": label, "count": n} for label, n in o.measurement.counts],
                "trend": [{"month": f"{m:%Y-%m}", "broken": n} for m, n in o.trend],
                "exceptions": [e.as_dict() for e in o.measurement.exceptions],
                "exceptions_not_listed": o.more,
            }
            for o in report.outcomes
        ],
    }


def report_json(data: dict) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode()


def report_pdf(data: dict) -> bytes:
    """The report as PDF (reportlab): the same content as the JSON, laid out for reading."""
    # reportlab takes ~0.1 s to import and only this download needs it: imported on that path.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Promise report {data['period']['label']}", author="Privacy Portal",
        leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm, bottomMargin=16 * mm, invariant=True,
    )  # fmt: skip
    by = data["generated_by"]
    story = [
        Paragraph(f"Promise report: {escape(data['period']['label'])}", styles["Title"]),
        Paragraph(
            f"Period {data['period']['start']} to {data['period']['end']}. Generated {data['generated_at']} by "
            f"{escape(by['username'])} ({escape(by['role'])}).",
            styles["BodyText"],
        ),
        Paragraph(
            f"{data['summary']['checks']} checks: {data['summary']['kept']} kept, {data['summary']['broken']} broken, "
            f"{data['summary']['not_measurable']} not measurable. Each exception names a record by its id and "
            "reference; the report holds no personal value. Its SHA-256 is recorded in the access log's chain.",
            styles["BodyText"],
        ),
    ]
    for check in data["checks"]:
        status = STATUS_LABELS[check["status"]]
        if check["status"] == BROKEN:
            status = f"Broken {check['broken']} time{'s' if check['broken'] != 1 else ''}"
        story += [Spacer(1, 4 * mm), Paragraph(f"{escape(check['title'])}: {status}", styles["Heading3"])]
        if check["notice"]:
            story.append(Paragraph(f"Notice: “{escape(check['notice'])}”", small))
        if check["provision"]:
            story.append(Paragraph(f"Provision: {escape(check['provision'])}", small))
        story.append(Paragraph(f"Measured: {escape(check['measured'])}", small))
        story.append(Paragraph(f"Kept by: {escape(check['mechanism'])}", small))
        if check["status"] == NOT_MEASURABLE:
            story.append(Paragraph(f"Not measurable: {escape(check['not_measurable'])}", small))
            continue
        counts = "; ".join(f"{escape(c['label'])}: {c['count']}" for c in check["counts"])
        story.append(Paragraph(f"Figures: {counts}", small))
        if check["exceptions"]:
            rows = [["Day", "Record", "Reference", "Note"]] + [
                [e["day"], record_label(e["record"], e["id"]), Paragraph(escape(e["reference"]), small),
                 Paragraph(escape(e["note"]), small)]
                for e in check["exceptions"]
            ]  # fmt: skip
            table = Table(rows, colWidths=[22 * mm, 50 * mm, 50 * mm, 56 * mm], repeatRows=1)
            table.setStyle(TableStyle([
                ("FONTSIZE", (0, 0), (-1, -1), 7),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaeef2")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))  # fmt: skip
            story.append(table)
            if check["exceptions_not_listed"]:
                story.append(Paragraph(f"… and {check['exceptions_not_listed']} more (see the page).", small))
    doc.build(story)
    return buffer.getvalue()


# Larger than any report the portal makes: a file above it is refused unread by "verify a report".
REPORT_MAX_BYTES = 20 * 1024 * 1024
ERR_REPORT_TOO_BIG = "The file is larger than any report the portal makes."


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def report_record(*, actor, content: bytes, fmt: str, period: Period) -> AccessEvent:
    """A chained access-log entry recording the SHA-256 of a report handed out (ids only)."""
    return access_entry(
        user=actor,
        action=AccessEvent.Action.PROMISE_REPORT,
        object_type="promise_report",
        details={"sha256": sha256(content), "format": fmt, "period": period.slug},
    )


@dataclass
class Verification:
    digest: str
    entry: AccessEvent | None

    @property
    def matches(self) -> bool:
        return self.entry is not None

    @property
    def chained(self) -> bool:
        return self.entry is not None and self.entry.hash is not None

    @property
    def entry_intact(self) -> bool:
        """The entry's own hash still matches its content (the nightly run checks the whole chain)."""
        e = self.entry
        return (
            e is not None
            and e.hash is not None
            and e.prev_hash is not None
            and entry_hash(e.prev_hash, e.content()) == e.hash
        )


def report_verify(digest: str) -> Verification:
    """Whether a SHA-256 is that of a report the portal handed out (the first such entry)."""
    entry = (
        AccessEvent.objects.filter(action=AccessEvent.Action.PROMISE_REPORT, details__sha256=digest)
        .select_related("user")
        .order_by("at", "pk")
        .first()
    )
    return Verification(digest, entry)
