"""Load an MPS Personal file (fixed width, or its CSV variant by a .csv name) and match it."""

from __future__ import annotations

from customers.services.mps import mps_load, mps_to_review

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Load an MPS Personal file, match it against customers, and stop all marketing to the deceased."
    permission = "customers.add_mpsfile"

    def handle(self, *args, file, user, **options):
        loaded = self.run_import(mps_load, file=file, user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {loaded.lines:,} MPS record(s) ({loaded.removals:,} P, {loaded.deceased:,} X):"
                f" {loaded.matched:,} matched a customer; {mps_to_review(loaded):,} match(es) at a former address"
                " to review on the MPS reviews page (/customers/mps-reviews/)."
            )
        )
