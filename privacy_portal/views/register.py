"""The register of processing activities and the privacy notice archive: read by anyone entitled,
as a page or a CSV file; kept by the DPO, with history."""

from __future__ import annotations

from functools import partial

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal import csv_safe
from privacy_portal.access import requires
from privacy_portal.forms import ActivityEditForm, ActivityForm, NoticeVersionForm
from privacy_portal.models import (
    JobRun,
    PrivacyNoticeVersion,
    ProcessingActivity,
)
from privacy_portal.retention import SCHEDULE
from privacy_portal.services.register import (
    ACTIVITY_TEXT_FIELDS,
    current_notice_version,
    notice_version_publish,
    register_activities,
    register_csv_rows,
)
from privacy_portal.services.register import activity_save as activity_save_service
from privacy_portal.views.helpers import form_saved


@requires("privacy_portal.view_processingactivity")
@require_GET
def register(request):
    context = {"activities": register_activities(), "notice": current_notice_version(), "schedule": SCHEDULE}
    return render(request, "privacy_portal/register.html", context)


@requires("privacy_portal.view_processingactivity")
@require_GET
def register_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"register-of-processing-activities-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # a BOM, so spreadsheets read UTF-8
    writer = csv_safe.writer(response)
    writer.writerows(register_csv_rows())
    return response


@requires("privacy_portal.view_processingactivity")
@require_GET
def register_activity(request, pk: int):
    activity = get_object_or_404(ProcessingActivity.objects.prefetch_related("recipients"), pk=pk)
    history = activity.history.select_related("history_user").order_by("-history_date", "-history_id")[:50]
    return render(request, "privacy_portal/register_activity.html", {"activity": activity, "history": history})


@requires("privacy_portal.add_processingactivity")
@require_http_methods(["GET", "POST"])
def register_activity_create(request):
    form = ActivityForm(request.POST or None)
    saved = form_saved(request, form, activity_save_service, message=lambda a: f"“{a.name}” added to the register.")
    return saved or render(
        request, "privacy_portal/register_form.html", {"form": form, "title": "Add a processing activity"}
    )


@requires("privacy_portal.change_processingactivity")
@require_http_methods(["GET", "POST"])
def register_activity_edit(request, pk: int):
    activity = get_object_or_404(ProcessingActivity, pk=pk)
    initial = {f: getattr(activity, f) for f in ACTIVITY_TEXT_FIELDS}
    initial |= {
        "position": activity.position,
        "lawful_basis": activity.lawful_basis,
        "special_category_condition": activity.special_category_condition,
        "recipients": list(activity.recipients.all()),
    }
    form = ActivityEditForm(request.POST or None, initial=initial)
    save = partial(activity_save_service, activity=activity)
    if saved := form_saved(request, form, save, message=lambda a: f"“{a.name}” updated."):
        return saved
    context = {"form": form, "title": f"Edit “{activity.name}”", "activity": activity}
    return render(request, "privacy_portal/register_form.html", context)


@requires("privacy_portal.view_privacynoticeversion")
@require_GET
def notices(request):
    versions = PrivacyNoticeVersion.objects.defer("text").order_by("-effective_on")
    return render(request, "privacy_portal/notices.html", {"versions": versions, "current": current_notice_version()})


@requires("privacy_portal.view_privacynoticeversion")
@require_GET
def notice_version(request, pk: int):
    version = get_object_or_404(PrivacyNoticeVersion, pk=pk)
    return render(request, "privacy_portal/notice_version.html", {"version": version})


@requires("privacy_portal.add_privacynoticeversion")
@require_http_methods(["GET", "POST"])
def notice_publish(request):
    form = NoticeVersionForm(request.POST or None)
    saved = form_saved(request, form, notice_version_publish, message=lambda v: f"Version {v.label} archived.")
    return saved or render(request, "privacy_portal/notice_form.html", {"form": form})


@requires("privacy_portal.view_processingactivity")
@require_GET
def retention_schedule(request):
    """The retention schedule (no personal data) and when it last ran."""
    last_run = JobRun.objects.filter(name="apply_retention_schedule").order_by("-started_at").first()
    return render(request, "privacy_portal/retention.html", {"schedule": SCHEDULE, "last_run": last_run})
