"""Legal holds: what the retention schedule must not delete while it may be evidence.

Automatic: while a rights request, a complaint (with any ICO case on it) or a personal-data
breach concerning a person is open, the person's calls, correspondence and case files are held
(deliberately destroying requested data is an offence, DPA 2018 s173). The hold ends by itself
when the last of them closes, and the next nightly run purges what is past its period.
"""

from __future__ import annotations

from django.db.models import Q


def automatic_hold_reasons(customer_ids=None) -> dict[int, list[str]]:
    """Per held customer, why: the references of the open requests, complaints and breaches."""
    from requests.models import BreachAffected, Case, Complaint

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


def held_customer_ids() -> set[int]:
    """Every customer whose records the retention schedule must skip tonight."""
    return set(automatic_hold_reasons())
