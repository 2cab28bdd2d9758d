"""Load a TPS or CTPS file: a full download, or a day's additions or deletions."""

from __future__ import annotations

import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from customers.services.imports import ImportRejected
from customers.services.tps import Progress, tps_load

from ._importing import importing_user, rejected


class Command(BaseCommand):
    help = (
        "Load a TPS/CTPS file in either published layout (12-character records, CR LF). A full file replaces"
        " the register atomically; additions and deletions change it. Nothing changes if any line is bad."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--register", choices=["tps", "ctps"], required=True)
        parser.add_argument("--kind", choices=["full", "additions", "deletions"], default="full")
        parser.add_argument("--date", required=True, help="The file's date as the TPS published it, YYYY-MM-DD.")
        parser.add_argument("--user", required=True, help="Username of the member of staff loading it.")
        parser.add_argument("--allow-shrink", action="store_true", help="Accept a full file under half the size.")

    def handle(self, *args, file, register, kind, date, user, allow_shrink, **options):
        try:
            file_date = datetime.date.fromisoformat(date)
        except ValueError:
            raise CommandError("--date: give the file's date as YYYY-MM-DD.") from None
        actor = importing_user(user, "customers.add_tpsfile")
        started = time.monotonic()

        def progress(p: Progress) -> None:
            share = f" ({100 * p.bytes_read / p.bytes_total:.0f}%)" if p.bytes_total else ""
            self.stdout.write(f"  {p.lines:,} lines read{share}, {time.monotonic() - started:.0f} s")
            self.stdout.flush()

        try:
            with open(file, "rb") as handle:
                loaded = tps_load(actor=actor, register=register, kind=kind, file=handle, name=file,
                                  file_date=file_date, allow_shrink=allow_shrink, on_progress=progress)  # fmt: skip
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except ImportRejected as exc:
            raise rejected(self, exc) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {loaded}: {loaded.lines:,} lines; {loaded.listed:,} numbers listed (+{loaded.added:,},"
                f" -{loaded.removed:,}) in {time.monotonic() - started:.1f} s."
            )
        )
