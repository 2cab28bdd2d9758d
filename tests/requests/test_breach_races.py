"""The same breach step sent twice at the same moment is done once (real PostgreSQL, two threads,
each with its own connection, released together): the breach row is locked FOR UPDATE and the
state re-read under the lock."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from customers.services.imports import ImportRejected
from privacy_portal.models import User
from requests.models import Breach, BreachAffected, BreachNotification
from requests.services import breaches as svc
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
HOUR = datetime.timedelta(hours=1)


def race(work) -> list[str]:
    """Run `work()` in two threads at once; each outcome is "ok" or the refusal's class name."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run():
        try:
            barrier.wait()
            work()
            outcomes.append("ok")
        except (ValidationError, ImportRejected) as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(outcomes)


@pytest.fixture
def dpo(role_groups):
    return UserFactory(username="race_dpo", role=User.Role.DPO)


@pytest.fixture
def assessed(dpo):
    breach = svc.breach_report(actor=dpo, summary="Race", what_happened="Race", aware_at=timezone.now() - 5 * HOUR)
    return svc.breach_assess(
        actor=dpo, breach=breach, consequences="Some", likelihood="possible", severity="possible",
        report_to_ico=True, ico_decision_reason="", tell_people="yes", tell_people_reason="",
    )  # fmt: skip


def test_two_initial_reports_at_once_record_one(dpo, assessed):
    outcomes = race(
        lambda: svc.breach_notify_ico(
            actor=dpo, breach=Breach.objects.get(pk=assessed.pk), phase="initial", sent_at=timezone.now()
        )
    )
    assert outcomes == ["ValidationError", "ok"]
    assert BreachNotification.objects.filter(breach=assessed, phase="initial").count() == 1


def test_the_same_csv_linked_twice_at_once_links_each_customer_once(dpo, assessed):
    customers = CustomerFactory.create_batch(5)
    data = ("customer_reference\n" + "".join(f"{c.reference}\n" for c in customers)).encode()
    outcomes = race(lambda: svc.breach_link_csv(actor=dpo, breach=Breach.objects.get(pk=assessed.pk), data=data))
    assert outcomes == ["ImportRejected", "ok"]
    assert BreachAffected.objects.filter(breach=assessed).count() == 5
    assert BreachAffected.history.filter(breach_id=assessed.pk).count() == 5


def test_the_same_query_linked_twice_at_once_links_each_customer_once(dpo, assessed):
    from requests.services.breach_query import ERR_NONE_MATCH, AffectedQuery, breach_link_query
    from tests.factories import DisclosureFactory, RecipientFactory

    courier = RecipientFactory(name="Race Couriers Ltd")
    for _ in range(5):
        DisclosureFactory(recipient=courier)
    query = AffectedQuery(source="disclosure", recipient=courier)
    refusals: list[list[str]] = []

    def link():
        try:
            breach_link_query(actor=dpo, breach=Breach.objects.get(pk=assessed.pk), query=query, expected=5)
        except ValidationError as exc:
            refusals.append(exc.messages)
            raise

    assert race(link) == ["ValidationError", "ok"]
    # The second waited for the first's lock, then found nothing left to link.
    assert refusals == [[ERR_NONE_MATCH]]
    assert BreachAffected.objects.filter(breach=assessed).count() == 5
    assert BreachAffected.history.filter(breach_id=assessed.pk).count() == 5
