"""The register of processing activities and the privacy notice archive: read by anyone entitled,
as a page or a CSV file; kept by the DPO, with history."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from . import bounds, csv_safe
from .access import requires
from .forms import add_service_errors
from .models import LawfulBasis, PrivacyNoticeVersion, ProcessingActivity, SpecialCategoryCondition
from .register import (
    ACTIVITY_TEXT_FIELDS,
    current_notice_version,
    notice_version_publish,
    register_activities,
    register_csv_rows,
)
from .register import activity_save as activity_save_service
from .text_rules import LONG_TEXT_MAX_LENGTH, NOTICE_TEXT_MAX_LENGTH


class ActivityForm(forms.Form):
    name = forms.CharField(max_length=200)
    position = bounds.IntegerField(min_value=0, max_value=32767, initial=100, help_text="Order on the register page.")
    purpose = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    lawful_basis = forms.ChoiceField(choices=[("", "Choose a lawful basis"), *LawfulBasis.choices])
    lawful_basis_detail = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Why the basis applies",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    special_category_condition = forms.ChoiceField(
        label="Art 9 condition (sensitive data only)",
        choices=[("", "None"), *SpecialCategoryCondition.choices],
        required=False,
    )
    data_subjects = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Categories of people", widget=forms.Textarea(attrs={"rows": 2})
    )
    data_categories = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Categories of personal data", widget=forms.Textarea(attrs={"rows": 2})
    )
    source = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Source of the data", widget=forms.Textarea(attrs={"rows": 2})
    )
    recipients = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, help_text="From the recipient register."
    )
    recipients_detail = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Other recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    retention_period = forms.CharField(max_length=200)
    retention_trigger = forms.CharField(label="Retention starts", max_length=300)
    transfers = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="International transfers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    transfer_safeguards = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Safeguards for the transfers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    security_measures = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        from customers.models import Recipient

        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = Recipient.objects.order_by("name")


class ActivityEditForm(ActivityForm):
    reason = forms.CharField(max_length=100, help_text="Why the register changes (kept in its history).")


class NoticeVersionForm(forms.Form):
    label = forms.CharField(max_length=40, help_text="As staff will record it with preference changes, e.g. 2027-01.")
    effective_on = bounds.DateField(
        label="Takes effect on", help_text="dd/mm/yyyy", input_formats=["%d/%m/%Y", "%Y-%m-%d"]
    )
    summary_of_changes = forms.CharField(max_length=500, required=False)
    text = forms.CharField(
        max_length=NOTICE_TEXT_MAX_LENGTH, label="Full text as published", widget=forms.Textarea(attrs={"rows": 16})
    )


@requires("privacy_portal.view_processingactivity")
@require_GET
def register(request):
    from .retention import SCHEDULE

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
    if request.method == "POST" and form.is_valid():
        try:
            activity = activity_save_service(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{activity.name}” added to the register.")
            return redirect(activity)
    return render(request, "privacy_portal/register_form.html", {"form": form, "title": "Add a processing activity"})


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
    if request.method == "POST" and form.is_valid():
        try:
            activity_save_service(actor=request.user, activity=activity, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{activity.name}” updated.")
            return redirect(activity)
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
    if request.method == "POST" and form.is_valid():
        try:
            version = notice_version_publish(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Version {version.label} archived.")
            return redirect(version)
    return render(request, "privacy_portal/notice_form.html", {"form": form})


@requires("privacy_portal.view_processingactivity")
@require_GET
def retention_schedule(request):
    """The retention schedule (no personal data) and when it last ran."""
    from .models import JobRun
    from .retention import SCHEDULE

    last_run = JobRun.objects.filter(name="apply_retention_schedule").order_by("-started_at").first()
    return render(request, "privacy_portal/retention.html", {"schedule": SCHEDULE, "last_run": last_run})


urlpatterns = [
    path("register/", register, name="register"),
    path("retention/", retention_schedule, name="retention_schedule"),
    path("register.csv", register_csv, name="register_csv"),
    path("register/new/", register_activity_create, name="register_activity_create"),
    path("register/<int:pk>/", register_activity, name="register_activity"),
    path("register/<int:pk>/edit/", register_activity_edit, name="register_activity_edit"),
    path("notices/", notices, name="notices"),
    path("notices/new/", notice_publish, name="notice_publish"),
    path("notices/<int:pk>/", notice_version, name="notice_version"),
]
