"""Rectification (UK GDPR Art 16): correct the record, with the reason, and tell the recipients (Art 19)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from customers.models import Customer, DataCategory
from customers.services.customers import CONTACT_FIELDS, customer_update_contact
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseTask
from .fulfilment import Art19Action, art19_tasks_create, clean_reason, require_fulfilment
from .locking import transition

ERR_FIELD = "“{field}” is not a detail that can be corrected here."
ERR_NOTHING_CHANGED = "Nothing to correct: the details given are the ones on record."

# Contact details are what recipients hold as identity and contact data: they are told.
RECTIFIED_CATEGORIES = (DataCategory.IDENTITY, DataCategory.CONTACT)


@transition("case")
def case_rectify(
    *, actor: User, case: Case, changes: dict, reason: str, expected_version: int | None = None
) -> list[CaseTask]:
    """Correct the customer's contact details as the requester asked.

    Goes through customer_update_contact, so the usual validation, the stale-form check
    (`expected_version`: the version the handler saw) and the reason in the record's history
    all apply. Every recipient that received identity or contact data gets an Art 19 task.
    Returns the tasks created.
    """
    require_fulfilment(actor, case, Case.Right.RECTIFICATION)
    reason = clean_reason(reason)
    unknown = [name for name in changes if name not in CONTACT_FIELDS]
    if unknown:
        raise ValidationError(ERR_FIELD.format(field=unknown[0]))
    customer = case.customer
    assert customer is not None  # require_fulfilment checked it
    before = Customer.objects.get(pk=customer.pk)
    updated = customer_update_contact(
        actor=actor,
        customer_id=customer.pk,
        expected_version=before.version if expected_version is None else expected_version,
        reason=f"Rectification, {case.reference}: {reason}",
        **changes,
    )
    changed = [name for name in CONTACT_FIELDS if getattr(before, name) != getattr(updated, name)]
    if not changed:
        raise ValidationError(ERR_NOTHING_CHANGED)
    case.customer = updated
    tasks = art19_tasks_create(
        actor=actor, case=case, action=Art19Action.RECTIFICATION, categories=RECTIFIED_CATEGORIES
    )
    # Field names only: the values are in the customer's history, not in the case's.
    told = f"{len(tasks)} recipient(s) to tell (Art 19)"
    summary = f"Record rectified ({', '.join(changed)}); {told}"
    save_tracked(
        case,
        actor=actor,
        reason=summary if len(summary) <= 100 else f"Record rectified ({len(changed)} details); {told}",
    )
    return tasks
