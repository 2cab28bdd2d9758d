"""seed_scale_cases: cases at volume, in every state, with history, clock stops and handlers' grants."""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from demo.scale_cases import HANDLER_USERNAME, SEED_REASON, seed_scale_cases
from privacy_portal.models import User
from requests.models import Case, ClockStop
from requests.selectors.cases import case_queue, visible_cases
from requests.services import cases as svc
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

N = 600


@pytest.fixture
def seeded():
    customers = CustomerFactory.create_batch(20)
    out = io.StringIO()
    # Over 120 days rather than three years, so that a few hundred cases include open ones in every state.
    call_command("seed_scale_cases", cases=N, seed=7, batch_size=250, days=120, stdout=out)
    return customers, out.getvalue()


def test_it_adds_cases_in_every_state_each_with_its_history_row(seeded):
    _, out = seeded
    assert Case.objects.count() == N
    assert set(Case.objects.values_list("status", flat=True)) == set(Case.Status.values)
    assert Case.history.filter(history_type="+", history_change_reason=SEED_REASON).count() == N
    assert ClockStop.history.count() == ClockStop.objects.count() > 0
    assert f"Added {N:,} cases" in out


def test_the_clock_in_every_case_is_the_services_clock(seeded):
    for case in random.Random(1).sample(list(Case.objects.all()), 80):
        due, original = case.due_on, case.original_due_on
        svc.recompute_due(case)
        assert (case.due_on, case.original_due_on) == (due, original), case.reference
        assert case.is_open == (case.closed_on is None)
        if case.status == Case.Status.AWAITING_CLARIFICATION:
            assert case.stops.filter(ended_on__isnull=True).exists()


def test_open_cases_are_recent_with_a_few_overdue_and_closed_ones_were_mostly_on_time(seeded):
    today = timezone.localdate()
    open_cases = Case.objects.filter(closed_on__isnull=True)
    assert N * 0.05 < open_cases.count() < N * 0.4
    assert open_cases.filter(due_on__lt=today).exists()
    completed = list(Case.objects.filter(status="completed", due_on__isnull=False))
    on_time = sum(c.closed_on <= c.due_on for c in completed) / len(completed)
    assert 0.75 < on_time < 0.99
    assert all(c.closed_on <= today for c in Case.objects.filter(closed_on__isnull=False))


def test_handlers_see_their_own_cases_in_the_queue(seeded):
    handler = User.objects.get(username=HANDLER_USERNAME.format(1))
    mine = Case.objects.filter(handler=handler)
    assert set(visible_cases(handler).values_list("pk", flat=True)) == set(mine.values_list("pk", flat=True))
    queue = case_queue(handler, limit=1000)
    assert {c.pk for c in queue.cases} == set(mine.filter(closed_on__isnull=True).values_list("pk", flat=True))
    open_with_customer = mine.filter(closed_on__isnull=True, customer__isnull=False).first()
    if open_with_customer:
        assert handler.has_perm("customers.view_transcript", open_with_customer.customer)
        assert handler.has_perm("requests.work_case", open_with_customer)


def test_cases_logged_afterwards_get_the_next_reference(seeded, agent):
    [case] = svc.case_log(
        actor=agent, rights=["access"], channel="phone", received_on=timezone.localdate(), requester_name="New One"
    )
    assert Case.objects.filter(reference=case.reference).count() == 1
    year_refs = Case.objects.filter(reference__startswith=f"R-{timezone.localdate().year}-")
    assert case.reference == max(year_refs.values_list("reference", flat=True))


def test_the_same_seed_gives_the_same_cases():
    CustomerFactory.create_batch(5)
    first = seed_scale_cases(cases=50, seed=3)
    second = seed_scale_cases(cases=50, seed=3)
    assert first.statuses == second.statuses


def test_it_refuses_to_run_in_production(settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="refuses"):
        call_command("seed_scale_cases", cases=1, stdout=io.StringIO())
    assert not Case.objects.exists()
