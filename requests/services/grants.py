"""Object-level access that follows assignment: a handler sees its cases and their customers."""

from __future__ import annotations

from guardian.shortcuts import assign_perm, remove_perm

from ..models import Case, Complaint

CASE_PERMS = ("requests.view_case", "requests.work_case")
# guardian grants on a Customer can only carry Customer permissions. `view_transcript`, the
# most sensitive, stands for the whole case file: the customer's calls and transcripts,
# correspondence, disclosures and purchases (PRODUCT.md: a handler sees "the customers in
# them, their disclosures and call records"). See customers.access.may_read_case_file.
# `view_disclosure` is also declared on Customer, for the disclosures tab.
CUSTOMER_PERMS = ("customers.view_customer", "customers.view_transcript", "customers.view_disclosure")


def grant_case(user, case: Case) -> None:
    for perm in CASE_PERMS:
        assign_perm(perm, user, case)
    if case.customer_id:
        for perm in CUSTOMER_PERMS:
            assign_perm(perm, user, case.customer)


def revoke_case(user, case: Case) -> None:
    for perm in CASE_PERMS:
        remove_perm(perm, user, case)
    if case.customer_id:
        # An open complaint of the same customer that the user handles needs the grants too.
        still_needed = (
            Case.objects.filter(customer_id=case.customer_id, handler=user, closed_on__isnull=True)
            .exclude(pk=case.pk)
            .exists()
            or Complaint.objects.filter(customer_id=case.customer_id, handler=user)
            .exclude(status=Complaint.Status.CLOSED)
            .exists()
        )
        if not still_needed:
            for perm in CUSTOMER_PERMS:
                remove_perm(perm, user, case.customer)
