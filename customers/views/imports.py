"""Bulk imports by the DPO: marketing preference changes from a CSV upload."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from privacy_portal.access import requires

from ..forms import PreferenceImportForm
from ..models import Channel, PreferenceChange, Purpose
from ..services.imports import (
    IMPORT_TIME_ZONE,
    PREFERENCE_HEADER,
    ImportRejected,
    preference_import,
)

# The page lists at most this many problems (the command lists them all); the count is always shown.
MAX_LISTED_ERRORS = 1000


@requires("customers.import_preferences")
@require_http_methods(["GET", "POST"])
def import_preferences(request):
    rejected = None
    form = PreferenceImportForm(request.POST, request.FILES) if request.method == "POST" else PreferenceImportForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = preference_import(actor=request.user, file=upload, name=upload.name)
        except ImportRejected as exc:
            rejected = exc
        else:
            messages.success(
                request,
                f"Imported {result.created:,} change(s) from {result.rows:,} row(s). {result.unchanged:,} row(s) "
                f"were already recorded or matched the current preference. {result.suppressed:,} identifier(s) "
                "added to the suppression list.",
            )
            return redirect("customers:import_preferences")
    context = {
        "form": form,
        "rejected": rejected,
        "errors": rejected.errors[:MAX_LISTED_ERRORS] if rejected else [],
        "more_errors": max(len(rejected.errors) - MAX_LISTED_ERRORS, 0) if rejected else 0,
        "header": ",".join(PREFERENCE_HEADER),
        "purposes": Purpose.choices,
        "channels": Channel.choices,
        "sources": PreferenceChange.Source.choices,
        "time_zone": str(IMPORT_TIME_ZONE),
    }
    return render(request, "customers/import_preferences.html", context)
