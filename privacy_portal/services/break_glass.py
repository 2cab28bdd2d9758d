"""The DPO's review of break-glass openings (the promise report checks that each was reviewed)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from privacy_portal.access import may_review_break_glass
from privacy_portal.models import AccessEvent, BreakGlassReview, User
from privacy_portal.tracked import save_tracked

ERR_NOT_BREAK_GLASS = "Only a break-glass opening is reviewed."
ERR_ALREADY_REVIEWED = "This opening has already been reviewed."
ERR_REVIEWER = "Only a DPO reviews break-glass openings."
ERR_OWN_OPENING = "You cannot review your own break-glass opening."
ERR_OUTCOME = "Choose whether the opening was justified."


@transaction.atomic
def break_glass_review(*, actor: User, event: AccessEvent, outcome: str) -> BreakGlassReview:
    """Record the DPO's review of one break-glass opening, once (a second review is refused:
    the one-to-one on the entry makes "once" hold under concurrency too)."""
    if not may_review_break_glass(actor):
        raise ValidationError(ERR_REVIEWER)
    if event.action != AccessEvent.Action.BREAK_GLASS:
        raise ValidationError(ERR_NOT_BREAK_GLASS)
    if event.user_id == actor.pk:
        raise ValidationError(ERR_OWN_OPENING)
    if outcome not in BreakGlassReview.Outcome.values:
        raise ValidationError({"outcome": ERR_OUTCOME})
    if BreakGlassReview.objects.filter(event=event).exists():
        raise ValidationError(ERR_ALREADY_REVIEWED)
    review = BreakGlassReview(event=event, outcome=outcome, reviewed_by=actor)
    try:
        save_tracked(review, actor=actor, reason=None, savepoint=True)
    except IntegrityError:
        raise ValidationError(ERR_ALREADY_REVIEWED) from None
    return review
