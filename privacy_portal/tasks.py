"""Cross-cutting background jobs. Tasks are thin: they call a service and record the run."""

from __future__ import annotations

from celery import shared_task

from .jobs import run_job


@shared_task(name="privacy_portal.tasks.heartbeat")
def heartbeat() -> int:
    """Proves the worker and beat are alive: records a JobRun the DPO's dashboard shows."""
    return run_job("heartbeat", lambda: {"alive": True}).pk


@shared_task(name="privacy_portal.tasks.chain_access_log")
def chain_access_log() -> int:
    """Every few seconds: chain the access-log entries written since the last run.

    Idempotent (only entries with no hash are touched) and never queues behind itself: if
    another chainer holds the lock this run does nothing; the next one picks the entries up.
    Not recorded as a JobRun (one every few seconds would bury the nightly jobs)."""
    from .audit import chain_pending

    return chain_pending(wait=False)


@shared_task(name="privacy_portal.tasks.verify_audit_log")
def verify_audit_log() -> dict:
    """Nightly: chain what is pending, verify the access log's hash chain end to end (and
    against the last checkpoint), write the new checkpoint of its head (audit.write_checkpoint,
    signed, under private storage), and on any break email the DPO naming every broken entry."""
    from django.conf import settings
    from django.core.mail import send_mail

    from .audit import chain_pending, verify_chain, write_checkpoint

    def work() -> dict:
        chained = chain_pending()
        report = verify_chain()
        # The head anchored outside the database, only from a chain that verified (and
        # matched the previous checkpoint): a later truncation or rewrite is caught against it.
        checkpoint = write_checkpoint() if report.ok else None
        if not report.ok:
            broken = "\n".join(f"- {b}" for b in report.breaks)
            send_mail(
                "Privacy Portal: the access log's tamper check failed",
                f"The access log's hash chain is broken in {len(report.breaks)} places "
                f"({report.checked} entries checked):\n{broken}\n\n"
                "Investigate before anything else changes: run `manage.py verify_audit_log`.",
                settings.DEFAULT_FROM_EMAIL,
                [settings.DPO_EMAIL],
            )
        return {
            "chained": chained,
            "checked": report.checked,
            "ok": report.ok,
            "breaks": len(report.breaks),
            # The job record keeps the first ids; the email and the command name them all.
            "broken_ids": [b.entry_id for b in report.breaks[:100]],
            "pending": report.pending,
            "checkpoint_seq": checkpoint["seq"] if checkpoint else None,
        }

    return run_job("verify_audit_log", work).detail


@shared_task(name="privacy_portal.tasks.apply_retention_schedule")
def apply_retention_schedule() -> int:
    """Nightly: apply the whole retention schedule (privacy_portal.retention), recorded as a run."""
    from .retention import retention_apply

    return run_job("apply_retention_schedule", retention_apply).pk
