"""Chain what is pending, then walk the access log's hash chain and name every broken link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from privacy_portal.audit import chain_pending, verify_chain


class Command(BaseCommand):
    help = (
        "Chain the access-log entries written since the chainer last ran, then verify the SHA-256 hash "
        "chain end to end; exit non-zero naming every broken link. Entries not chained yet are reported "
        "as pending, not as breaks."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-chain",
            action="store_true",
            help="Verify only: do not chain pending entries first (they are reported as pending).",
        )

    def handle(self, *args, **options):
        if not options["no_chain"]:
            chained = chain_pending()
            if chained:
                self.stdout.write(f"Chained {chained} pending entries.")
        report = verify_chain()
        if not report.ok:
            lines = [report.summary(), *(f"  {b}" for b in report.breaks)]
            raise CommandError("\n".join(lines))
        self.stdout.write(self.style.SUCCESS(report.summary()))
