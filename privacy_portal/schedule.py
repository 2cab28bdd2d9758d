"""The periodic schedule, in one place. Run it with exactly one `celery beat`.

Times are Europe/London (CELERY_TIMEZONE). Later work adds its nightly jobs here.
"""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "privacy_portal.tasks.heartbeat",
        "schedule": crontab(minute="*/15"),
    },
}
