"""A complaint committed by another connection while the retention run is under way (after it
read its holds, before its batches delete): the batch checks the holds again and keeps the
person's calls (real PostgreSQL, two connections)."""

from __future__ import annotations

import threading

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connections, transaction
from django.utils import timezone

from customers.models import Call
from customers.services import legal_holds
from privacy_portal.retention import retention_apply
from tests.factories import CallFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_complaint_committed_while_the_run_deletes_keeps_the_persons_calls(monkeypatch):
    customer = CustomerFactory()
    call = CallFactory(customer=customer, started_at=timezone.now() - relativedelta(months=7))
    failures: list[BaseException] = []

    def open_a_complaint():
        try:
            with transaction.atomic():
                ComplaintFactory(customer=customer)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    read_holds = legal_holds.held_customer_ids

    def reading(*args, **kwargs):
        held = read_holds(*args, **kwargs)
        thread = threading.Thread(target=open_a_complaint)
        thread.start()
        thread.join(30)
        return held

    monkeypatch.setattr(legal_holds, "held_customer_ids", reading)
    report = retention_apply()
    assert not failures
    assert Call.objects.filter(pk=call.pk).exists()
    assert report["calls"]["held"] == 1
