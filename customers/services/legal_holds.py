"""Legal holds: what the retention schedule must not delete while it may be evidence.

Automatic: while a rights request, a complaint (with any ICO case on it) or a personal-data
breach concerning a person is open, the person's calls, correspondence and case files are held
(deliberately destroying requested data is an offence, DPA 2018 s173). The hold ends by itself
when the last of them closes, and the next nightly run purges what is past its period.

Manual: the DPO places a hold (LegalHold) with a reason and an end date, e.g. for a claim;
released by the DPO, or ended by its date. Either way the next nightly run purges.
"""

from __future__ import annotations

import contextlib
import datetime
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from privacy_portal.bounds import check_date, check_text
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked
from requests.models import BreachAffected, Case, Complaint

from ..access import may_place_legal_holds, may_release_legal_holds
from ..models import Customer, LegalHold

ERR_REASON = "Give the reason for the hold (what it keeps the records for)."
ERR_ENDS_ON = "The hold's end date must be after today."
ERR_ALREADY_RELEASED = "This hold has already been released."
ERR_PERMISSION = "Only the DPO places or releases a legal hold."


def automatic_hold_reasons(customer_ids=None) -> dict[int, list[str]]:
    """Per held customer, why: the references of the open requests, complaints and breaches."""
    reasons: dict[int, list[str]] = {}
    scope = Q() if customer_ids is None else Q(customer_id__in=list(customer_ids))
    for customer_id, reference in (
        Case.objects.filter(scope, status__in=Case.OPEN_STATUSES, customer_id__isnull=False)
        .values_list("customer_id", "reference")
        .order_by("reference")
    ):
        reasons.setdefault(customer_id, []).append(f"Open rights request {reference}")
    for customer_id, reference, ico in (
        Complaint.objects.filter(scope, customer_id__isnull=False)
        .exclude(status=Complaint.Status.CLOSED)
        .values_list("customer_id", "reference", "ico_case__id")
        .order_by("reference")
    ):
        what = "Open complaint" + (" with an ICO case" if ico else "")
        reasons.setdefault(customer_id, []).append(f"{what} {reference}")
    for customer_id, reference in (
        BreachAffected.objects.filter(scope, breach__closed_at__isnull=True)
        .values_list("customer_id", "breach__reference")
        .order_by("breach__reference")
    ):
        reasons.setdefault(customer_id, []).append(f"Open breach {reference}")
    return reasons


def _in_force(today: datetime.date):
    return LegalHold.objects.filter(released_at__isnull=True, ends_on__gte=today)


def held_customer_ids(today: datetime.date | None = None) -> set[int]:
    """Every customer whose records the retention schedule must skip tonight."""
    today = today or timezone.localdate()
    manual = set(_in_force(today).values_list("customer_id", flat=True))
    return manual | set(automatic_hold_reasons())


# The day a retention run applies its holds for (retention_apply(now=...)): the per-batch check
# below judges a DPO's hold's end date by the same day as the run's first look.
_run_day: ContextVar[datetime.date | None] = ContextVar("legal_hold_run_day", default=None)


@contextlib.contextmanager
def holds_judged_on(day: datetime.date):
    token = _run_day.set(day)
    try:
        yield
    finally:
        _run_day.reset(token)


def held_now() -> set[int]:
    """Every customer a hold covers, read now (judged on the run's day, as held_among)."""
    return held_customer_ids(_run_day.get() or timezone.localdate())


def held_among(customer_ids) -> set[int]:
    """Inside a purge batch's transaction, just before it deletes: which of these customers a
    hold covers now. A run reads the holds once when it starts and may take minutes; a complaint,
    request, breach link or hold committed since must still stop the deletion (s173). The
    customers' rows are locked FOR UPDATE first, so a matter naming one of them cannot commit
    between this check and the batch's commit: its foreign-key check (deferred to its commit, as
    Django makes them) takes a KEY SHARE lock on the row and waits for the batch. Every matter is
    therefore seen here, or committed after the deletion."""
    ids = sorted({pk for pk in customer_ids if pk is not None})
    if not ids:
        return set()
    list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    today = _run_day.get() or timezone.localdate()
    manual = set(_in_force(today).filter(customer_id__in=ids).values_list("customer_id", flat=True))
    return manual | set(automatic_hold_reasons(ids))


@dataclass(frozen=True)
class Holds:
    """What holds a customer's records now: the DPO's holds in force, and the open matters."""

    manual: list[LegalHold]
    automatic: list[str]

    def __bool__(self) -> bool:
        return bool(self.manual or self.automatic)


def customer_holds(customer: Customer, today: datetime.date | None = None) -> Holds:
    """The holds on one customer, for the customer page."""
    today = today or timezone.localdate()
    manual = list(_in_force(today).filter(customer=customer).select_related("placed_by"))
    return Holds(manual=manual, automatic=automatic_hold_reasons([customer.pk]).get(customer.pk, []))


@transaction.atomic
def legal_hold_place(*, actor: User, customer: Customer, reason: str, ends_on: datetime.date) -> LegalHold:
    """Place a manual legal hold on the customer's records until `ends_on` (the DPO only)."""
    if not may_place_legal_holds(actor):
        raise ValidationError(ERR_PERMISSION)
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = ERR_REASON
    else:
        check_text(reason)
    if ends_on is None or ends_on <= timezone.localdate():
        errors["ends_on"] = ERR_ENDS_ON
    else:
        try:
            check_date(ends_on)
        except ValidationError as exc:
            errors["ends_on"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    hold = LegalHold(customer=customer, reason=reason, ends_on=ends_on, placed_by=actor)
    save_tracked(hold, actor=actor, reason="Legal hold placed")
    return hold


@transaction.atomic
def legal_hold_release(*, actor: User, hold: LegalHold) -> LegalHold:
    """Release a hold now: the next nightly run purges what is past its period."""
    if not may_release_legal_holds(actor):
        raise ValidationError(ERR_PERMISSION)
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        raise ValidationError(ERR_ALREADY_RELEASED)
    hold.released_at, hold.released_by = timezone.now(), actor
    save_tracked(hold, actor=actor, reason="Legal hold released")
    return hold
