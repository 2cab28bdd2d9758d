"""Run the retention purge now (ops), recorded like the nightly run."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from privacy_portal import legal
from privacy_portal.services.jobs import run_job

from ...services.retention import PURGE_BATCH_SIZE, purge_expired_calls


class Command(BaseCommand):
    help = (
        f"Delete calls and transcripts older than {legal.CALL_RETENTION_MONTHS} months and correspondence older than "
        f"{legal.CORRESPONDENCE_RETENTION_MONTHS} months, with their history rows."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=PURGE_BATCH_SIZE, help="Ids deleted per transaction.")

    def handle(self, *args, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        run = run_job("purge_expired_calls", lambda: purge_expired_calls(batch_size=batch_size))
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in run.detail.items()))
