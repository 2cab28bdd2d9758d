"""The periodic schedule, in one place. Run it with exactly one `celery beat`.

Times are Europe/London (CELERY_TIMEZONE). Later work adds its nightly jobs here.
"""

from __future__ import annotations

from celery.schedules import crontab

# How often the access log's chainer runs: an entry is unchained for at most about this long.
ACCESS_LOG_CHAIN_SECONDS = 5.0

BEAT_SCHEDULE: dict[str, dict] = {
    # Links the access-log entries written since the last run into the hash chain (requests
    # insert them unchained, so the request path holds no global lock). A run not started
    # within the interval is dropped: the next one does the same work.
    "chain-access-log": {
        "task": "privacy_portal.tasks.chain_access_log",
        "schedule": ACCESS_LOG_CHAIN_SECONDS,
        "options": {"expires": ACCESS_LOG_CHAIN_SECONDS},
    },
    "heartbeat": {
        "task": "privacy_portal.tasks.heartbeat",
        "schedule": crontab(minute="*/15"),
    },
    # The suppression feed marketing systems load each morning; it actions pending opt-outs.
    # 00:30, not 01:xx: that hour is skipped when the clocks go forward in March.
    "build-suppression-feed": {
        "task": "customers.tasks.build_suppression_feed",
        "schedule": crontab(hour=0, minute=30),
    },
    # The whole retention schedule (privacy_portal.retention.SCHEDULE), every kind of record
    # through its own service, skipping what a legal hold covers; one chained scrub entry.
    "apply-retention-schedule": {
        "task": "privacy_portal.tasks.apply_retention_schedule",
        "schedule": crontab(hour=2, minute=30),
    },
    # Erasures the database records but the replay ledger lacks (a process killed between the
    # commit and the ledger write) are written to the ledger, before the retention run.
    "reconcile-replay-ledger": {
        "task": "privacy_portal.tasks.reconcile_replay_ledger",
        "schedule": crontab(hour=2, minute=15),
    },
    # Files in private storage that no row names (left by a process killed mid-way), a day old.
    "delete-orphaned-files": {
        "task": "requests.tasks.delete_orphaned_files",
        "schedule": crontab(hour=3, minute=15),
    },
    # Handlers 7 and 2 days before a case is due, the DPO once it is overdue: before the working day.
    "send-case-reminders": {
        "task": "requests.tasks.send_case_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    # Complaints: the s164A acknowledgement, the DPO's response target and each ICO deadline.
    "send-complaint-reminders": {
        "task": "requests.tasks.send_complaint_reminders",
        "schedule": crontab(hour=7, minute=5),
    },
    # The 72-hour breach clock runs in hours: 24, 48 and 66 hours after awareness, and overdue.
    "send-breach-reminders": {
        "task": "requests.tasks.send_breach_reminders",
        "schedule": crontab(minute="*/10"),
    },
    # The outbox: export requests not started in time are sent again (a broker outage or a
    # worker killed as a whole costs minutes, never the request); stale .part files deleted.
    "sweep-export-requests": {
        "task": "requests.tasks.sweep_export_requests",
        "schedule": crontab(minute="*"),
    },
    # The public door's messages whose task was lost (broker down when their step committed, a
    # worker killed): sent once each (requests.services.messages.message_deliver).
    "sweep-case-messages": {
        "task": "requests.tasks.sweep_case_messages",
        "schedule": crontab(minute="*"),
    },
    # Call-list screenings whose task was lost (queued ten minutes) or whose worker died
    # (running past the task's time limit): sent again (customers.services.campaign).
    "sweep-campaign-screenings": {
        "task": "customers.tasks.sweep_campaign_screenings",
        "schedule": crontab(minute="*"),
    },
    # Concatenated texts whose other parts never came (customers.services.sms): acted on as far
    # as they go, so a STOP in what came is honoured and an agent reads the rest.
    "flush-waiting-sms-parts": {
        "task": "customers.tasks.flush_waiting_sms_parts",
        "schedule": crontab(minute=40),
    },
    # The quarter's promise report summarised for the DPO's dashboard (seconds at a million
    # customers: never on a page view). The dashboard says when it was made.
    "summarise-promises": {
        "task": "privacy_portal.tasks.summarise_promises",
        "schedule": crontab(minute=20),
    },
    # The access log's hash chain, walked end to end; the DPO is emailed on a break.
    "verify-audit-log": {
        "task": "privacy_portal.tasks.verify_audit_log",
        "schedule": crontab(hour=4, minute=0),
    },
}
