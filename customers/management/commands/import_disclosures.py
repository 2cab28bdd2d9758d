"""Import disclosures from a CSV file: bad input rejects the file, guards refuse single rows
(see customers/services/disclosure_import.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.services.disclosure_import import DISCLOSURE_HEADER, disclosure_import
from customers.services.imports import ImportRejected

from ._importing import importing_user, rejected

PERMISSION = "customers.import_disclosures"


class Command(BaseCommand):
    help = f"Import disclosures from a CSV file with the header: {','.join(DISCLOSURE_HEADER)}"

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")
        parser.add_argument("--user", required=True, help="Username of the member of staff importing (recorded_by).")

    def handle(self, *args, file: str, user: str, **options):
        actor = importing_user(user, PERMISSION)
        try:
            with open(file, "rb") as handle:
                result = disclosure_import(actor=actor, file=handle, name=file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except ImportRejected as exc:
            raise rejected(self, exc) from None
        for row in result.refused:
            self.stderr.write(f"Refused: {row}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded {result.created} disclosure(s) from {result.rows} row(s); {result.already_recorded} row(s) "
                f"were already recorded; {len(result.refused)} row(s) refused"
                + (" (listed above)." if result.refused else ".")
            )
        )
