"""seed_demo's breaches: three in different states, made through the services, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from requests.models import Breach
from requests.selectors.breaches import awaiting_report
from tests.seed_once import seed_demo_once

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """seed_demo's output, seeded once for the module's tests (each runs in a savepoint rolled back after)."""
    with seed_demo_once(django_db_blocker, tmp_path_factory.mktemp("demo")) as out:
        yield out


def test_seed_demo_makes_a_breach_reported_in_time_one_not_reportable_and_one_overdue(seeded):
    assert "Demo breaches: 3 created" in seeded
    reported = Breach.objects.get(summary__startswith="Parcel")
    initial = reported.notifications.get(phase="initial")
    assert initial.sent_at <= reported.due_at and reported.status == "closed"
    assert reported.notifications.filter(phase="follow_up").exclude(ico_reference="").exists()
    assert reported.affected.exists() and not reported.affected.exclude(told="told").exists()
    not_reportable = Breach.objects.get(report_to_ico=False)
    assert not_reportable.ico_decision_reason and not_reportable.status == "closed"
    overdue = awaiting_report(Breach.objects.all()).get()
    assert overdue.due_at < timezone.now() and overdue.processor is not None
    assert overdue.history.exists()


def test_seed_demo_twice_makes_them_once(seeded):
    call_command("seed_demo", stdout=io.StringIO())
    assert Breach.objects.count() == 3
