"""Background jobs of the rights-requests app. Thin: load by id, call one service."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from privacy_portal.jobs import run_job

from .models import Case
from .services.documents import private_files_sweep
from .services.export import export_build, export_request_run, export_requests_sweep, exports_delete_expired
from .services.reminders import reminders_send

log = logging.getLogger(__name__)


@shared_task(name="requests.tasks.run_export_request")
def run_export_request(export_request_id: int) -> int | None:
    """Build the export an ExportRequest (the outbox row) asks for. A second delivery, or a
    send again by the sweep, builds nothing more (export_request_run works once)."""
    doc = export_request_run(export_request_id=export_request_id)
    return doc.pk if doc is not None else None


@shared_task(name="requests.tasks.sweep_export_requests")
def sweep_export_requests() -> dict:
    """Every minute: send again export requests not started in time, delete stale .part files."""
    return export_requests_sweep()


@shared_task(name="requests.tasks.build_export")
def build_export(case_id: int, actor_id: int, requested_at: str | None = None) -> int | None:
    """Build a case's access or portability export, from a message queued before requests
    had an outbox row (kept so those still in a queue at upgrade are built). A second
    delivery returns the export already built (export_build is idempotent per `requested_at`)."""
    case = Case.objects.filter(pk=case_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if case is None or actor is None:
        log.warning("build_export: case %s or actor %s no longer exists", case_id, actor_id)
        return None
    when = datetime.datetime.fromisoformat(requested_at) if requested_at else None
    try:
        return export_build(actor=actor, case=case, requested_at=when).pk
    except ValidationError as exc:
        # The case changed since the request (e.g. the customer was erased): nothing to retry.
        log.warning("build_export: case %s not exported: %s", case_id, "; ".join(exc.messages))
        return None


@shared_task(name="requests.tasks.delete_expired_exports")
def delete_expired_exports() -> int:
    """Nightly: delete exports past legal.EXPORT_RETENTION_DAYS, each deletion recorded."""
    return run_job("delete_expired_exports", exports_delete_expired).pk


@shared_task(name="requests.tasks.delete_orphaned_files")
def delete_orphaned_files() -> int:
    """Nightly: delete files in private storage that no row names (a day old or more), and
    files left half-written by a process that died."""
    return run_job("delete_orphaned_files", private_files_sweep).pk


@shared_task(name="requests.tasks.send_case_reminders")
def send_case_reminders() -> int:
    """Daily: remind handlers of cases due soon and tell the DPO of overdue ones, once each."""
    return run_job("send_case_reminders", reminders_send).pk


@shared_task(name="requests.tasks.erase_customer")
def erase_customer(case_id: int, actor_id: int) -> bool:
    """Carry out a signed-off erasure again, e.g. after restoring a backup taken before it
    (the DPO's sign-off itself erases at once, in its own transaction). Idempotent: an
    erased customer is left as it is. True if anything was erased."""
    from .services.erasure import customer_erase

    case = Case.objects.filter(pk=case_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if case is None or actor is None:
        log.warning("erase_customer: case %s or actor %s no longer exists", case_id, actor_id)
        return False
    return customer_erase(actor=actor, case=case) is not None


@shared_task(name="requests.tasks.send_complaint_reminders")
def send_complaint_reminders() -> int:
    """Daily: complaint acknowledgements and response targets (handler before, DPO once
    missed) and the ICO's deadlines (DPO before, on the day and once missed), once each."""
    from .services.complaint_reminders import complaint_reminders_send

    return run_job("send_complaint_reminders", complaint_reminders_send).pk


@shared_task(name="requests.tasks.purge_expired_case_files")
def purge_expired_case_files() -> int:
    """Nightly: correspondence of requests and complaints closed more than
    legal.CASE_FILE_RETENTION_YEARS ago, attachments and history rows included."""
    from .services.correspondence import case_files_purge_expired

    return run_job("purge_expired_case_files", case_files_purge_expired).pk


@shared_task(name="requests.tasks.send_breach_reminders")
def send_breach_reminders() -> int:
    """Every 10 minutes: the DPO at 24, 48 and 66 hours after a breach became known, and an
    alert once 72 hours pass without an initial report to the ICO, once each."""
    from .services.breach_reminders import breach_reminders_send

    return run_job("send_breach_reminders", breach_reminders_send).pk
