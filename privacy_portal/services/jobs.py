"""Recording scheduled job runs, so the DPO can see the nightly work happened."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from privacy_portal.models import JobRun


def run_job(name: str, work: Callable[[], dict]) -> JobRun:
    """Run `work`, recording its start, end and report (counts only, never personal data)."""
    run = JobRun.objects.create(name=name, started_at=timezone.now())
    try:
        detail = work() or {}
    except Exception as exc:
        run.outcome = JobRun.Outcome.FAILED
        run.detail = {"error": type(exc).__name__}
        run.finished_at = timezone.now()
        run.save()
        raise
    run.detail = detail
    run.finished_at = timezone.now()
    run.save()
    return run
