"""Import marketing preference changes from a CSV file, all or nothing (see services/imports.py)."""

from __future__ import annotations

from customers.services.imports import PREFERENCE_HEADER, preference_import

from ._importing import ImportCommand

PERMISSION = "customers.import_preferences"


class Command(ImportCommand):
    permission = PERMISSION
    help = f"Import marketing preference changes from a CSV file with the header: {','.join(PREFERENCE_HEADER)}"

    def handle(self, *args, file: str, user: str, **options):
        result = self.run_import(preference_import, file=file, user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} change(s) from {result.rows} row(s); {result.unchanged} row(s) were "
                f"already recorded or matched the current preference; {result.suppressed} identifier(s) newly "
                "suppressed."
            )
        )
