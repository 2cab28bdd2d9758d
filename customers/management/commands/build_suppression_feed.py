"""Build today's suppression feed now (ops), recorded like the daily run."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from privacy_portal.services.jobs import run_job

from ...services.feed import feed_directory, suppression_feed_build


class Command(BaseCommand):
    help = (
        "Write today's suppression feed (one CSV per channel) and the ad audiences' removal files to "
        "private storage and record what they actioned."
    )

    def handle(self, *args, **options) -> None:
        run = run_job("build_suppression_feed", suppression_feed_build)
        self.stdout.write(f"Written to {feed_directory(timezone.localdate(run.started_at))}")
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in run.detail.items()))
