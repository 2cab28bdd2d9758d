"""The access log is append-only and tamper-evident."""

from __future__ import annotations

import io
from itertools import pairwise

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from privacy_portal.audit import audit_scrub, verify_chain
from privacy_portal.models import GENESIS_HASH, AccessEvent, JobRun
from privacy_portal.tasks import verify_audit_log

pytestmark = pytest.mark.django_db


def make_events(user, n=5):
    return [AccessEvent.objects.create(user=user, action="view_customer", customer_id=i) for i in range(1, n + 1)]


def test_each_entry_is_chained_to_the_one_before(agent):
    earlier = AccessEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
    events = make_events(agent)
    assert events[0].prev_hash == (earlier or GENESIS_HASH)
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash and len(after.hash) == 64
    assert verify_chain().ok


def behind_the_apps_back(sql, params):
    """Alter the table directly, as a DBA with superuser rights could (the trigger bypassed)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_verification_catches_a_row_altered_behind_the_applications_back(agent):
    events = make_events(agent)
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET customer_id = 999 WHERE id = %s", [events[2].pk])
    report = verify_chain()
    assert not report.ok and report.first_broken_id == events[2].pk and "altered" in report.problem
    with pytest.raises(CommandError, match=f"broken at entry {events[2].pk}"):
        call_command("verify_audit_log", stdout=io.StringIO())


def test_verification_catches_a_deleted_row(agent):
    events = make_events(agent)
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE id = %s", [events[1].pk])
    report = verify_chain()
    assert report.first_broken_id == events[2].pk and "removed" in report.problem


def test_the_command_reports_an_intact_chain(agent):
    make_events(agent, 3)
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "intact" in out.getvalue()


@pytest.mark.parametrize(
    "sql", ["UPDATE privacy_portal_accessevent SET reason = 'x'", "DELETE FROM privacy_portal_accessevent"]
)
def test_a_postgresql_trigger_refuses_update_and_delete(agent, sql):
    make_events(agent, 2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AccessEvent.objects.count() >= 2


def test_the_nightly_job_alerts_the_dpo_on_a_break(agent, settings):
    settings.DPO_EMAIL = "dpo@example.org"
    events = make_events(agent, 3)
    verify_audit_log()
    assert mail.outbox == []
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET action = 'search' WHERE id = %s", [events[0].pk])
    verify_audit_log()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dpo@example.org"]
    assert str(events[0].pk) in mail.outbox[0].body
    assert JobRun.objects.filter(name="verify_audit_log").count() == 2


def test_scrubbing_writes_its_own_chained_entry_without_values(dpo):
    details = {"tables": {"customers_historicalcustomer": ["email", "phone"]}, "rows": 3}
    entry = audit_scrub(actor=dpo, what="customers.Customer", customer_id=7, details=details)
    assert entry.action == "scrub" and entry.hash and verify_chain().ok
    system = audit_scrub(actor=None, what="customers.Call", details={"rows": 12})
    assert system.user is None and system.prev_hash == entry.hash


def test_the_nightly_purge_writes_a_chained_scrub_entry_with_counts_only(db):
    import datetime as dt

    from django.utils import timezone

    from customers.services.retention import purge_expired_calls
    from tests.factories import CallFactory

    CallFactory(started_at=timezone.now() - dt.timedelta(days=400), transcript="Secret words")
    report = purge_expired_calls()
    entry = AccessEvent.objects.get(action="scrub")
    assert entry.user is None and entry.details == report and "Secret" not in str(entry.details)
    assert verify_chain().ok
    purge_expired_calls()
    assert AccessEvent.objects.filter(action="scrub").count() == 1  # nothing removed, nothing written
