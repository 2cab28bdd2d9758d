"""Generate rights-request cases in bulk, with history and handlers' grants (never in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.management.arguments import positive_int
from demo.scale_cases import DEFAULT_BATCH_SIZE, SPREAD_DAYS, seed_scale_cases


class Command(BaseCommand):
    help = (
        "Add N generated rights-request cases received over the last --days days, in every state, for the "
        "customers already present (run seed_scale first), assigned to scale handlers, with their history rows, "
        "clock stops and object permissions, loaded with PostgreSQL COPY. Each run ADDS N more. PostgreSQL only; "
        "refused when DJANGO_ENV=production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=positive_int, required=True, help="How many cases to add.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--days",
            type=positive_int,
            default=SPREAD_DAYS,
            help=f"Received over this many days (default {SPREAD_DAYS}).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Cases per transaction (default {DEFAULT_BATCH_SIZE:,}).",
        )

    def handle(self, *args, cases: int, seed: int | None, batch_size: int, days: int, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("seed_scale_cases refuses to run when DJANGO_ENV=production.")
        try:
            report = seed_scale_cases(
                cases=cases, seed=seed, batch_size=batch_size, days=days, progress=self.stdout.write
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        states = ", ".join(f"{n:,} {status}" for status, n in report.statuses.most_common())
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {report.cases:,} cases ({states}), {report.clock_stops:,} clock stops, "
                f"{report.history_rows:,} history rows and {report.grants:,} object permissions "
                f"in {report.seconds:.1f}s."
            )
        )
