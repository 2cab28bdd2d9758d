"""Restriction (UK GDPR Art 18): flag the customer so marketing and disclosures are refused until lifted.

The flag is what the rest of the portal reads: customers.services.preferences.may_market
refuses marketing, and customers.services.disclosures refuses disclosures (bar the DPO's
Art 18(2) override), for a restricted customer.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseTask
from .fulfilment import Art19Action, art19_tasks_create, clean_reason, require_fulfilment
from .locking import transition

ERR_ALREADY_RESTRICTED = "Processing is already restricted for this customer."
ERR_NOT_RESTRICTED = "Processing is not restricted for this customer: there is nothing to lift."


def _locked_customer(case: Case) -> Customer:
    assert case.customer_id is not None  # require_fulfilment(needs_customer) checked it
    customer = Customer.objects.select_for_update().get(pk=case.customer_id)
    case.customer = customer
    return customer


@transition("case")
def case_restrict(*, actor: User, case: Case, reason: str) -> list[CaseTask]:
    """Restrict processing of the case's customer, with the reason in the record's history,
    and open an Art 19 task per recipient. Returns the tasks created."""
    require_fulfilment(actor, case, Case.Right.RESTRICTION)
    reason = clean_reason(reason)
    customer = _locked_customer(case)
    if customer.processing_restricted:
        raise ValidationError(ERR_ALREADY_RESTRICTED)
    customer.processing_restricted = True
    customer.restricted_at = timezone.now()
    save_tracked(customer, actor=actor, reason=f"Restricted (Art 18), {case.reference}: {reason}")
    tasks = art19_tasks_create(actor=actor, case=case, action=Art19Action.RESTRICTION)
    save_tracked(case, actor=actor, reason=f"Processing restricted; {len(tasks)} recipient(s) to tell (Art 19)")
    return tasks


@transition("case")
def case_lift_restriction(*, actor: User, case: Case, reason: str) -> list[CaseTask]:
    """Lift the restriction (Art 18(3): the requester is told before it is lifted; say so in
    the reason). Recorded in the customer's and the case's history; recipients told to
    restrict are told it is lifted. Returns the tasks created."""
    require_fulfilment(actor, case, Case.Right.RESTRICTION)
    reason = clean_reason(reason)
    customer = _locked_customer(case)
    if not customer.processing_restricted:
        raise ValidationError(ERR_NOT_RESTRICTED)
    customer.processing_restricted = False
    customer.restricted_at = None
    save_tracked(customer, actor=actor, reason=f"Restriction lifted, {case.reference}: {reason}")
    tasks = art19_tasks_create(actor=actor, case=case, action=Art19Action.LIFTED)
    save_tracked(case, actor=actor, reason=f"Restriction lifted: {reason}")
    return tasks
