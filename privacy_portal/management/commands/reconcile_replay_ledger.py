"""Write to the replay ledger every erasure the database records but the ledger lacks."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from privacy_portal.services.replay import ledger_reconcile


class Command(BaseCommand):
    help = (
        "Append to the replay ledger (REPLAY_LEDGER_PATH) every erasure the database records (in its scrub "
        "entry) that the ledger lacks, e.g. after a process was killed between the commit and the ledger write. "
        "Idempotent."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Erasures written to the replay ledger: {ledger_reconcile()}.")
