"""Reference data survives a flush (transactional tests, live-server journeys)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from customers.models import Recipient
from privacy_portal.models import PrivacyNoticeVersion, ProcessingActivity


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_registers_and_the_notice_in_place():
    counts = (Recipient.objects.count(), ProcessingActivity.objects.count(), PrivacyNoticeVersion.objects.count())
    assert all(counts)
    call_command("flush", "--noinput", verbosity=0)
    assert (
        Recipient.objects.count(),
        ProcessingActivity.objects.count(),
        PrivacyNoticeVersion.objects.count(),
    ) == counts
    assert ProcessingActivity.objects.filter(recipients__isnull=False).exists()
    # One "created" history row per record, as the migration wrote it.
    assert ProcessingActivity.history.count() == counts[1]
    assert Recipient.history.count() == counts[0]
