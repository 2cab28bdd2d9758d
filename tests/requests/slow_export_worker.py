"""A real Celery worker process whose export builds are slow, for the worker-kill test.

    python -m tests.requests.slow_export_worker <queue>

The environment configures it like any worker (DATABASE_URL, CELERY_BROKER_URL, ...), plus
SLOW_EXPORT_SECONDS: how long each build waits, after taking its locks and before reading the
customer's data, so that a test can kill the worker mid-build. The pool is "solo": the task runs
in the worker's main process, so a SIGKILL on that process kills the worker as a whole, as an
out-of-memory kill or a lost machine would (a killed prefork child would be replaced and its
task requeued at once, which is the easy case).
"""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
django.setup()

from privacy_portal.celery import app  # noqa: E402
from requests.services.export import render  # noqa: E402

SLOW = float(os.environ.get("SLOW_EXPORT_SECONDS", "0"))

if SLOW:
    original = render.export_files

    def slow_export_files(case, **kwargs):
        time.sleep(SLOW)
        return original(case, **kwargs)

    render.export_files = slow_export_files  # what build.export_build calls


if __name__ == "__main__":
    queue = sys.argv[1]
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            f"--queues={queue}",
            f"--hostname={queue}-{os.getpid()}@%h",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
        ]
    )
