"""The access log is append-only and tamper-evident."""

from __future__ import annotations

import io
from itertools import pairwise

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from privacy_portal.audit import ALTERED, BROKEN_LINK, audit_scrub, chain_pending, verify_chain
from privacy_portal.models import GENESIS_HASH, AccessEvent, JobRun
from privacy_portal.tasks import verify_audit_log
from tests.fixtures.access_log import behind_the_apps_back, chained, make_events

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """The nightly job writes the chain's checkpoint under private storage: a test's own."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def test_each_entry_is_chained_to_the_one_before(agent):
    chain_pending()
    earlier = AccessEvent.objects.order_by("-chain_seq").values_list("hash", flat=True).first()
    events = make_events(agent)
    assert events[0].prev_hash == (earlier or GENESIS_HASH)
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash and len(after.hash) == 64
        assert after.chain_seq == before.chain_seq + 1
    assert verify_chain().ok


def test_an_entry_is_written_unchained_and_reported_pending_not_broken(agent):
    make_events(agent, 2)
    event = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=3)
    event.refresh_from_db()
    assert event.hash is None and event.prev_hash is None and event.chain_seq is None
    report = verify_chain()
    assert report.ok and report.pending == 1 and report.oldest_pending_id == event.pk
    out = io.StringIO()
    call_command("verify_audit_log", "--no-chain", stdout=out)
    assert "intact" in out.getvalue() and "1 pending (not chained yet, not a break)" in out.getvalue()
    # The command chains what is pending before it verifies.
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "Chained 1 pending entries" in out.getvalue() and "pending (" not in out.getvalue()
    assert verify_chain().pending == 0


def test_verification_catches_a_row_altered_behind_the_applications_back(agent):
    events = make_events(agent)
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET customer_id = 999 WHERE id = %s", [events[2].pk])
    report = verify_chain()
    assert not report.ok and [(b.entry_id, b.problem) for b in report.breaks] == [(events[2].pk, ALTERED)]
    with pytest.raises(CommandError, match=f"broken in 1 places.*\n  entry {events[2].pk} "):
        call_command("verify_audit_log", stdout=io.StringIO())


def test_verification_catches_a_deleted_row(agent):
    events = make_events(agent)
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE id = %s", [events[1].pk])
    report = verify_chain()
    assert [(b.entry_id, b.problem) for b in report.breaks] == [(events[2].pk, BROKEN_LINK)]


def test_verification_reports_every_break_not_only_the_first(agent):
    events = make_events(agent, 8)
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET customer_id = 999 WHERE id = %s", [events[1].pk])
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE id = %s", [events[5].pk])
    report = verify_chain()
    assert [(b.entry_id, b.problem) for b in report.breaks] == [(events[1].pk, ALTERED), (events[6].pk, BROKEN_LINK)]
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_log", stdout=io.StringIO())
    message = str(raised.value)
    assert "broken in 2 places" in message
    assert f"entry {events[1].pk} " in message and f"entry {events[6].pk} " in message


def test_an_entry_made_to_look_pending_is_reported_at_the_gap_it_leaves(agent):
    events = make_events(agent, 4)
    behind_the_apps_back(
        "UPDATE privacy_portal_accessevent SET customer_id = 5, hash = NULL, prev_hash = NULL, chain_seq = NULL "
        "WHERE id = %s",
        [events[1].pk],
    )
    report = verify_chain()
    assert report.pending == 1
    assert [(b.entry_id, b.problem) for b in report.breaks] == [(events[2].pk, BROKEN_LINK)]


def test_the_command_reports_an_intact_chain(agent):
    make_events(agent, 3)
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "intact" in out.getvalue()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE privacy_portal_accessevent SET customer_id = 77",
        "UPDATE privacy_portal_accessevent SET hash = repeat('a', 64)",
        "UPDATE privacy_portal_accessevent SET chain_seq = chain_seq + 1000",
        "DELETE FROM privacy_portal_accessevent",
    ],
)
def test_a_postgresql_trigger_refuses_update_and_delete_of_chained_entries(agent, sql):
    make_events(agent, 2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AccessEvent.objects.count() >= 2


@pytest.mark.parametrize(
    "sql",
    [
        # The content of an entry not chained yet.
        "UPDATE privacy_portal_accessevent SET customer_id = 77 WHERE hash IS NULL",
        # Chaining it and changing its content in one go.
        "UPDATE privacy_portal_accessevent SET chain_seq = 10000000, prev_hash = repeat('0', 64), "
        "hash = repeat('a', 64), action = 'search' WHERE hash IS NULL",
        # Chaining it only in part.
        "UPDATE privacy_portal_accessevent SET hash = repeat('a', 64) WHERE hash IS NULL",
        "DELETE FROM privacy_portal_accessevent WHERE hash IS NULL",
    ],
)
def test_the_trigger_refuses_changes_to_a_pending_entry_other_than_chaining_it(agent, sql):
    AccessEvent.objects.create(user=agent, action="view_customer", customer_id=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_trigger_lets_the_chainer_fill_in_a_pending_entry_once(agent):
    event = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=1)
    assert chain_pending() >= 1
    (event,) = chained(event)
    assert event.chain_seq and len(event.hash) == 64


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


def test_the_nightly_email_names_every_break_and_chains_pending_entries_first(agent, settings):
    settings.DPO_EMAIL = "dpo@example.org"
    events = make_events(agent, 6)
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET action = 'search' WHERE id = %s", [events[0].pk])
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET customer_id = 9 WHERE id = %s", [events[4].pk])
    pending = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=1)
    detail = verify_audit_log()
    (body,) = [m.body for m in mail.outbox]
    assert "broken in 2 places" in body
    assert f"entry {events[0].pk} " in body and f"entry {events[4].pk} " in body
    assert detail["breaks"] == 2 and detail["broken_ids"] == [events[0].pk, events[4].pk]
    assert detail["chained"] >= 1 and detail["pending"] == 0
    assert chained(pending)[0].hash is not None


def test_scrubbing_writes_its_own_chained_entry_without_values(dpo):
    details = {"tables": {"customers_historicalcustomer": ["email", "phone"]}, "rows": 3}
    entry = audit_scrub(actor=dpo, what="customers.Customer", customer_id=7, details=details)
    system = audit_scrub(actor=None, what="customers.Call", details={"rows": 12})
    entry, system = chained(entry, system)
    assert entry.action == "scrub" and entry.hash and verify_chain().ok
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
