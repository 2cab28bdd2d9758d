"""TPS screening pages: the DPO screens a campaign's call list and downloads the answer."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import file_open

from ..access import screening_for
from ..forms import CallListForm
from ..models import CampaignScreening
from ..services import tps
from ..services.campaign import CALL_LIST_COLUMNS, campaign_screen
from ..services.imports import ImportRejected

MAX_LISTED_ERRORS = 1000
HISTORY_ROWS = 50


@requires("customers.add_campaignscreening")
@require_http_methods(["GET", "POST"])
def screenings(request):
    """Upload a call list; the history of screenings, newest first."""
    rejected = None
    form = CallListForm(request.POST, request.FILES) if request.method == "POST" else CallListForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            screening = campaign_screen(actor=request.user, file=upload, name=upload.name)
        except ImportRejected as exc:
            rejected = exc
        else:
            return redirect("customers:screening", pk=screening.pk)
    context = {
        "form": form,
        "rejected": rejected,
        "errors": rejected.errors[:MAX_LISTED_ERRORS] if rejected else [],
        "columns": CALL_LIST_COLUMNS,
        "files": tps.current_files(),
        "history": CampaignScreening.objects.select_related("screened_by", "tps_file", "ctps_file").order_by(
            "-screened_at", "-id"
        )[:HISTORY_ROWS],
    }
    return render(request, "customers/screenings.html", context)


@requires("customers.view_campaignscreening")
@require_GET
def screening(request, pk: int):
    record = screening_for(request.user, pk)
    return render(request, "customers/screening.html", {"screening": record})


@requires("customers.view_campaignscreening")
@require_GET
def screening_download(request, pk: int):
    record = screening_for(request.user, pk)
    handle = file_open(record.result_path) if record.downloadable else None
    if handle is None:
        raise Http404
    access_record(request=request, action=AccessEvent.Action.EXPORT, obj=record)
    response = FileResponse(handle, content_type="text/csv", as_attachment=True,
                            filename=f"screening-{record.pk}-{record.screened_at:%Y%m%d}.csv")  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response
