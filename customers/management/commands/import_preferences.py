"""Import marketing preference changes from a CSV file, all or nothing (see services/imports.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.services.imports import PREFERENCE_HEADER, ImportRejected, preference_import

from ._importing import importing_user, rejected

PERMISSION = "customers.import_preferences"


class Command(BaseCommand):
    help = f"Import marketing preference changes from a CSV file with the header: {','.join(PREFERENCE_HEADER)}"

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")
        parser.add_argument("--user", required=True, help="Username of the member of staff importing (recorded_by).")

    def handle(self, *args, file: str, user: str, **options):
        actor = importing_user(user, PERMISSION)
        try:
            with open(file, "rb") as handle:
                result = preference_import(actor=actor, file=handle, name=file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except ImportRejected as exc:
            raise rejected(self, exc) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} change(s) from {result.rows} row(s); {result.unchanged} row(s) were "
                f"already recorded or matched the current preference; {result.suppressed} identifier(s) newly "
                "suppressed."
            )
        )
