"""Break-glass: a handler opens a customer outside its cases, only with a reason; the opening is
flagged in the access log and the DPO is told at once, in one transaction."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from privacy_portal.access import may_break_glass
from privacy_portal.audit import access_record
from privacy_portal.mail import email_dpo
from privacy_portal.models import AccessEvent, User

from ..models import Customer

BREAK_GLASS_MIN_WORDS = 4
ERR_BREAK_GLASS_REASON = "Give a real reason, in a sentence: why your work needs this customer now."
ERR_NO_SUCH_CUSTOMER = "No customer has that reference."


@transaction.atomic
def customer_break_glass(*, actor: User, request: HttpRequest, reference: str, reason: str) -> Customer:
    """The customer `reference` names, opened for `actor` (who may break glass) outside its cases.
    `reason` must be a sentence (at least BREAK_GLASS_MIN_WORDS words); it goes to the access log
    (a flagged break-glass read of `request`), never into the DPO's email. Recorded first, the
    DPO told after: an email that cannot be sent leaves no opening recorded, and the page is not
    shown."""
    if not may_break_glass(actor):
        raise PermissionDenied
    reason = " ".join(reason.split())
    errors = {}
    if len(reason.split()) < BREAK_GLASS_MIN_WORDS:
        errors["reason"] = ERR_BREAK_GLASS_REASON
    pk = Customer.pk_from_reference(reference)
    customer = Customer.objects.filter(pk=pk).first() if pk else None
    if customer is None:
        errors["reference"] = ERR_NO_SUCH_CUSTOMER
    if errors:
        raise ValidationError(errors)
    assert customer is not None  # errors names it otherwise
    access_record(
        request=request,
        action=AccessEvent.Action.BREAK_GLASS,
        customer_id=customer.pk,
        obj=customer,
        reason=reason,
        flagged=True,
    )
    _tell_dpo(actor, customer)
    return customer


def _tell_dpo(actor: User, customer: Customer) -> None:
    # Ids only: the email leaves the portal.
    email_dpo(
        subject="Privacy Portal: break-glass access",
        body=f"Staff #{actor.pk} ({actor.get_role_display()}) opened customer {customer.reference} outside their "
        "cases and gave a reason. Review it in the access log.",
        kind="break_glass",
        user_id=actor.pk,
        customer_id=customer.pk,
    )
