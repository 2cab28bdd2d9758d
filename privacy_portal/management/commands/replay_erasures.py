"""After restoring a backup: re-apply every erasure and purge the replay ledger holds since it."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from privacy_portal.services.restore import ledger_replay


class Command(BaseCommand):
    help = (
        "Re-apply every erasure and purge recorded in the replay ledger (REPLAY_LEDGER_PATH) after --since, "
        "the time the restored backup was taken. Idempotent: run it twice and the second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="The backup's time, ISO 8601 (2026-11-30T23:00:00+00:00).")

    def handle(self, *args, since: str, **options):
        try:
            when = datetime.datetime.fromisoformat(since)
        except ValueError:
            raise CommandError("--since must be an ISO 8601 time, e.g. 2026-11-30T23:00:00+00:00.") from None
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
        report = ledger_replay(since=when)
        self.stdout.write(
            f"Erasures re-applied: {report.erasures}; already done: {report.erasures_already_done}; "
            f"purges re-applied: {report.purges} ({report.rows_deleted} rows); "
            f"suppression entries restored: {report.suppression_restored}; "
            f"access-log trims re-applied: {report.access_log_trims} ({report.access_log_entries_deleted} entries)."
        )
        if report.problems:
            raise CommandError("\n".join(report.problems))
