"""Rewrite emails stored before every door applied the one email rule (run once after upgrading)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ...services.renormalise import emails_renormalise


class Command(BaseCommand):
    help = (
        "Rewrite stored email addresses (customers, requesters, complainants) in the portal's one form"
        " (NFKC, trimmed, lower case), carrying their suppression entries to the new form. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        done = emails_renormalise(actor=None)
        self.stdout.write(
            f"Rewritten: {done.customers} customer(s), {done.cases} request(s), {done.complaints} complaint(s);"
            f" suppression entries carried to the new form: {done.suppressions_carried}."
        )
