"""seed_demo's complaints: one in every state, one escalated to the ICO, made through the
services, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.complaints import DEMO_COMPLAINTS
from privacy_portal.models import User
from requests.models import CaseCorrespondence, Complaint, IcoCase
from tests.seed_once import seed_demo_once

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """seed_demo's output, seeded once for the module's tests (each runs in a savepoint rolled back after)."""
    with seed_demo_once(django_db_blocker, tmp_path_factory.mktemp("demo")) as out:
        yield out


def test_seed_demo_makes_a_complaint_in_every_state_one_with_the_ico(seeded):
    assert set(Complaint.objects.values_list("status", flat=True)) == set(Complaint.Status.values)
    assert Complaint.objects.count() == len(DEMO_COMPLAINTS)
    ico = IcoCase.objects.get()
    assert ico.complaint.status == Complaint.Status.ESCALATED
    assert ico.deadlines.count() == 2 and ico.deadlines.filter(answered_on__isnull=False).count() == 1
    assert ico.complaint.cases.exists()
    assert CaseCorrespondence.objects.filter(complaint__isnull=False).exists()
    # An overdue acknowledgement shows on the dashboard and in the list.
    today = timezone.localdate()
    assert Complaint.objects.filter(acknowledged_on__isnull=True, acknowledge_by__lt=today).exists()
    agent, handler = User.objects.get(username="agent"), User.objects.get(username="handler")
    assert not Complaint.objects.exclude(logged_by=agent).exists()
    assert handler.has_perm("requests.work_complaint", ico.complaint)
    assert "Demo complaints: 9 created" in seeded


def test_seed_demo_twice_adds_no_complaint(seeded):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert Complaint.objects.count() == len(DEMO_COMPLAINTS)
    assert "Demo complaints: already present." in out.getvalue()
