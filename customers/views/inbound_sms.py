"""Inbound text messages that are not a STOP: the agents' list to read, answer and mark handled."""

from __future__ import annotations

from functools import partial

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.models import AccessEvent
from privacy_portal.views.helpers import step_done

from ..access import inbound_sms_for
from ..models import Customer
from ..selectors.customers import inbound_messages
from ..services.normalise import format_phone
from ..services.sms import sms_inbound_mark_handled


@requires("customers.view_inboundsms")
@require_GET
def inbound_sms(request):
    """Messages to answer (or, with ?show=handled, those handled), newest first, 50 a page."""
    handled = request.GET.get("show") == "handled"
    rows, next_before = inbound_messages(handled=handled, cursor=request.GET.get("before", ""))
    customers = Customer.objects.in_bulk({m.customer_id for m in rows if m.customer_id})
    shown = [(m, customers.get(m.customer_id) if m.customer_id else None, format_phone(m.sender)) for m in rows]
    access_record(request=request, action=AccessEvent.Action.VIEW_INBOUND_SMS, result_ids=sorted(customers),
                  details={"messages": len(rows), "handled": handled})  # fmt: skip
    context = {
        "shown": shown,
        "handled": handled,
        "next_before": next_before,
    }
    return render(request, "customers/inbound_sms.html", context)


@requires("customers.change_inboundsms")
@require_POST
def inbound_sms_handled(request, pk: int):
    record = inbound_sms_for(request.user, pk)
    handled = partial(sms_inbound_mark_handled, actor=request.user, message_pk=record.pk)
    step_done(request, handled, message="Marked handled.")
    return redirect("customers:inbound_sms")
