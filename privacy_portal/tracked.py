"""Tracked saves: each change to a model with history says who made it and why.

simple-history takes the author and the reason of the next history row from two private
attributes of the instance (`_history_user`, `_change_reason`). This module is the one place
that sets them; services call `save_tracked` (`get_or_create_tracked` for a row made on first
use), or `track` where the history row is written by something other than `save()`: an m2m
`add()`, or `bulk_create_with_history` with a reason per row. No other module calls a tracked
model's `save()` or its manager's `create()`/`get_or_create()` itself
(`tests/test_one_home_rules.py`).

`actor` is the member of staff making the change, or None when no member of staff does (the
email or SMS gateway, the background worker, the requester on a public page, seeding): None is
recorded as no author, even if someone happens to be signed in. `reason` None records no reason
(a history row that its type alone explains, such as a note being written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, models, transaction

if TYPE_CHECKING:
    from .models import User

M = TypeVar("M", bound=models.Model)


def track(obj: M, *, actor: User | None, reason: str | None) -> M:
    """Set who and why for the history rows `obj`'s next change writes, without saving it."""
    obj._history_user = actor  # type: ignore[attr-defined]  # simple-history's per-instance author
    if reason is not None:
        obj._change_reason = reason  # type: ignore[attr-defined]  # simple-history's per-instance reason
    return obj


def save_tracked(
    obj: M,
    *,
    actor: User | None,
    reason: str | None,
    update_fields: Iterable[str] | None = None,
    savepoint: bool = False,
) -> M:
    """Save `obj` so that its history row records `actor` and `reason`.

    `savepoint`: the save in a savepoint of its own, so that a caller catching its IntegrityError
    (a unique constraint: a second delivery, a concurrent click) carries on in a transaction
    that is still usable."""
    track(obj, actor=actor, reason=reason)
    if savepoint:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    else:
        obj.save(update_fields=update_fields)
    return obj


def get_or_create_tracked(
    rows: models.QuerySet[M],
    *,
    actor: User | None,
    reason: str | None,
    defaults: Mapping[str, Any] | None = None,
    **lookup: Any,
) -> tuple[M, bool]:
    """The row of `rows` matching `lookup`, or a new one (`lookup` and `defaults`) saved with
    save_tracked: (row, created). As Django's get_or_create: the insert in a savepoint, so a
    concurrent insert of the same row (a unique constraint) is answered by reading that row.
    `rows` may be locking (`select_for_update()`, so run inside the caller's transaction); an
    existing row's history is untouched."""
    try:
        return rows.get(**lookup), False
    except ObjectDoesNotExist:
        pass
    obj = rows.model(**lookup, **(defaults or {}))
    try:
        save_tracked(obj, actor=actor, reason=reason, savepoint=True)
    except IntegrityError as error:
        try:
            return rows.get(**lookup), False
        except ObjectDoesNotExist:
            raise error from None  # another constraint: not a concurrent insert of this row
    return obj, True
