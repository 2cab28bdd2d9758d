"""Deadlines for the DPO: opt-outs that missed their take-effect date, open or actioned late."""

from __future__ import annotations

from functools import partial

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent
from privacy_portal.views.helpers import form_saved, step_done

from ..access import customer_for
from ..forms import LegalHoldFilterForm, LegalHoldForm, MissedFilterForm
from ..models import LegalHold
from ..selectors import legal_holds as hold_lists
from ..selectors.customers import days_late, missed_optout_deadlines
from ..services import legal_holds

MSG_HOLD_PLACED = "Legal hold placed: the nightly purge skips this customer's records."

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
        change.days_late = days_late(change, today=today)  # type: ignore[attr-defined]  # for the page, not a field
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
    customer = customer_for(request.user, pk)
    form = LegalHoldForm(request.POST or None)
    save = partial(legal_holds.legal_hold_place, customer=customer)
    if saved := form_saved(request, form, save, message=lambda _: MSG_HOLD_PLACED, to=customer):
        return saved
    return render(request, "customers/legal_hold_form.html", {"form": form, "customer": customer})


@requires("customers.view_legalhold", "customers.change_legalhold")
@require_GET
def legal_hold_list(request):
    """Every legal hold in one place, for the DPO: the manual holds (who placed each, why, until
    when; in force or ended) and the automatic ones (the open matter holding each customer)."""
    today = timezone.localdate()
    form = LegalHoldFilterForm(request.GET or None)
    state = (form.cleaned_data.get("state") if form.is_valid() else "") or hold_lists.ACTIVE
    manual, next_cursor = hold_lists.manual_holds_page(state=state, today=today, cursor=request.GET.get("after", ""))
    automatic = hold_lists.automatic_holds_page(request.GET.get("page")) if state != hold_lists.ENDED else None
    ended = (
        hold_lists.automatic_holds_page(request.GET.get("ended_page"), ended=True)
        if state != hold_lists.ACTIVE
        else None
    )
    # Which customers the DPO was shown (ids only): a hold says a matter concerns the person.
    shown = {hold.customer_id for hold in [*manual, *(automatic or []), *(ended or [])]}
    access_record(
        request=request, action=AccessEvent.Action.SEARCH, result_ids=sorted(shown), search_kind="legal_holds"
    )
    context = {
        "form": form,
        "state": state,
        "today": today,
        "manual": manual,
        "next_cursor": next_cursor,
        "automatic": automatic,
        "ended_automatic": ended,
        "paged": bool(request.GET.get("after")),
    }
    return render(request, "customers/legal_holds.html", context)


@requires("customers.change_legalhold")
@require_POST
def legal_hold_release(request, pk: int):
    hold = get_object_or_404(LegalHold, pk=pk)
    release = partial(legal_holds.legal_hold_release, actor=request.user, hold=hold)
    step_done(request, release, message="Legal hold released: the next nightly run purges what is past its period.")
    # Released from the list of holds: back to the list; from the customer page: back there.
    if request.GET.get("from") == "list":
        return redirect("customers:legal_holds")
    return redirect(hold.customer)
