"""A customer's purchases, read-only (they are imported from the order system)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from privacy_portal import legal
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent

from ..access import customer_for, may_read_purchases
from ..services.purchases import purchases_for


# Who may know the customer is decided per customer (a handler's case grant on it), then who may
# see purchases: the model permission, or the handler's case-file grant on this customer.
@requires(object_perm="customers.view_customer")
@require_GET
def purchases(request, pk: int):
    customer = customer_for(request.user, pk)
    if not may_read_purchases(request.user, customer):
        raise PermissionDenied
    items = list(purchases_for(customer))
    access_record(request=request, action=AccessEvent.Action.VIEW_PURCHASES, customer_id=customer.pk, obj=customer)
    context = {"customer": customer, "purchases": items, "retention_years": legal.PURCHASE_RETENTION_YEARS}
    return render(request, "customers/purchases.html", context)
