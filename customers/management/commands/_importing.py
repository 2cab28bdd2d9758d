"""Shared by the import commands: who is importing."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


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
