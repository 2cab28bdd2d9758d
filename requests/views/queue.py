from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..forms.cases import QueueFilterForm
from ..selectors.cases import case_queue, logged_cases


@requires("requests.view_queue")
@require_GET
def queue(request):
    """The handler's queue (its cases), the DPO's and auditors' overview (all), soonest due first."""
    user = request.user
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    result = case_queue(
        user,
        status=filters.get("status", ""),
        right=filters.get("right", ""),
        window=filters.get("window", ""),
        mine=filters.get("mine", False),
        after=filters.get("after", ""),
    )
    # The queue names each case's customer: whom it showed is recorded (ids only), as for a search.
    access_record(
        request=request,
        action=AccessEvent.Action.SEARCH,
        result_ids=sorted({case.customer_id for case in result.cases if case.customer_id}),
        search_kind="queue",
    )
    return render(request, "requests/queue.html", {"form": form, "queue": result, "query": request.GET.copy()})


@requires("requests.view_case_status")
@require_GET
def logged(request):
    """An agent's view of the requests it logged: reference, right and status only."""
    cases = logged_cases(request.user).order_by("-received_on", "-id")[:100]
    return render(request, "requests/logged.html", {"cases": cases})
