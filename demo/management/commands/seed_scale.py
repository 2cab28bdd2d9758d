"""Generate customers in bulk, with preferences, calls, purchases and history (never in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.management.arguments import positive_int
from demo.scale_customers import DEFAULT_BATCH_SIZE, seed_scale


class Command(BaseCommand):
    help = (
        "Add N generated UK customers with marketing preference changes, suppression entries, calls and "
        "purchases, and their history rows, loaded with PostgreSQL COPY (a million take minutes). Each run "
        "ADDS N more customers: it never deletes or replaces existing ones. PostgreSQL only; refused when "
        "DJANGO_ENV=production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=positive_int, required=True, help="How many customers to add.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Customers per transaction (default {DEFAULT_BATCH_SIZE:,}).",
        )

    def handle(self, *args, customers: int, seed: int | None, batch_size: int, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("seed_scale refuses to run when DJANGO_ENV=production.")
        try:
            report = seed_scale(customers=customers, seed=seed, batch_size=batch_size, progress=self.stdout.write)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {report.customers:,} customers (ids {report.first_id} to {report.last_id}), "
                f"{report.preference_changes:,} preference changes, {report.suppression_entries:,} suppression "
                f"entries, {report.calls:,} calls and {report.purchases:,} purchases, with history, "
                f"in {report.seconds:.1f}s."
            )
        )
