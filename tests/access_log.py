"""One helper for tests that read an access entry's chain columns: entries are written unchained
and linked by the chainer (privacy_portal.audit.chain_pending), as the beat task does every few
seconds, so a test runs the chainer and reads the entries back."""

from __future__ import annotations

from privacy_portal.audit import chain_pending
from privacy_portal.models import AccessEvent


def chained(*events: AccessEvent) -> list[AccessEvent]:
    """Run the chainer; return `events` as stored afterwards (in the order given)."""
    chain_pending()
    stored = AccessEvent.objects.in_bulk([e.pk for e in events])
    return [stored[e.pk] for e in events]
