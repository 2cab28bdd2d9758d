"""Retention and deadlines for the DPO: opt-outs that missed their take-effect date."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..selectors import optout_breaches

BREACHES_PAGE_SIZE = 100


@requires("customers.view_breaches")
@require_GET
def breaches(request):
    today = timezone.localdate()
    # Paginator counts with the same partial index the list uses: small while all is well.
    page = Paginator(optout_breaches(today=today), BREACHES_PAGE_SIZE).get_page(request.GET.get("page"))
    for change in page:
        change.days_overdue = (today - change.takes_effect_by).days
    # Which customers the DPO was shown (ids only): the list reveals who opted out of what.
    access_record(
        request=request,
        action=AccessEvent.Action.SEARCH,
        result_ids=sorted({change.customer_id for change in page}),
        search_kind="breaches",
    )
    return render(request, "customers/breaches.html", {"page": page, "today": today})


urlpatterns = [
    path("breaches/", breaches, name="breaches"),
]
