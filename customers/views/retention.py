"""Deadlines for the DPO: opt-outs that missed their take-effect date, open or actioned late."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent

from ..forms import LegalHoldForm, MissedFilterForm
from ..models import Customer, LegalHold
from ..selectors import days_late, missed_optout_deadlines
from ..services import legal_holds

MISSED_PAGE_SIZE = 100


@requires("customers.view_breaches")
@require_GET
def missed_optouts(request):
    today = timezone.localdate()
    form = MissedFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    changes = missed_optout_deadlines(
        today=today,
        due_from=filters.get("due_from"),
        due_to=filters.get("due_to"),
        state=filters.get("state", ""),
    )
    # Paginator counts with the same partial indexes the list uses.
    page = Paginator(changes, MISSED_PAGE_SIZE).get_page(request.GET.get("page"))
    for change in page:
        change.days_late = days_late(change, today=today)
    # Which customers the DPO was shown (ids only): the list reveals who opted out of what.
    access_record(
        request=request,
        action=AccessEvent.Action.SEARCH,
        result_ids=sorted({change.customer_id for change in page}),
        search_kind="missed_optouts",
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "today": today, "form": form, "query": query.urlencode()}
    return render(request, "customers/missed_optouts.html", context)


@requires("customers.add_legalhold", "customers.view_customer")
@require_http_methods(["GET", "POST"])
def legal_hold_place(request, pk: int):
    customer = get_for_user_or_404(request.user, Customer, "customers.view_customer", pk=pk)
    form = LegalHoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            legal_holds.legal_hold_place(actor=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Legal hold placed: the nightly purge skips this customer's records.")
            return redirect(customer)
    return render(request, "customers/legal_hold_form.html", {"form": form, "customer": customer})


@requires("customers.change_legalhold")
@require_POST
def legal_hold_release(request, pk: int):
    hold = get_object_or_404(LegalHold, pk=pk)
    try:
        legal_holds.legal_hold_release(actor=request.user, hold=hold)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Legal hold released: the next nightly run purges what is past its period.")
    return redirect(hold.customer)


urlpatterns = [
    path("<int:pk>/legal-holds/new/", legal_hold_place, name="legal_hold_place"),
    path("legal-holds/<int:pk>/release/", legal_hold_release, name="legal_hold_release"),
    # The URL name is kept from before the page was renamed "Missed opt-out deadlines".
    path("missed-opt-out-deadlines/", missed_optouts, name="breaches"),
]
