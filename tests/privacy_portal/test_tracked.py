"""Tracked saves: a row made on first use (get_or_create_tracked) records who and why, once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from privacy_portal.tracked import get_or_create_tracked
from requests.models import ReminderKey

pytestmark = pytest.mark.django_db


def test_a_row_made_on_first_use_records_its_author_and_reason_and_is_found_the_second_time(dpo):
    first, created = get_or_create_tracked(ReminderKey.objects.all(), actor=dpo, reason="First use", key="k:1")
    again, created_again = get_or_create_tracked(ReminderKey.objects.all(), actor=None, reason="Again", key="k:1")
    assert created and not created_again and again.pk == first.pk
    rows = list(first.history.all())
    assert len(rows) == 1 and rows[0].history_user == dpo and rows[0].history_change_reason == "First use"


def test_a_locking_queryset_and_defaults_are_used():
    key, created = get_or_create_tracked(
        ReminderKey.objects.select_for_update(), actor=None, reason=None, key="k:2", defaults={"case": None}
    )
    assert created and key.history.get().history_user is None


def test_an_insert_refused_by_a_constraint_that_is_not_the_lookup_s_is_raised():
    ReminderKey.objects.create(key="k:3")
    with pytest.raises(IntegrityError):
        # The lookup (through a queryset that cannot see the row) never finds it: not a concurrent insert.
        get_or_create_tracked(ReminderKey.objects.filter(pk=-1), actor=None, reason="x", key="k:3")
