"""Recorded calls, their transcripts, and brief records of correspondence."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from privacy_portal import bounds
from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent

from ..access import may_read_case_file
from ..models import Call, Correspondence, Customer
from ..services.calls import ERR_SUMMARY_LONG, SUMMARY_MAX_LENGTH, correspondence_record
from ..services.normalise import format_phone

Action = AccessEvent.Action


class CorrespondenceForm(forms.Form):
    direction = forms.ChoiceField(choices=Correspondence.Direction.choices)
    medium = forms.ChoiceField(choices=Correspondence.Medium.choices)
    occurred_at = bounds.DateTimeField(
        label="When",
        help_text="dd/mm/yyyy hh:mm",
        initial=lambda: timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        input_formats=["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    # The length rule lives in the service; the form refuses with the service's own message (one
    # message), so no field is without a limit; the browser gets the limit as a hint.
    summary = forms.CharField(
        max_length=SUMMARY_MAX_LENGTH,
        error_messages={"max_length": ERR_SUMMARY_LONG},
        help_text=f"What it was about, briefly (at most {SUMMARY_MAX_LENGTH} characters). No more personal data.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": SUMMARY_MAX_LENGTH}),
        strip=True,
    )


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _may_read_transcripts(user, customer: Customer | None) -> bool:
    if user.has_perm("customers.view_transcript"):
        return True
    return customer is not None and user.has_perm("customers.view_transcript", customer)


@requires(object_perm="customers.view_customer")
@require_GET
def calls(request, pk: int):
    customer = get_for_user_or_404(request.user, Customer, "customers.view_customer", pk=pk)
    if not may_read_case_file(request.user, customer, "customers.view_call"):
        raise PermissionDenied  # agents know the customer but never see call records
    rows = list(
        customer.calls.defer("transcript")
        .annotate(has_transcript=ExpressionWrapper(~Q(transcript=""), output_field=BooleanField()))
        .order_by("-started_at", "-id")
    )
    for call in rows:
        call.customer_number_display = format_phone(call.customer_number)
        call.our_number_display = format_phone(call.our_number)
        call.duration_display = _duration(call.duration_seconds)
    access_record(request=request, action=Action.VIEW_CALLS, customer_id=customer.pk, obj=customer)
    context = {
        "customer": customer,
        "calls": rows,
        "may_read_transcripts": _may_read_transcripts(request.user, customer),
    }
    return render(request, "customers/calls.html", context)


@requires("privacy_portal.use_portal")
@require_GET
def call_transcript(request, pk: int):
    # Answer 404 alike for a call that does not exist and one the user may not read.
    call = get_object_or_404(Call.objects.select_related("customer"), pk=pk)
    if call.customer_id is None:
        # A caller never identified: only the model-wide permission can read it.
        if not request.user.has_perm("customers.view_transcript"):
            raise Http404
    else:
        get_for_user_or_404(request.user, Customer, "customers.view_transcript", pk=call.customer_id)
    access_record(request=request, action=Action.VIEW_TRANSCRIPT, customer_id=call.customer_id, obj=call)
    return render(request, "customers/call_transcript.html", {"call": call, "customer": call.customer})


def _render_correspondence(request, customer: Customer, form: CorrespondenceForm | None, status: int = 200):
    records = customer.correspondence.select_related("recorded_by").order_by("-occurred_at", "-id")
    access_record(request=request, action=Action.VIEW_CORRESPONDENCE, customer_id=customer.pk, obj=customer)
    context = {"customer": customer, "records": records, "form": form}
    return render(request, "customers/correspondence.html", context, status=status)


def _may_add_correspondence(user, customer: Customer) -> bool:
    return user.has_perm("customers.add_correspondence") and not customer.is_erased


@requires(object_perm="customers.view_customer")
@require_GET
def correspondence(request, pk: int):
    customer = get_for_user_or_404(request.user, Customer, "customers.view_customer", pk=pk)
    if not may_read_case_file(request.user, customer, "customers.view_correspondence"):
        raise PermissionDenied
    form = CorrespondenceForm() if _may_add_correspondence(request.user, customer) else None
    return _render_correspondence(request, customer, form)


@requires("customers.view_correspondence", "customers.add_correspondence")
@require_POST
def correspondence_add(request, pk: int):
    customer = get_for_user_or_404(request.user, Customer, "customers.add_correspondence", pk=pk)
    form = CorrespondenceForm(request.POST)
    if form.is_valid():
        try:
            correspondence_record(actor=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Correspondence recorded.")
            return redirect("customers:correspondence", pk=customer.pk)
    return _render_correspondence(request, customer, form, status=400)


urlpatterns = [
    path("<int:pk>/calls/", calls, name="calls"),
    path("calls/<int:pk>/transcript/", call_transcript, name="call_transcript"),
    path("<int:pk>/correspondence/", correspondence, name="correspondence"),
    path("<int:pk>/correspondence/add/", correspondence_add, name="correspondence_add"),
]
