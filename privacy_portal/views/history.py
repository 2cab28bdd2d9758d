"""The auditors' history search, its CSV export, and any record's readable history."""

from __future__ import annotations

import logging

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from privacy_portal import csv_safe
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import HistorySearchForm
from privacy_portal.history import timeline_page
from privacy_portal.history_labels import record_kind
from privacy_portal.models import AccessEvent, User
from privacy_portal.services import history_search


def _criteria(form) -> dict:
    data = form.cleaned_data
    return {
        "user_id": data["staff"].pk if data.get("staff") else None,
        "kind": data.get("kind") or "",
        "record_id": data.get("record"),
        "date_from": data.get("date_from"),
        "date_to": data.get("date_to"),
    }


def _names(rows) -> dict[int, str]:
    ids = {r.user_id for r in rows if r.user_id}
    return {
        u.pk: f"{u.get_full_name() or u.username} ({u.get_role_display() or 'no role'})"
        for u in User.objects.filter(pk__in=ids)
    }


@requires("privacy_portal.search_history")
@require_GET
def history_search_page(request):
    form = HistorySearchForm(request.GET or None)
    rows: list[history_search.Row] = []
    next_cursor: str | None = None
    if form.is_valid():
        rows, next_cursor = history_search.search(**_criteria(form), cursor=form.cleaned_data.get("cursor") or "")
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "rows": rows,
        "names": _names(rows),
        "next_cursor": next_cursor,
        "query": query.urlencode(),
    }
    return render(request, "privacy_portal/history_search.html", context)


logger = logging.getLogger(__name__)


EXPORT_HEADER = ["when", "staff_id", "kind", "record_id", "change", "reason"]
EXPORT_PAGE_SIZE = 1000
# The last row of a CSV whose stream failed: a file that stops early must never look complete.
EXPORT_INCOMPLETE = "EXPORT INCOMPLETE: the export failed before the end; rows are missing. Download it again."


def _export_rows(criteria: dict, first_page):
    """The CSV's lines: the header, every page, and, if reading a page fails, a last row saying
    the file is incomplete before the error ends the response (the download then fails too)."""
    writer = csv_safe.line_writer()
    yield writer.writerow(EXPORT_HEADER)
    page, cursor = first_page
    try:
        while True:
            for r in page:
                yield writer.writerow([r.when.isoformat(), r.user_id or "", r.kind, r.record_id, r.change, r.reason])
            if not cursor:
                return
            page, cursor = history_search.search(**criteria, cursor=cursor, limit=EXPORT_PAGE_SIZE)
    except Exception:
        logger.exception("history export failed part-way")
        yield writer.writerow([EXPORT_INCOMPLETE, "", "", "", "", ""])
        raise


@requires("privacy_portal.search_history")
@require_GET
def history_export(request):
    """The whole period as CSV, streamed page by page (ids, fields changed and reasons).

    The criteria are checked, and the first page read, before anything is sent: a bad filter
    gets the search page with its message (400), never a CSV with only its header."""
    form = HistorySearchForm(request.GET)  # no criteria: everything
    if not form.is_valid():
        context = {"form": form, "rows": [], "names": {}, "next_cursor": None, "query": ""}
        return render(request, "privacy_portal/history_search.html", context, status=400)
    criteria = _criteria(form)
    first_page = history_search.search(**criteria, cursor="", limit=EXPORT_PAGE_SIZE)
    response = StreamingHttpResponse(_export_rows(criteria, first_page), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="history.csv"'
    return response


@requires("privacy_portal.search_history")
@require_GET
def record_history(request, kind: str, record_id: int):
    """Any tracked record's readable history: who changed which field from what to what, and why."""
    model = history_search.tracked_kinds().get(kind)
    if model is None:
        raise Http404
    latest = model.objects.filter(id=record_id).order_by("-history_date", "-history_id").first()
    if latest is None:
        raise Http404
    # The history shows the values a record held (a customer's old addresses): a read, recorded by ids.
    customer_id = record_id if kind == "customers.Customer" else getattr(latest, "customer_id", None)
    access_record(request=request, action=AccessEvent.Action.VIEW_HISTORY, customer_id=customer_id,
                  obj=latest.instance)  # fmt: skip
    # Newest first, a keyset page at a time: a record changed 10,000 times reads as fast as one changed once.
    entries, next_cursor = timeline_page(
        {kind: model.objects.filter(id=record_id)}, cursor=request.GET.get("cursor", "")
    )
    context = {
        "kind": kind,
        "kind_label": record_kind(kind, capital=True),
        "record_id": record_id,
        "entries": entries,
        "next_cursor": next_cursor,
        "paged": "cursor" in request.GET,
    }
    return render(request, "privacy_portal/record_history.html", context)
