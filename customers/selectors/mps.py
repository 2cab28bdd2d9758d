"""The DPO's MPS reviews: the matches at a former address to confirm or dismiss, and those
reviewed, each keyset-paged newest first (the same cost at 10 rows and at 10,000)."""

from __future__ import annotations

from django.db.models import QuerySet

from privacy_portal import paging

from ..models import MpsMatch

TO_REVIEW, REVIEWED = "to_review", "reviewed"


def mps_reviews(state: str) -> QuerySet[MpsMatch]:
    matches = MpsMatch.objects.exclude(review=MpsMatch.Review.NONE).select_related("customer", "mps_file", "decided_by")
    if state == REVIEWED:
        return matches.filter(decided_at__isnull=False)
    return matches.filter(decided_at__isnull=True)


def mps_reviews_page(*, state: str, cursor: str = "") -> tuple[list[MpsMatch], str | None]:
    """One page of the matches to review (or reviewed), newest matched first, and the next
    page's cursor (or None)."""
    return paging.newest_first(mps_reviews(state), date_field="matched_at", cursor=cursor)
