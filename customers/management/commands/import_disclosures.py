"""Import disclosures from a CSV file: bad input rejects the file, guards refuse single rows
(see customers/services/disclosure_import.py)."""

from __future__ import annotations

from customers.services.disclosure_import import DISCLOSURE_HEADER, disclosure_import

from ._importing import ImportCommand

PERMISSION = "customers.import_disclosures"


class Command(ImportCommand):
    permission = PERMISSION
    help = f"Import disclosures from a CSV file with the header: {','.join(DISCLOSURE_HEADER)}"

    def handle(self, *args, file: str, user: str, **options):
        result = self.run_import(disclosure_import, file=file, user=user)
        for row in result.refused:
            self.stderr.write(f"Refused: {row}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded {result.created} disclosure(s) from {result.rows} row(s); {result.already_recorded} row(s) "
                f"were already recorded; {len(result.refused)} row(s) refused"
                + (" (listed above)." if result.refused else ".")
            )
        )
