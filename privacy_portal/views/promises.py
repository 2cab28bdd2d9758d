"""The promise report's pages: the report for a period, its PDF and JSON, and "verify a report"."""

from __future__ import annotations

import datetime
from functools import partial

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import PeriodForm, VerifyForm
from privacy_portal.models import AccessEvent
from privacy_portal.promises.base import Period
from privacy_portal.promises.report import (
    FORMATS,
    promise_report,
    report_data,
    report_json,
    report_pdf,
    report_record,
    report_verify,
)
from privacy_portal.services.promise_summary import MSG_SUMMARY_ASKED, promise_summary_request
from privacy_portal.views.helpers import step_done


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
    last_quarter, this_quarter = Period.quarter_of(today, back=1), Period.quarter_of(today)
    return {
        "form": form,
        "period": period,
        "report": report,
        "trend": report.trend(),
        "query": period_query(period),
        "last_quarter": last_quarter,
        "last_quarter_query": period_query(last_quarter),
        "this_quarter": this_quarter,
        "this_quarter_query": period_query(this_quarter),
    }


@requires("privacy_portal.view_promise_report")
@require_GET
def promise_report_page(request):
    return render(request, "privacy_portal/promise_report.html", report_context(request))


@requires("privacy_portal.view_promise_report", "privacy_portal.summarise_promises")
@require_POST
def promise_summarise(request):
    """The DPO's "Summarise now": the hourly summary job's task, enqueued at once."""
    step_done(request, partial(promise_summary_request, actor=request.user), message=MSG_SUMMARY_ASKED)
    return redirect("home")


@requires("privacy_portal.view_promise_report")
@require_GET
def promise_report_download(request, fmt: str):
    """The report as PDF or JSON; its SHA-256 goes into the access log's chain."""
    if fmt not in FORMATS:
        raise Http404
    today = timezone.localdate()
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # A download is never of another period than the one asked for: say which field is wrong.
        lines = [f"{form.fields[name].label or name.title()}: {' '.join(map(str, errors))}" if name != "__all__"
                 else " ".join(map(str, errors)) for name, errors in form.errors.items()]  # fmt: skip
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
