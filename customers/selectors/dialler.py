"""The dialler tokens page's read: each token with its state and when it was last used."""

from __future__ import annotations

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, QuerySet, Subquery

from privacy_portal.models import AccessEvent

from ..models import DiallerToken
from ..services.dialler import issuer_may_act


def dialler_tokens() -> QuerySet[DiallerToken]:
    """Every token, newest first, with `issuer_may_act` (its issuer may still act as the DPO: the
    token works only then) and `last_used_at`: the time of the latest pre-dial check it made, read
    from the access log, which records every check by the token's id (one partial index,
    access_dialler_token_at), so the hot path writes nothing more to keep it. Never the secret:
    only its hash is stored."""
    last_check = AccessEvent.objects.filter(
        action=AccessEvent.Action.DIALLER_SCREEN, object_type=DiallerToken._meta.label, object_id=OuterRef("pk")
    ).order_by("-at")
    return (
        DiallerToken.objects.select_related("created_by")
        .annotate(
            issuer_may_act=ExpressionWrapper(issuer_may_act(), output_field=BooleanField()),
            last_used_at=Subquery(last_check.values("at")[:1]),
        )
        .order_by("-created_at", "-id")
    )
