"""Deadlines for the DPO: opt-outs that missed their take-effect date, open or actioned late."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..forms import MissedFilterForm
from ..selectors import days_late, missed_optout_deadlines

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


urlpatterns = [
    # The URL name is kept from before the page was renamed "Missed opt-out deadlines".
    path("missed-opt-out-deadlines/", missed_optouts, name="breaches"),
]
