"""Every workflow step under its row lock.

A step ("complete", "sign off", "acknowledge"...) reads the state of its object, checks the
move is allowed, and saves. Two of them sent at the same moment (a double click, two tabs,
the handler and the DPO) both read the old state, both pass the check, and both save: two
"Completed" history rows, the second outcome silently replacing the first.

`@transition("case")` closes that gap once for every service: inside the service's
transaction it reads the named objects again with SELECT ... FOR UPDATE, into the very
instances the caller passed (so the caller sees the state the step acted on), before the
service's own checks run. The second request waits for the first to commit, then finds the
new state and is refused by the same check that refuses a step repeated a second later.

Locks are taken in the order the parameters are named; every service names the case or
complaint first and anything under it (an ICO deadline) after, and customers are locked
after their case (restriction, erasure), so two steps never wait on each other in a cycle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from django.db import models, transaction

F = TypeVar("F", bound=Callable)

# Every service declared with @transition, in definition order: the concurrency test walks it.
REGISTRY: list[Callable] = []

_LOCKED = "_row_locked_by_transition"


def lock_row(obj: models.Model) -> models.Model:
    """Lock `obj`'s row until the transaction ends and reload its fields from the database.

    Must run inside a transaction (the lock is released at its end). Relations cached on the
    instance are dropped, so they are read again, after the lock, when next used."""
    obj.refresh_from_db(from_queryset=type(obj)._base_manager.select_for_update())
    return obj


def transition(*params: str) -> Callable[[F], F]:
    """Run the decorated service in one transaction, with the objects passed as the keyword
    arguments `params` locked and reloaded first. A nested locked service (sign-off calling
    the erasure) does not reload an instance its caller already locked and may have changed."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with transaction.atomic():
                taken = []
                try:
                    for name in params:
                        obj = kwargs.get(name)
                        if obj is None or getattr(obj, _LOCKED, False):
                            continue
                        lock_row(obj)
                        setattr(obj, _LOCKED, True)
                        taken.append(obj)
                    return func(*args, **kwargs)
                finally:
                    for obj in taken:
                        setattr(obj, _LOCKED, False)

        wrapper.row_locks = params  # type: ignore[attr-defined]  # read by the lock walk (tests)
        REGISTRY.append(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorator
