"""Reads the portal's pages need (the access log, per customer)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from .models import AccessEvent


def events_for_customer(customer_id: int):
    """Every read of this customer: opened directly, or returned by a search."""
    direct = Q(customer_id=customer_id)
    if connection.vendor == "postgresql":
        return AccessEvent.objects.filter(direct | Q(result_ids__contains=[customer_id]))  # GIN-indexed
    # SQLite (the local demo) has no JSON containment: pick the searches out in Python.
    searches = AccessEvent.objects.filter(action=AccessEvent.Action.SEARCH).values_list("pk", "result_ids")
    found = [pk for pk, ids in searches if customer_id in (ids or [])]
    return AccessEvent.objects.filter(direct | Q(pk__in=found))
