"""seed_demo step: broken promises, so the demo's promise report shows what broken looks like.

This quarter (and so the DPO's dashboard): a phone opt-out past its 7 days and not yet actioned,
a rectification request answered after its due date, and a break-glass opening the DPO has not
reviewed. Each is made through the services (or, for the access log, the way a request writes
it); once only.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from customers.models import Customer, PreferenceChange
from customers.services.preferences import preference_record
from privacy_portal.models import AccessEvent, User
from privacy_portal.tasks import summarise_promises
from requests.services import cases as svc

MARK = "Demo: a promise broken on purpose (promise report)"


def seed_demo_promises(stdout) -> None:
    if PreferenceChange.objects.filter(evidence=MARK).exists():
        stdout.write("Demo broken promises: already present.")
        return
    agent, handler, dpo = (User.objects.get(username=name) for name in ("agent", "handler", "dpo"))
    customers = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk")[:3])
    if len(customers) < 3:
        stdout.write("Demo broken promises: skipped (no demo customers).")
        return
    now = timezone.now()
    # Told us by phone 12 days ago: 7 days to take effect, and no feed has carried it since.
    preference_record(
        actor=agent, customer=customers[0], purpose="direct_marketing", channel="phone", granted=False,
        source="phone_call", received_at=now - datetime.timedelta(days=12), evidence=MARK,
    )  # fmt: skip
    # A rectification received 45 days ago (due about two weeks ago), answered today: late.
    [case] = svc.case_log(
        actor=agent, rights=["rectification"], channel="phone", received_on=timezone.localdate() - datetime.timedelta(
            days=45), customer=customers[1], description="Correct the spelling of the street name.",
    )  # fmt: skip
    case = svc.case_assign(actor=dpo, case=case, handler=handler)
    case = svc.case_start(actor=handler, case=case)
    svc.case_complete(actor=handler, case=case, outcome="Street name corrected; the customer told in writing.")
    # A handler opened a customer outside its cases 10 days ago; the DPO has not reviewed it.
    AccessEvent.objects.create(  # type: ignore[misc]  # reason: a property, saved to the side table
        user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=customers[2].pk, flagged=True,
        at=now - datetime.timedelta(days=10), reason="The customer rang about a parcel; no case logged yet.",
    )  # fmt: skip
    stdout.write(
        f"Demo broken promises: a late opt-out, request {case.reference} answered late, an unreviewed break-glass."
    )


def summarise_demo_promises(stdout) -> None:
    """The demo's last step: the quarter's promise summary made once, so the DPO's dashboard shows
    the broken promises at once instead of "Not summarised yet" until the hourly job runs."""
    summarise_promises()
    stdout.write("Demo promise summary: made for this quarter.")
