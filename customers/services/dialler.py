"""The dialler's bearer tokens for the pre-dial check: made once, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import DiallerToken

ERR_NAME_TAKEN = "A dialler token with this name exists already."
ERR_NO_TOKEN = "No active dialler token has this name."  # noqa: S105 (a message, not a secret)
BEARER = "Bearer "


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def dialler_token_create(*, actor, name: str) -> tuple[DiallerToken, str]:
    """A new token for a dialler; returns the record and the token itself (shown once, never stored)."""
    name = name.strip()
    if DiallerToken.objects.filter(name=name).exists():
        raise ValidationError({"name": ERR_NAME_TAKEN})
    token = secrets.token_urlsafe(32)
    record = DiallerToken(name=name, token_hash=token_hash(token), created_by=actor)
    record._history_user = actor
    record._change_reason = "Dialler token created"
    record.save()
    return record, token


@transaction.atomic
def dialler_token_revoke(*, actor, name: str) -> DiallerToken:
    record = DiallerToken.objects.select_for_update().filter(name=name.strip(), revoked_at__isnull=True).first()
    if record is None:
        raise ValidationError({"name": ERR_NO_TOKEN})
    record.revoked_at = timezone.now()
    record._history_user = actor
    record._change_reason = "Dialler token revoked"
    record.save()
    return record


def authenticate(header: str | None) -> DiallerToken | None:
    """The active token an `Authorization: Bearer …` header carries, or None (deny by default)."""
    if not header or not header.startswith(BEARER):
        return None
    token = header[len(BEARER) :].strip()
    if not token or len(token) > 200:
        return None
    return DiallerToken.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).first()
