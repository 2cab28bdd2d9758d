"""Re-applying the replay ledger after a backup is restored (`manage.py replay_erasures`).

The ledger itself, and how every erasure and purge is written to it, is privacy_portal.services.replay;
this module sits above both apps' services, which it calls again: an erasure is carried out again
on the restored case (idempotent: an erased customer is left alone) and its suppression hashes
are put back; a purge deletes the same rows and their history again. Each replayed entry writes
its own chained scrub entry (counts only).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import transaction

from customers.models import Customer, SuppressionEntry
from customers.services.suppression import suppression_reason
from privacy_portal.audit import access_log_trim, audit_scrub, chain_pending
from privacy_portal.purge import delete_with_history
from privacy_portal.services.replay import ACCESS_LOG_TRIM, ERASURE, PURGE, ledger_entries, replaying
from privacy_portal.tracked import get_or_create_tracked
from requests.models import Case
from requests.services.cases import case_signoff
from requests.services.erasure import customer_erase


@dataclass
class ReplayReport:
    erasures: int = 0
    erasures_already_done: int = 0
    purges: int = 0
    rows_deleted: int = 0
    suppression_restored: int = 0
    access_log_trims: int = 0
    access_log_entries_deleted: int = 0
    problems: list[str] = field(default_factory=list)


def ledger_replay(*, since: datetime.datetime) -> ReplayReport:
    """Re-apply every ledger entry newer than `since` (a restored backup's time), in order."""
    report = ReplayReport()
    with replaying():
        for entry in ledger_entries(since):
            if entry["kind"] == ERASURE:
                _replay_erasure(entry, report)
            elif entry["kind"] == PURGE:
                _replay_purge(entry, report)
            elif entry["kind"] == ACCESS_LOG_TRIM:
                _replay_access_log_trim(entry, report)
    return report


def _replay_erasure(entry: dict, report: ReplayReport) -> None:

    with transaction.atomic():
        restored = 0
        for channel, digest, reason in entry["suppression"]:
            _, created = get_or_create_tracked(
                SuppressionEntry.objects.all(),
                actor=None,  # the replay of the ledger, not a member of staff
                reason=f"{suppression_reason(reason)} (replayed from the erasure ledger)",
                channel=channel,
                identifier_hash=digest,
                defaults={"reason": reason},
            )
            restored += created
        report.suppression_restored += restored
        customer = Customer.objects.filter(pk=entry["customer_id"]).first()
        case = Case.objects.filter(pk=entry["case_id"]).first()
        actor = apps.get_model(settings.AUTH_USER_MODEL).objects.filter(pk=entry["actor_id"]).first()
        if customer is None or customer.is_erased:
            report.erasures_already_done += 1
            done = "nothing to erase (the customer is not in this database, or already erased)"
        elif case is None or actor is None:
            report.problems.append(
                f"Ledger line {entry['line']}: customer {customer.pk} is not erased but case {entry['case_id']} or "
                f"user {entry['actor_id']} is not in this database: erase the customer by hand."
            )
            return
        elif case.status == Case.Status.AWAITING_SIGNOFF:
            case_signoff(actor=actor, case=case, approve=True, include=entry["include"])
            report.erasures += 1
            done = "erasure signed off again"
        else:
            customer_erase(actor=actor, case=case, include=entry["include"])
            report.erasures += 1
            done = "erasure carried out again"
        audit_scrub(
            actor=None,
            what="replay: erasure",
            customer_id=entry["customer_id"],
            details={"ledger_entry": entry["id"], "case_id": entry["case_id"], "done": done, "suppression": restored},
        )


def _replay_purge(entry: dict, report: ReplayReport) -> None:

    counts: dict[str, int] = {}
    for label, ids in entry["rows"].items():
        model = apps.get_model(label)
        # The purge was made when nothing held these rows: a hold restored with the backup does not undo it.
        done = delete_with_history(model._default_manager.filter(pk__in=ids), check_holds=False)
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            done[f"{label} history"] += history.model.objects.filter(id__in=ids).delete()[0]
        counts.update({k: v for k, v in done.items() if v})
    report.purges += 1
    report.rows_deleted += sum(v for k, v in counts.items() if not k.endswith(" history"))
    audit_scrub(actor=None, what="replay: purge", details={"ledger_entry": entry["id"], "counts": counts})


def _replay_access_log_trim(entry: dict, report: ReplayReport) -> None:
    """The access log's oldest segment, deleted again up to the position the trim reached (behind
    a new signed segment checkpoint, which is this replay's own chained scrub entry)."""
    chain_pending()  # entries the restored database still had pending take their positions first
    done = access_log_trim(
        cutoff=datetime.datetime.fromisoformat(entry["cutoff"]),
        period=entry["period"],
        through=(entry["through_seq"], entry["hash"]),
    )
    report.access_log_trims += 1
    report.access_log_entries_deleted += done["entries"]
    if done.get("not_trimmed_log_differs") or done.get("not_trimmed_chain_broken"):
        why = "its entry there has another hash" if done.get("not_trimmed_log_differs") else "the chain does not verify"
        report.problems.append(
            f"Ledger line {entry['line']}: the access log was not trimmed again through position "
            f"{entry['through_seq']}: {why}; run verify_audit_log."
        )
