"""The DPO's MPS reviews: matches at a former address (a deceased record applied, or a namesake's
removal not applied) listed to confirm or dismiss, each decision recorded with who and when."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..access import mps_match_for
from ..forms import MpsDecisionForm, MpsReviewFilterForm
from ..selectors import mps as reviews
from ..services.mps import ERR_DECISION, mps_match_decide

MSG_DECIDED = "MPS match for {customer} recorded as {decision}."


@requires("customers.view_mpsmatch", "customers.change_mpsmatch")
@require_GET
def mps_reviews(request):
    form = MpsReviewFilterForm(request.GET or None)
    state = (form.cleaned_data.get("state") if form.is_valid() else "") or reviews.TO_REVIEW
    matches, next_cursor = reviews.mps_reviews_page(state=state, cursor=request.GET.get("after", ""))
    # Which customers the DPO was shown (ids only): an MPS match says a person may have died.
    access_record(request=request, action=AccessEvent.Action.SEARCH, search_kind="mps_reviews",
                  result_ids=sorted({m.customer_id for m in matches}))  # fmt: skip
    context = {"form": form, "state": state, "matches": matches, "next_cursor": next_cursor,
               "paged": bool(request.GET.get("after")), "decision_form": MpsDecisionForm()}  # fmt: skip
    return render(request, "customers/mps_reviews.html", context)


@requires("customers.change_mpsmatch")
@require_POST
def mps_review_decide(request, pk: int):
    match = mps_match_for(request.user, pk)
    form = MpsDecisionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(ERR_DECISION)
        decided = mps_match_decide(actor=request.user, match_id=match.pk, decision=form.cleaned_data["decision"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, MSG_DECIDED.format(customer=match.customer.reference,
                                                     decision=decided.decision))  # fmt: skip
    return redirect("customers:mps_reviews")
