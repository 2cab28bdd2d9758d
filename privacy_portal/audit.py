"""Recording reads of personal data (the access log). Ids and field names only."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from .models import AccessEvent

Action = AccessEvent.Action


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def access_record(
    *,
    request: HttpRequest,
    action: str,
    customer_id: int | None = None,
    obj=None,
    result_ids: Iterable[int] = (),
    search_kind: str = "",
    reason: str = "",
) -> AccessEvent:
    """Record that `request.user` read personal data. Never pass personal values here."""
    return AccessEvent.objects.create(
        user=request.user,
        action=action,
        customer_id=customer_id,
        object_type=obj._meta.label if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        result_ids=list(result_ids),
        search_kind=search_kind,
        ip_address=_client_ip(request),
        reason=reason,
    )
