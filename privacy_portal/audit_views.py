"""The access log, read: "who has seen my data?" per customer, and everything one member of staff opened."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from .access import requires
from .bounds import parse_id
from .models import AccessEvent, BreakGlassReview, User

PAGE_SIZE = 100


def _page(qs, before: str | None):
    if (before_id := parse_id(before)) is not None:
        qs = qs.filter(pk__lt=before_id)
    rows = list(qs.select_related("user", "free_text").order_by("-pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].pk if more else None)


def events_for_customer(customer_id: int):
    """Every read of this customer: opened directly, or returned by a search."""
    direct = Q(customer_id=customer_id)
    if connection.vendor == "postgresql":
        return AccessEvent.objects.filter(direct | Q(result_ids__contains=[customer_id]))  # GIN-indexed
    # SQLite (the local demo) has no JSON containment: pick the searches out in Python.
    searches = AccessEvent.objects.filter(action=AccessEvent.Action.SEARCH).values_list("pk", "result_ids")
    found = [pk for pk, ids in searches if customer_id in (ids or [])]
    return AccessEvent.objects.filter(direct | Q(pk__in=found))


@requires("privacy_portal.view_accessevent")
@require_GET
def customer_access(request, customer_id: int):
    from customers.models import Customer

    customer = get_object_or_404(Customer.objects.only("id"), pk=customer_id)
    rows, before = _page(events_for_customer(customer.pk), request.GET.get("before"))
    context = {"customer": customer, "events": rows, "before": before}
    return render(request, "privacy_portal/access_customer.html", context)


@requires("privacy_portal.view_accessevent")
@require_GET
def staff_access(request, user_id: int):
    member = get_object_or_404(User, pk=user_id)
    rows, before = _page(AccessEvent.objects.filter(user=member), request.GET.get("before"))
    return render(request, "privacy_portal/access_staff.html", {"member": member, "events": rows, "before": before})


class BreakGlassReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=BreakGlassReview.Outcome.choices)


@requires("privacy_portal.review_break_glass")
@require_POST
def break_glass_review(request, event_id: int):
    """The DPO marks a break-glass opening reviewed (from the dashboard's list)."""
    from .break_glass import break_glass_review as review

    event = get_object_or_404(AccessEvent, pk=event_id, action=AccessEvent.Action.BREAK_GLASS)
    form = BreakGlassReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Outcome: " + " ".join(form.errors.get("outcome", ["choose one."])))
        return redirect("home")
    try:
        review(actor=request.user, event=event, outcome=form.cleaned_data["outcome"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Break-glass opening {event.pk} reviewed.")
    return redirect("home")


urlpatterns = [
    path("audit/break-glass/<int:event_id>/review/", break_glass_review, name="break_glass_review"),
    path("audit/customers/<int:customer_id>/access/", customer_access, name="customer_access"),
    path("audit/staff/<int:user_id>/access/", staff_access, name="staff_access"),
]
