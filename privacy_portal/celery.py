"""The Celery application. Settings come from Django's settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")

app = Celery("privacy_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs) -> None:
    # The periodic schedule is declared in exactly one place: privacy_portal/schedule.py. Imported
    # here, once the app is finalised: the package imports this module before Django is set up
    # (settings are in this package too), so nothing the schedule imports may run that early.
    from privacy_portal.schedule import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
