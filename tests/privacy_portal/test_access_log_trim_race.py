"""The access-log trim decides on holds under the same customer locks as the other purges
(legal_holds.held_among): a complaint about a customer whose entries are in the segment cannot
commit between the trim's last look at the holds and its deletion (real PostgreSQL, two
connections). Without the locks the complaint commits in that window and its evidence goes."""

from __future__ import annotations

import datetime
import threading

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connections, transaction
from django.utils import timezone

from privacy_portal import audit, legal
from privacy_portal.audit import chain_pending
from privacy_portal.models import AccessEvent
from privacy_portal.services.staff import access_log_trim_expired
from requests.models import Complaint
from tests.factories import ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def test_a_complaint_cannot_commit_between_the_trims_hold_check_and_its_deletion(monkeypatch, agent):
    customer = CustomerFactory()
    old = timezone.now() - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS, months=2)
    for _ in range(3):
        AccessEvent.objects.create(user=agent, action="view_customer", customer_id=customer.pk, at=old)
    AccessEvent.objects.create(user=agent, action="view_customer", customer_id=customer.pk, at=timezone.now())
    chain_pending()
    committed = threading.Event()
    failures: list[BaseException] = []

    def open_a_complaint():
        try:
            with transaction.atomic():
                ComplaintFactory(customer=customer)
            committed.set()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    scrub = audit.audit_scrub
    seen: dict[str, bool] = {}
    thread = threading.Thread(target=open_a_complaint)

    def while_the_segment_is_deleted(**kwargs):
        # Inside the trim's transaction, its holds decided and its rows deleted: another member
        # of staff opens a complaint about the customer.
        if kwargs.get("what") == audit.SEGMENT_OBJECT_TYPE:
            thread.start()
            seen["committed_before_the_trim"] = committed.wait(3)
        return scrub(**kwargs)

    monkeypatch.setattr(audit, "audit_scrub", while_the_segment_is_deleted)
    report = access_log_trim_expired()
    thread.join(30)
    assert not failures
    assert report["entries"] == 3
    assert seen == {"committed_before_the_trim": False}
    assert committed.is_set() and Complaint.objects.filter(customer=customer).exists()
    assert audit.verify_chain().ok


def test_a_hold_committed_before_the_trims_check_keeps_the_customers_entries(monkeypatch, agent, dpo):
    """The trim's first look finds no hold; a complaint commits before its locked check: the
    segment ends before the customer's first entry."""
    customer = CustomerFactory()
    other = CustomerFactory()
    old = timezone.now() - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS, months=2)
    before = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=other.pk, at=old)
    about = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=customer.pk, at=old)
    AccessEvent.objects.create(user=agent, action="view_customer", customer_id=other.pk, at=timezone.now())
    chain_pending()
    cut = audit._segment_cut
    calls = []

    def then_a_complaint(**kwargs):
        span = cut(**kwargs)
        if not calls:
            ComplaintFactory(customer=customer)
        calls.append(span)
        return span

    monkeypatch.setattr(audit, "_segment_cut", then_a_complaint)
    report = access_log_trim_expired(now=timezone.now() + datetime.timedelta(seconds=1))
    assert report["entries"] == 1
    assert not AccessEvent.objects.filter(pk=before.pk).exists()
    assert AccessEvent.objects.filter(pk=about.pk).exists()
