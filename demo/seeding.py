"""What the demo's case and complaint steps share: the cast who act in them, and logging each demo
item once, for its demo customer (or none), as the agent would."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone

from customers.models import Customer
from privacy_portal.models import User

AGENT, HANDLER, DPO = "agent", "handler", "dpo"


def seed_logged_once(
    stdout,
    *,
    label: str,
    model,
    demos: Iterable[Any],
    log: Callable[[Any, Customer | None, dict[str, User], datetime.date], Any],
) -> None:
    """A seed_demo step: each of `demos` (with its customer's `email`, blank for none) logged by
    `log(demo, customer, cast, today)`, which returns what it made; nothing if the agent has
    logged any `model` already (the step ran). A demo whose customer the customers' step did
    not create is left out."""
    cast = {name: User.objects.get(username=name) for name in (AGENT, HANDLER, DPO)}
    if model.objects.filter(logged_by=cast[AGENT]).exists():
        stdout.write(f"Demo {label}: already present.")
        return
    today = timezone.localdate()
    made = []
    for demo in demos:
        customer = Customer.objects.filter(email=demo.email, erased_at__isnull=True).first() if demo.email else None
        if demo.email and customer is None:
            continue  # the customers' step did not create this person
        made.append(log(demo, customer, cast, today))
    states = sorted({item.get_status_display() for item in made})
    stdout.write(f"Demo {label}: {len(made)} created ({', '.join(states)}).")
