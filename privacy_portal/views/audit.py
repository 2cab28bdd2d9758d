"""The access log, read: "who has seen my data?" per customer, and everything one member of staff opened."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer
from privacy_portal.access import requires
from privacy_portal.forms import BreakGlassReviewForm
from privacy_portal.models import AccessEvent, User
from privacy_portal.paging import newest_by_id
from privacy_portal.selectors import events_for_customer
from privacy_portal.services.break_glass import break_glass_review as review
from privacy_portal.views.helpers import step_done

PAGE_SIZE = 100


def _page(qs, before: str | None):
    return newest_by_id(qs.select_related("user", "free_text"), before=before, limit=PAGE_SIZE)


@requires("privacy_portal.view_accessevent")
@require_GET
def customer_access(request, customer_id: int):
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


@requires("privacy_portal.review_break_glass")
@require_POST
def break_glass_review(request, event_id: int):
    """The DPO marks a break-glass opening reviewed (from the dashboard's list)."""
    event = get_object_or_404(AccessEvent, pk=event_id, action=AccessEvent.Action.BREAK_GLASS)
    form = BreakGlassReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Outcome: " + " ".join(map(str, form.errors.get("outcome", ["choose one."]))))
        return redirect("home")
    done = partial(review, actor=request.user, event=event, outcome=form.cleaned_data["outcome"])
    step_done(request, done, message=f"Break-glass opening {event.pk} reviewed.")
    return redirect("home")
