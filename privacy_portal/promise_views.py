"""The promise report's pages: the report for a period, its PDF and JSON, and "verify a report"."""

from __future__ import annotations

import datetime
import re

from django import forms
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from . import bounds
from .access import requires
from .audit import access_record
from .models import AccessEvent
from .promises.base import Period
from .promises.report import FORMATS, promise_report, report_data, report_json, report_pdf, report_record, report_verify

MSG_MONTH = "Write the month as YYYY-MM, e.g. 2026-11."
MSG_QUARTER = "Write the quarter as YYYY-Qn, e.g. 2026-Q3."
MSG_YEAR = "Give a year between {low} and {high}."
MSG_RANGE = "The end of the period cannot be before its start."
MSG_CUSTOM = "Give the first and the last day of the period."
MSG_HASH = "A SHA-256 is 64 hexadecimal characters."
MSG_VERIFY_NOTHING = "Upload the report file or paste its SHA-256."
REPORT_MAX_BYTES = 20 * 1024 * 1024

KINDS = [("quarter", "Quarter"), ("month", "Month"), ("year", "Year"), ("custom", "Custom")]


class PeriodForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, required=False, label="Period")
    month = forms.CharField(max_length=7, required=False, help_text="YYYY-MM")
    quarter = forms.CharField(max_length=7, required=False, help_text="YYYY-Qn")
    year = bounds.IntegerField(required=False, min_value=1997, max_value=9999)
    start = bounds.DateField(required=False, label="From", help_text="dd/mm/yyyy")
    end = bounds.DateField(required=False, label="To", help_text="dd/mm/yyyy")

    def clean_month(self):
        value = self.cleaned_data["month"].strip()
        if value and not re.fullmatch(r"(199[7-9]|20\d\d)-(0[1-9]|1[0-2])", value):
            raise forms.ValidationError(MSG_MONTH)
        return value

    def clean_quarter(self):
        value = self.cleaned_data["quarter"].strip().upper()
        if value and not re.fullmatch(r"(199[7-9]|20\d\d)-Q[1-4]", value):
            raise forms.ValidationError(MSG_QUARTER)
        return value

    def clean_year(self):
        value = self.cleaned_data["year"]
        high = timezone.localdate().year
        if value is not None and not 1997 <= value <= high:
            raise forms.ValidationError(MSG_YEAR.format(low=1997, high=high))
        return value

    def clean(self):
        data = super().clean()
        if data.get("kind") == "custom" and not self.errors:
            if not (data.get("start") and data.get("end")):
                raise forms.ValidationError(MSG_CUSTOM)
            if data["end"] < data["start"]:
                self.add_error("end", MSG_RANGE)
        return data

    def period(self, today: datetime.date) -> Period:
        """The period asked for; the current quarter when none (or a bad one) was asked."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        kind = data.get("kind") or ""
        if kind == "month" and data.get("month"):
            year, month = data["month"].split("-")
            return Period.month(int(year), int(month))
        if kind == "quarter" and data.get("quarter"):
            year, quarter = data["quarter"].split("-Q")
            return Period.quarter(int(year), int(quarter))
        if kind == "year" and data.get("year"):
            return Period.year(data["year"])
        if kind == "custom" and data.get("start") and data.get("end"):
            return Period(data["start"], data["end"])
        return Period.quarter_of(today)


def period_query(period: Period) -> str:
    """The query string that asks for `period` again (the download links, last quarter's link)."""
    if period.kind == "month":
        return f"kind=month&month={period.start:%Y-%m}"
    if period.kind == "quarter":
        return f"kind=quarter&quarter={period.slug}"
    if period.kind == "year":
        return f"kind=year&year={period.start.year}"
    return f"kind=custom&start={period.start:%d/%m/%Y}&end={period.end:%d/%m/%Y}"


def _customer_ids(report) -> list[int]:
    return sorted({e.customer_id for o in report.outcomes for e in o.measurement.exceptions if e.customer_id})


def report_context(request, today: datetime.date | None = None) -> dict:
    """The report page's context (also the auditor's home page, which opens on it)."""
    today = today or timezone.localdate()
    form = PeriodForm(request.GET or None)
    period = form.period(today)
    report = promise_report(period, today=today)
    # The exceptions name customers (by reference) and what happened to them: who was shown whom.
    access_record(
        request=request, action=AccessEvent.Action.SEARCH, result_ids=_customer_ids(report), search_kind="promises"
    )
    last_quarter = Period.quarter_of(today, back=1)
    return {
        "form": form,
        "period": period,
        "report": report,
        "trend": report.trend(),
        "query": period_query(period),
        "last_quarter": last_quarter,
        "last_quarter_query": period_query(last_quarter),
    }


@requires("privacy_portal.view_promise_report")
@require_GET
def promise_report_page(request):
    return render(request, "privacy_portal/promise_report.html", report_context(request))


@requires("privacy_portal.view_promise_report")
@require_GET
def promise_report_download(request, fmt: str):
    """The report as PDF or JSON; its SHA-256 goes into the access log's chain."""
    if fmt not in FORMATS:
        from django.http import Http404

        raise Http404
    today = timezone.localdate()
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # A download is never of another period than the one asked for: say which field is wrong.
        lines = [f"{form.fields[name].label or name.title()}: {' '.join(errors)}" if name != "__all__"
                 else " ".join(errors) for name, errors in form.errors.items()]  # fmt: skip
        return HttpResponseBadRequest("\n".join(["The period could not be read:", *lines]), content_type="text/plain")
    period = form.period(today)
    report = promise_report(period, today=today)
    data = report_data(report, generated_at=timezone.localtime(), generated_by=request.user)
    content = report_pdf(data) if fmt == "pdf" else report_json(data)
    entry = report_record(actor=request.user, content=content, fmt=fmt, period=period)
    response = HttpResponse(content, content_type="application/pdf" if fmt == "pdf" else "application/json")
    response["Content-Disposition"] = f'attachment; filename="promise-report-{period.slug}.{fmt}"'
    response["X-Report-SHA256"] = entry.details["sha256"]
    return response


class VerifyForm(forms.Form):
    report = forms.FileField(required=False, label="The report file (PDF or JSON)")
    sha256 = forms.CharField(max_length=64, required=False, label="…or its SHA-256")

    def clean_sha256(self):
        value = self.cleaned_data["sha256"].strip().lower()
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise forms.ValidationError(MSG_HASH)
        return value

    def clean_report(self):
        upload = self.cleaned_data.get("report")
        if upload and upload.size > REPORT_MAX_BYTES:
            raise forms.ValidationError("The file is larger than any report the portal makes.")
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("report") and not data.get("sha256"):
            raise forms.ValidationError(MSG_VERIFY_NOTHING)
        return data

    def digest(self) -> str:
        from .promises.report import sha256

        upload = self.cleaned_data.get("report")
        if upload:
            return sha256(b"".join(upload.chunks()))
        return self.cleaned_data["sha256"]


@requires("privacy_portal.view_promise_report")
@require_http_methods(["GET", "POST"])
def promise_report_verify(request):
    form = VerifyForm(request.POST or None, request.FILES or None)
    verification = None
    if request.method == "POST" and form.is_valid():
        verification = report_verify(form.digest())
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(request, "privacy_portal/promise_verify.html", {"form": form, "verification": verification},
                  status=status)  # fmt: skip


urlpatterns = [
    path("promises/", promise_report_page, name="promise_report"),
    path("promises/report.<str:fmt>", promise_report_download, name="promise_report_download"),
    path("promises/verify/", promise_report_verify, name="promise_report_verify"),
]
