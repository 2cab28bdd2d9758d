"""Walk the access log's hash chain and name the first broken link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from privacy_portal.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the access log's SHA-256 hash chain; exit non-zero naming the first broken link."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit log chain broken at entry {report.first_broken_id}: {report.problem} "
                f"({report.checked} entries checked)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit log chain intact: {report.checked} entries checked."))
