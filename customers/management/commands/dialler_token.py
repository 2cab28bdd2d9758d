"""Create or revoke a dialler's token for the pre-dial check (GET /p/dialler/screen)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.services.dialler import dialler_token_create, dialler_token_revoke

from ._importing import importing_user


class Command(BaseCommand):
    help = "Create (prints the token once: only its hash is stored) or revoke a dialler token."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("name", help="Which dialler, e.g. 'outbound-dialler-1'.")
        parser.add_argument("--user", required=True, help="Username of the member of staff (the DPO).")

    def handle(self, *args, action, name, user, **options):
        actor = importing_user(user, "customers.add_diallertoken")
        try:
            if action == "create":
                _, token = dialler_token_create(actor=actor, name=name)
                self.stdout.write(f"Token for {name} (shown once, store it in the dialler):\n{token}")
            else:
                dialler_token_revoke(actor=actor, name=name)
                self.stdout.write(f"Token {name} revoked.")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
