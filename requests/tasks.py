"""Background jobs of the rights-requests app. Thin: load by id, call one service.

Each task imports its service inside its body (the HackSoft styleguide's pattern): the services
import this module at the top to enqueue their tasks, and a task is only ever called by the
worker, by name, so the import is only needed when it runs. tests/test_import_cycles.py leaves
these imports out of the graph for that reason (and only for a tasks module).
"""

from __future__ import annotations

from celery import shared_task

from privacy_portal.private_storage import private_files_sweep
from privacy_portal.services.jobs import run_job


@shared_task(name="requests.tasks.run_export_request")
def run_export_request(export_request_id: int) -> int | None:
    """Build the export an ExportRequest (the outbox row) asks for. A second delivery, or a
    send again by the sweep, builds nothing more (export_request_run works once)."""
    from .services.export import export_request_run

    doc = export_request_run(export_request_id=export_request_id)
    return doc.pk if doc is not None else None


@shared_task(name="requests.tasks.sweep_export_requests")
def sweep_export_requests() -> dict:
    """Every minute: send again export requests not started in time, delete stale .part files."""
    from .services.export import export_requests_sweep

    return export_requests_sweep()


@shared_task(name="requests.tasks.build_export")
def build_export(case_id: int, actor_id: int, requested_at: str | None = None) -> int | None:
    """Build a case's access or portability export, from a message queued before requests
    had an outbox row (kept so those still in a queue at upgrade are built). A second
    delivery returns the export already built (export_build is idempotent per `requested_at`)."""
    from .services.export import export_build_queued

    return export_build_queued(case_id=case_id, actor_id=actor_id, requested_at=requested_at)


@shared_task(name="requests.tasks.delete_expired_exports")
def delete_expired_exports() -> int:
    """Nightly: delete exports past legal.EXPORT_RETENTION_DAYS, each deletion recorded."""
    from .services.export import exports_delete_expired

    return run_job("delete_expired_exports", exports_delete_expired).pk


@shared_task(name="requests.tasks.delete_orphaned_files")
def delete_orphaned_files() -> int:
    """Nightly: delete files in private storage that no row names (a day old or more), and
    files left half-written by a process that died."""
    return run_job("delete_orphaned_files", private_files_sweep).pk


@shared_task(name="requests.tasks.send_case_reminders")
def send_case_reminders() -> int:
    """Daily: remind handlers of cases due soon and tell the DPO of overdue ones, once each."""
    from .services.reminders import reminders_send

    return run_job("send_case_reminders", reminders_send).pk


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


@shared_task(name="requests.tasks.send_case_message")
def send_case_message(correspondence_id: int) -> str | None:
    """Send one message recorded as queued in a case's or complaint's correspondence (enqueued
    when its step commits). Idempotent: a message no longer queued is not sent again."""
    from .services.messages import message_deliver

    item = message_deliver(correspondence_id=correspondence_id)
    return item.delivery if item is not None else None


@shared_task(name="requests.tasks.sweep_case_messages")
def sweep_case_messages() -> int:
    """Every minute: send the messages whose task was lost (broker down at commit, worker killed)."""
    from .services.messages import messages_sweep

    return messages_sweep()
