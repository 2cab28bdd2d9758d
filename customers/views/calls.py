"""Recorded calls, their transcripts, and brief records of correspondence."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent
from privacy_portal.views.helpers import form_saved

from .. import access
from ..access import customer_for
from ..forms import CorrespondenceForm
from ..models import Customer
from ..services.calls import correspondence_record
from ..services.normalise import format_phone

Action = AccessEvent.Action


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


@requires(object_perm="customers.view_customer")
@require_GET
def calls(request, pk: int):
    customer = customer_for(request.user, pk)
    if not access.may_read_calls(request.user, customer):
        raise PermissionDenied  # agents know the customer but never see call records
    rows = list(
        customer.calls.defer("transcript")
        .annotate(has_transcript=ExpressionWrapper(~Q(transcript=""), output_field=BooleanField()))
        .order_by("-started_at", "-id")
    )
    for call in rows:
        # Display values for the template, set on each row.
        call.customer_number_display = format_phone(call.customer_number)  # type: ignore[attr-defined]
        call.our_number_display = format_phone(call.our_number)  # type: ignore[attr-defined]
        call.duration_display = _duration(call.duration_seconds)  # type: ignore[attr-defined]
    access_record(request=request, action=Action.VIEW_CALLS, customer_id=customer.pk, obj=customer)
    context = {
        "customer": customer,
        "calls": rows,
        "may_read_transcripts": access.may_read_transcripts(request.user, customer),
    }
    return render(request, "customers/calls.html", context)


@requires(object_perm=access.TRANSCRIPTS)
@require_GET
def call_transcript(request, pk: int):
    call = access.call_for(request.user, pk)
    access_record(request=request, action=Action.VIEW_TRANSCRIPT, customer_id=call.customer_id, obj=call)
    return render(request, "customers/call_transcript.html", {"call": call, "customer": call.customer})


def _render_correspondence(request, customer: Customer, form: CorrespondenceForm | None, status: int = 200):
    records = customer.correspondence.select_related("recorded_by").order_by("-occurred_at", "-id")
    access_record(request=request, action=Action.VIEW_CORRESPONDENCE, customer_id=customer.pk, obj=customer)
    context = {"customer": customer, "records": records, "form": form}
    return render(request, "customers/correspondence.html", context, status=status)


@requires(object_perm="customers.view_customer")
@require_GET
def correspondence(request, pk: int):
    customer = customer_for(request.user, pk)
    if not access.may_read_correspondence(request.user, customer):
        raise PermissionDenied
    form = CorrespondenceForm() if access.may_add_correspondence(request.user, customer) else None
    return _render_correspondence(request, customer, form)


@requires("customers.view_correspondence", "customers.add_correspondence")
@require_POST
def correspondence_add(request, pk: int):
    customer = customer_for(request.user, pk, need=access.ADD_CORRESPONDENCE)
    form = CorrespondenceForm(request.POST)
    back = reverse("customers:correspondence", kwargs={"pk": customer.pk})
    save = partial(correspondence_record, customer=customer)
    saved = form_saved(request, form, save, message=lambda _: "Correspondence recorded.", to=back)
    return saved or _render_correspondence(request, customer, form, status=400)
