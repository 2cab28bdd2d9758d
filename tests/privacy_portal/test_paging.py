"""Keyset paging by id (privacy_portal.paging.newest_by_id): newest first, each page below the
last id shown, an unreadable cursor starting from the newest."""

from __future__ import annotations

import pytest

from privacy_portal.models import User
from privacy_portal.paging import newest_by_id
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_pages_by_id_newest_first_to_the_end():
    ids = sorted(UserFactory().pk for _ in range(5))
    qs = User.objects.filter(pk__in=ids)
    first, before = newest_by_id(qs, before=None, limit=2)
    assert [u.pk for u in first] == ids[:-3:-1] and before == ids[3]
    second, before = newest_by_id(qs, before=str(before), limit=2)
    assert [u.pk for u in second] == [ids[2], ids[1]] and before == ids[1]
    last, before = newest_by_id(qs, before=str(before), limit=2)
    assert [u.pk for u in last] == [ids[0]] and before is None
    again, _ = newest_by_id(qs, before="not-an-id", limit=2)
    assert again == first
