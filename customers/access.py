"""Who may read a customer's case file (calls, transcripts, correspondence, disclosures, purchases)."""

from __future__ import annotations


def may_read_case_file(user, customer, model_perm: str) -> bool:
    """Model-level `model_perm` (DPO, auditors), or the per-case grant a handler holds on
    this customer (requests.services.grants: `customers.view_transcript` on the object)."""
    return user.has_perm(model_perm) or user.has_perm("customers.view_transcript", customer)
