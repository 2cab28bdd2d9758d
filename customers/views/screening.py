"""TPS screening pages: the DPO screens a campaign's call list and downloads the answer."""

from __future__ import annotations

from django import forms
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..models import CampaignScreening
from ..services import tps
from ..services.campaign import CALL_LIST_COLUMNS, campaign_screen, result_file
from ..services.imports import MAX_IMPORT_BYTES, ImportRejected

MAX_LISTED_ERRORS = 1000
HISTORY_ROWS = 50


class CallListForm(forms.Form):
    file = forms.FileField(
        label="Call list (CSV)",
        help_text=f"UTF-8 CSV (.csv), at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


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
    record = get_for_user_or_404(request.user, CampaignScreening, "customers.view_campaignscreening", pk=pk)
    return render(request, "customers/screening.html", {"screening": record})


@requires("customers.view_campaignscreening")
@require_GET
def screening_download(request, pk: int):
    record = get_for_user_or_404(request.user, CampaignScreening, "customers.view_campaignscreening", pk=pk)
    path = result_file(record)
    if path is None:
        raise Http404
    access_record(request=request, action=AccessEvent.Action.EXPORT, obj=record)
    response = FileResponse(path.open("rb"), content_type="text/csv", as_attachment=True,
                            filename=f"screening-{record.pk}-{record.screened_at:%Y%m%d}.csv")  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("screening/", screenings, name="screenings"),
    path("screening/<int:pk>/", screening, name="screening"),
    path("screening/<int:pk>/result.csv", screening_download, name="screening_download"),
]
