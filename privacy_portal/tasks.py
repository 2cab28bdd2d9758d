"""Cross-cutting background jobs. Tasks are thin: they call a service and record the run."""

from __future__ import annotations

from celery import shared_task

from privacy_portal.services.jobs import run_job


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


@shared_task(name="privacy_portal.tasks.summarise_promises")
def summarise_promises() -> int:
    """Hourly: the current quarter's promise report, summarised (statuses and counts) for the
    DPO's dashboard, which reads the latest instead of building a report on every view."""
    from .promises.summary import JOB_NAME, summarise_quarter

    return run_job(JOB_NAME, summarise_quarter).pk


@shared_task(name="privacy_portal.tasks.summarise_promises_now")
def summarise_promises_now(run_id: int) -> int:
    """The DPO's "Summarise now": the run it recorded (services.promise_summary), done once."""
    from .services.promise_summary import promise_summary_run

    return promise_summary_run(run_id=run_id).pk


@shared_task(name="privacy_portal.tasks.verify_audit_log")
def verify_audit_log() -> dict:
    """Nightly: the access log's check (audit.access_log_check_nightly: chain, verify, write the
    checkpoint, email the DPO on a break), recorded as a run."""
    from .audit import access_log_check_nightly

    return run_job("verify_audit_log", access_log_check_nightly).detail


@shared_task(name="privacy_portal.tasks.apply_retention_schedule")
def apply_retention_schedule() -> int:
    """Nightly: apply the whole retention schedule (privacy_portal.retention), recorded as a run."""
    from .retention import retention_apply

    return run_job("apply_retention_schedule", retention_apply).pk


@shared_task(name="privacy_portal.tasks.reconcile_replay_ledger")
def reconcile_replay_ledger() -> int:
    """Nightly, before the retention run: write to the replay ledger every erasure the database
    records but the ledger lacks (a process killed between the commit and the ledger write)."""
    from privacy_portal.services.replay import ledger_reconcile

    return run_job("reconcile_replay_ledger", lambda: {"appended": ledger_reconcile()}).pk
