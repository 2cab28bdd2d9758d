"""Shared by the import commands: who is importing, reading the file, reporting problems."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.services.imports import ImportRejected


def importing_user(username: str, permission: str):
    """The active member of staff named `username`, who must hold `permission`."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active member of staff with username {username!r}.")
    if not user.has_perm(permission):
        raise CommandError(f"{username} does not have the permission {permission}.")
    return user


def rejected(command, exc) -> CommandError:
    """Write every problem of an ImportRejected to stderr; the error to raise (exit status 1)."""
    for error in exc.errors:
        command.stderr.write(str(error))
    return CommandError(f"Nothing was imported: {len(exc.errors)} problem(s) listed above.")


class ImportCommand(BaseCommand):
    """`<command> FILE --user USERNAME`: run an import service on a CSV file as that member of staff."""

    permission: str

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")
        parser.add_argument("--user", required=True, help="Username of the member of staff importing (recorded_by).")

    def run_import(self, service: Callable, *, file: str, user: str):
        actor = importing_user(user, self.permission)
        try:
            with open(file, "rb") as handle:
                return service(actor=actor, file=handle, name=file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except ImportRejected as exc:
            raise rejected(self, exc) from None
