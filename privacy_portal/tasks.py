"""Cross-cutting background jobs. Tasks are thin: they call a service and record the run."""

from __future__ import annotations

from celery import shared_task

from .jobs import run_job


@shared_task(name="privacy_portal.tasks.heartbeat")
def heartbeat() -> int:
    """Proves the worker and beat are alive: records a JobRun the DPO's dashboard shows."""
    return run_job("heartbeat", lambda: {"alive": True}).pk
