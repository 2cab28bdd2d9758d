"""Email addresses stored before every door applied the one email rule (normalise.email_key):
rewritten to that rule, keeping what the old form was suppressed by."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from privacy_portal.models import User
from privacy_portal.tracked import save_tracked
from requests.models import Case, Complaint

from ..models import Channel, Customer, SuppressionEntry
from .normalise import email_key
from .suppression import identifier_hash, suppression_add

REASON_RENORMALISED = "Email address rewritten in the portal's one form (NFKC, trimmed, lower case)"
# Only an address with a character outside printable ASCII can change under NFKC (the old rule
# already trimmed and lower-cased): the database picks those, Python decides.
_NOT_PRINTABLE_ASCII = r"[^ -~]"


@dataclass(frozen=True)
class Renormalised:
    customers: int
    cases: int
    complaints: int
    suppressions_carried: int


@transaction.atomic
def emails_renormalise(*, actor: User | None) -> Renormalised:
    """Rewrite every stored email that email_key would change (customers, requesters,
    complainants), each with its history row. Before a customer's address changes, every
    suppression entry hashed from the old form is repeated for the new one, so a person who opted
    out is never reached by the address they now compare as. Idempotent: a second run changes
    nothing. Counts only, never values."""
    customers = carried = 0
    rows = Customer.objects.select_for_update().filter(email__regex=_NOT_PRINTABLE_ASCII).order_by("pk")
    for customer in rows:
        new = email_key(customer.email)
        if new == customer.email:
            continue
        old_hash = identifier_hash(customer.email)
        for entry in SuppressionEntry.objects.filter(channel=Channel.EMAIL, identifier_hash=old_hash):
            if suppression_add(actor=actor, channel=Channel.EMAIL, identifier=new, reason=entry.reason):
                carried += 1
        customer.email = new
        save_tracked(customer, actor=actor, reason=REASON_RENORMALISED)
        customers += 1
    cases = _rewrite(Case, "requester_email", actor=actor)
    complaints = _rewrite(Complaint, "complainant_email", actor=actor)
    return Renormalised(customers=customers, cases=cases, complaints=complaints, suppressions_carried=carried)


def _rewrite(model, field: str, *, actor: User | None) -> int:
    changed = 0
    rows = model.objects.select_for_update().filter(**{f"{field}__regex": _NOT_PRINTABLE_ASCII}).order_by("pk")
    for row in rows:
        new = email_key(getattr(row, field))
        if new != getattr(row, field):
            setattr(row, field, new)
            save_tracked(row, actor=actor, reason=REASON_RENORMALISED)
            changed += 1
    return changed
