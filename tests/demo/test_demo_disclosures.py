"""seed_demo records what the demo purchases disclosed, through the guards, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from customers.models import Disclosure, Purchase

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_records_each_purchases_disclosures_once(settings):
    settings.DEMO_PASSWORD = "demo-password-for-tests"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo disclosures:" in out.getvalue()
    purchases = Purchase.objects.filter(customer__isnull=False)
    deliveries = Disclosure.objects.filter(recipient__code="parcelway")
    assert deliveries.count() == purchases.count() > 0
    by_hand = Disclosure.objects.exclude(via=Disclosure.Via.TRANSCRIPTION)
    assert set(by_hand.values_list("recorded_by__username", flat=True)) == {"dpo"}
    # The demo's transcribed calls went to the transcription provider: the system records that itself.
    transcribed = Disclosure.objects.filter(via=Disclosure.Via.TRANSCRIPTION)
    assert transcribed.exists() and set(transcribed.values_list("recorded_by", flat=True)) == {None}
    count = Disclosure.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Disclosure.objects.count() == count
