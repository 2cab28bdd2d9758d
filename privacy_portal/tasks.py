"""Cross-cutting background jobs. Tasks are thin: they call a service and record the run."""

from __future__ import annotations

from celery import shared_task

from .jobs import run_job


@shared_task(name="privacy_portal.tasks.heartbeat")
def heartbeat() -> int:
    """Proves the worker and beat are alive: records a JobRun the DPO's dashboard shows."""
    return run_job("heartbeat", lambda: {"alive": True}).pk


@shared_task(name="privacy_portal.tasks.verify_audit_log")
def verify_audit_log() -> dict:
    """Nightly: verify the access log's hash chain; on a break, alert the DPO by email."""
    from django.conf import settings
    from django.core.mail import send_mail

    from .audit import verify_chain

    def work() -> dict:
        report = verify_chain()
        if not report.ok:
            send_mail(
                "Privacy Portal: the access log's tamper check failed",
                f"The hash chain is broken at entry {report.first_broken_id}: {report.problem}.\n"
                "Investigate before anything else changes: run `manage.py verify_audit_log`.",
                settings.DEFAULT_FROM_EMAIL,
                [settings.DPO_EMAIL],
            )
        return {"checked": report.checked, "ok": report.ok, "first_broken_id": report.first_broken_id}

    return run_job("verify_audit_log", work).detail
