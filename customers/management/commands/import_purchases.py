"""Import purchases from a CSV file, all or nothing and idempotent on order_ref."""

from __future__ import annotations

from customers.services.purchases import PURCHASE_HEADER, purchase_import

from ._importing import ImportCommand

PERMISSION = "customers.add_purchase"


class Command(ImportCommand):
    permission = PERMISSION
    help = f"Import purchases from a CSV file with the header: {','.join(PURCHASE_HEADER)}"

    def handle(self, *args, file: str, user: str, **options):
        result = self.run_import(purchase_import, file=file, user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} purchase(s) from {result.rows} row(s); "
                f"{result.already_present} were already in the portal and were left as they are."
            )
        )
