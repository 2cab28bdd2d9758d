"""Create, list or revoke a dialler's tokens for the pre-dial check (GET /p/dialler/screen)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers.models import DiallerToken
from customers.services.dialler import dialler_token_create, dialler_token_revoke
from privacy_portal import legal

from ._importing import importing_user

WHEN = "%-d %b %Y %H:%M"


class Command(BaseCommand):
    help = (
        "Create (prints the token once: only its hash is stored, and when it expires), list (each token's"
        " issue date, expiry and status) or revoke a dialler token."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("name", nargs="?", default="", help="Which dialler, e.g. 'outbound-dialler-1'.")
        parser.add_argument("--user", required=True, help="Username of the member of staff (the DPO).")
        parser.add_argument(
            "--days",
            type=int,
            default=legal.DIALLER_TOKEN_DEFAULT_DAYS,
            help=f"create: valid for this many days (default {legal.DIALLER_TOKEN_DEFAULT_DAYS},"
            f" at most {legal.DIALLER_TOKEN_MAX_DAYS}).",
        )

    def handle(self, *args, action, name, user, days, **options):
        if action == "list":
            importing_user(user, "customers.view_diallertoken")
            self._list()
            return
        if not name.strip():
            raise CommandError(f"Give the dialler's name: dialler_token {action} NAME --user USERNAME.")
        actor = importing_user(user, "customers.add_diallertoken")
        try:
            if action == "create":
                record, token = dialler_token_create(actor=actor, name=name, days=days)
                expires = timezone.localtime(record.expires_at)
                self.stdout.write(
                    f"Token for {name}, valid until {expires:{WHEN}} ({days} days; shown once, store it in the"
                    f" dialler):\n{token}"
                )
            else:
                dialler_token_revoke(actor=actor, name=name)
                self.stdout.write(f"Token {name} revoked.")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _list(self) -> None:
        now = timezone.now()
        tokens = list(DiallerToken.objects.order_by("name"))
        if not tokens:
            self.stdout.write("No dialler tokens.")
            return
        self.stdout.write(f"{'name':30} {'issued':17} {'expires':17} status")
        for t in tokens:
            status = t.status(now)
            if status == "revoked":
                status = f"revoked {timezone.localtime(t.revoked_at):{WHEN}}"
            elif status == "active":
                status = f"active ({(t.expires_at - now).days} days left)"
            issued, expires = timezone.localtime(t.created_at), timezone.localtime(t.expires_at)
            self.stdout.write(f"{t.name:30} {issued:{WHEN}} {expires:{WHEN}} {status}")
