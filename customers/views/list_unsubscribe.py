"""The email platform's List-Unsubscribe headers for a campaign: a page with the counts, and the
CSV (customers/services/list_unsubscribe.py). The DPO only (the marketing export permission)."""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from privacy_portal import csv_safe, legal
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..services import list_unsubscribe as svc

PERMISSION = "customers.export_list_unsubscribe"
EXPORT_KIND = "list_unsubscribe"  # the access-log entry's details["export"]


def _base_url(request) -> str:
    return settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}"


@requires(PERMISSION)
@require_GET
def list_unsubscribe(request):
    """Who the export lists and who it leaves out (counts only: no personal data on the page)."""
    audience = svc.audience()
    context = {
        "listed": len(audience.ids),
        "excluded": audience.excluded_rows,
        "excluded_total": audience.excluded_total,
        "mailto": settings.LIST_UNSUBSCRIBE_MAILTO,
        "days": legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK,
        "header": svc.HEADER,
    }
    return render(request, "customers/list_unsubscribe.html", context)


@requires(PERMISSION)
@require_GET
def list_unsubscribe_export(request):
    """The CSV, streamed: per recipient who may be emailed marketing, the reference, the email
    and the two header values. In the access log: the ids listed, the counts left out."""
    audience = svc.audience()
    access_record(request=request, action=AccessEvent.Action.EXPORT, result_ids=audience.ids,
                  details={"export": EXPORT_KIND, "excluded": dict(audience.excluded)})  # fmt: skip
    writer = csv_safe.line_writer()
    base_url = _base_url(request)

    def stream():
        yield "\ufeff" + writer.writerow(svc.HEADER)
        for row in svc.rows(audience.ids, base_url=base_url):
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    filename = f"list-unsubscribe-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
