"""Objection to direct marketing (UK GDPR Art 21(2)-(3)): absolute, and at once."""

from __future__ import annotations

from customers.models import PreferenceChange
from customers.services.preferences import customer_object_to_marketing
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Case
from .fulfilment import require_fulfilment
from .locking import transition


@transition("case")
def case_object(*, actor: User, case: Case) -> list[PreferenceChange]:
    """Withdraw every marketing purpose on every channel, flag the customer as objecting and
    suppress every identifier, through the customers service. Returns the changes recorded."""
    require_fulfilment(actor, case, Case.Right.OBJECTION)
    assert case.customer is not None  # require_fulfilment checked it
    changes = customer_object_to_marketing(
        actor=actor,
        customer=case.customer,
        source=PreferenceChange.Source.RIGHTS_REQUEST,
        evidence=f"Objection to direct marketing (Art 21), case {case.reference}",
    )
    save_tracked(
        case,
        actor=actor,
        reason=f"Objection recorded: marketing withdrawn ({len(changes)} change(s)), identifiers suppressed",
    )
    return changes
