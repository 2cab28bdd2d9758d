"""Import purchases from a CSV file, all or nothing and idempotent on order_ref."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.services.imports import ImportRejected
from customers.services.purchases import PURCHASE_HEADER, purchase_import

from ._importing import importing_user, rejected

PERMISSION = "customers.add_purchase"


class Command(BaseCommand):
    help = f"Import purchases from a CSV file with the header: {','.join(PURCHASE_HEADER)}"

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")
        parser.add_argument("--user", required=True, help="Username of the member of staff importing (history user).")

    def handle(self, *args, file: str, user: str, **options):
        actor = importing_user(user, PERMISSION)
        try:
            with open(file, "rb") as handle:
                result = purchase_import(actor=actor, file=handle, name=file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except ImportRejected as exc:
            raise rejected(self, exc) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} purchase(s) from {result.rows} row(s); "
                f"{result.already_present} were already in the portal and were left as they are."
            )
        )
