"""The access log's own retention: at the end of its period the nightly retention run deletes the
oldest segment behind a signed segment checkpoint, and verify_audit_log verifies from it and
passes; a deletion of the oldest entries with no signed checkpoint, a forged checkpoint, and a
cut in the middle still fail. Entries about a customer under a legal hold end the segment."""

from __future__ import annotations

import datetime
import io

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from customers.models import LegalHold
from privacy_portal import legal
from privacy_portal.audit import (
    BROKEN_LINK,
    SEGMENT_FORGED,
    SEGMENT_OBJECT_TYPE,
    SEGMENT_UNRECORDED,
    chain_pending,
    read_checkpoint,
    verify_chain,
)
from privacy_portal.models import AccessEvent, AccessEventText, BreakGlassReview
from privacy_portal.retention import retention_apply
from privacy_portal.tasks import verify_audit_log
from tests.factories import CustomerFactory
from tests.fixtures.access_log import behind_the_apps_back

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OLD = NOW - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS, months=2)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def _entries(user, n, *, at, customer_id=None):
    events = [
        AccessEvent.objects.create(user=user, action="view_customer", customer_id=customer_id or 100 + i, at=at)
        for i in range(n)
    ]
    chain_pending()
    return list(AccessEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("chain_seq"))


def _problems():
    return [b.problem for b in verify_chain().breaks]


def _verify_command():
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


@pytest.fixture
def aged_log(agent):
    """Five entries past the period, three inside it; the nightly verification has run (so the
    signed head checkpoint points into the segment that will be deleted)."""
    chain_pending()
    old = _entries(agent, 5, at=OLD)
    verify_audit_log()
    assert read_checkpoint()["seq"] == old[-1].chain_seq
    young = _entries(agent, 3, at=NOW - datetime.timedelta(days=3))
    return old, young


def _everything_before(entry):
    return AccessEvent.objects.filter(chain_seq__lte=entry.chain_seq)


def test_verify_audit_log_passes_after_the_oldest_segment_is_deleted(aged_log):
    old, young = aged_log
    report = retention_apply()
    trimmed = report["access_log"]
    assert trimmed["entries"] >= len(old) and trimmed["through_seq"] == young[0].chain_seq - 1
    assert not _everything_before(old[-1]).exists()
    assert AccessEvent.objects.filter(pk__in=[e.pk for e in young]).count() == 3
    # The segment checkpoint: a chained scrub entry, counts and the last deleted hash only.
    record = AccessEvent.objects.get(object_type=SEGMENT_OBJECT_TYPE)
    assert record.details["through_id"] == old[-1].pk and record.details["hash"] == old[-1].hash
    assert record.details["count"] == trimmed["entries"]
    assert record.details["period"] == f"{legal.ACCESS_LOG_RETENTION_YEARS} years" and record.details["mac"]
    assert verify_chain().ok
    assert "chain intact" in _verify_command()
    # The nightly verification afterwards: passes and moves the head checkpoint on.
    assert verify_audit_log()["ok"] and read_checkpoint()["seq"] > young[-1].chain_seq
    # A second night: nothing more is due, nothing deleted, still whole.
    assert retention_apply()["access_log"] == {"entries": 0}
    assert verify_chain().ok


def test_a_second_segment_verifies_from_the_newer_checkpoint(agent, aged_log):
    retention_apply()
    # Two years on: the three entries and the first checkpoint's own scrub entry are due.
    later = NOW + relativedelta(years=2)
    _entries(agent, 2, at=later)
    report = retention_apply(now=later + relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS, days=-1))
    assert report["access_log"]["entries"] >= 4
    assert AccessEvent.objects.filter(object_type=SEGMENT_OBJECT_TYPE).count() == 1  # the newer one
    assert verify_chain().ok
    assert "chain intact" in _verify_command()


def test_deleting_the_oldest_entries_without_a_signed_checkpoint_fails(aged_log):
    old, _ = aged_log
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE chain_seq <= %s", [old[1].chain_seq])
    assert SEGMENT_UNRECORDED in _problems()
    with pytest.raises(CommandError, match="no signed segment checkpoint"):
        _verify_command()


def test_deleting_more_than_the_checkpoint_recorded_fails(aged_log):
    _, young = aged_log
    retention_apply()
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE id = %s", [young[0].pk])
    assert SEGMENT_UNRECORDED in _problems()


def test_a_forged_segment_checkpoint_fails(agent, aged_log):
    """Someone with the database but not the audit key deletes the oldest entries and writes a
    checkpoint of their own: the signature does not hold."""
    old, _ = aged_log
    last = old[-1]
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE chain_seq <= %s", [last.chain_seq])
    details = {"from_seq": old[0].chain_seq, "through_seq": last.chain_seq, "through_id": last.pk,
               "hash": last.hash, "count": 5, "period": "6 years", "cutoff": "", "at": "", "mac": "0" * 64}  # fmt: skip
    AccessEvent.objects.create(action=AccessEvent.Action.SCRUB, object_type=SEGMENT_OBJECT_TYPE, details=details)
    chain_pending()
    problems = _problems()
    assert SEGMENT_FORGED in problems and SEGMENT_UNRECORDED in problems
    with pytest.raises(CommandError, match="not written by the portal"):
        _verify_command()


def test_a_cut_in_the_middle_still_fails(aged_log):
    _, young = aged_log
    retention_apply()
    behind_the_apps_back("DELETE FROM privacy_portal_accessevent WHERE id = %s", [young[1].pk])
    assert _problems() == [BROKEN_LINK]


def test_the_trigger_refuses_a_delete_outside_the_trim(aged_log):
    old, _ = aged_log
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessEvent.objects.filter(pk=old[0].pk).delete()
    # The trim's setting covers chained positions up to its value only.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('privacy_portal.trim_through', %s, true)", [str(old[0].chain_seq)])
        cursor.execute("DELETE FROM privacy_portal_accessevent WHERE id = %s", [old[1].pk])


def test_free_text_and_reviews_go_with_their_segment(agent, dpo):
    """A break-glass entry in the segment goes with its reason (side table) and the DPO's review
    (and the review's history)."""
    chain_pending()
    entry = AccessEvent.objects.create(
        user=agent, action="break_glass", customer_id=7, at=OLD, flagged=True, reason="Caller on the line"
    )
    BreakGlassReview.objects.create(event=entry, outcome="justified", reviewed_by=dpo)
    _entries(agent, 1, at=NOW)  # the head, inside the period
    assert AccessEventText.objects.filter(event_id=entry.pk).exists() and verify_chain().ok
    trimmed = retention_apply()["access_log"]
    assert trimmed["free_texts"] == 1 and trimmed["reviews"] == 1
    assert not AccessEvent.objects.filter(pk=entry.pk).exists()
    assert not AccessEventText.objects.filter(event_id=entry.pk).exists()
    assert not BreakGlassReview.history.filter(event_id=entry.pk).exists()
    assert verify_chain().ok


def test_an_entry_about_a_held_customer_ends_the_segment(agent, dpo):
    chain_pending()
    before = _entries(agent, 2, at=OLD)
    customer = CustomerFactory()
    (held_entry,) = _entries(agent, 1, at=OLD, customer_id=customer.pk)
    after = _entries(agent, 2, at=OLD)
    _entries(agent, 1, at=NOW)
    hold = LegalHold.objects.create(
        customer=customer, reason="Claim threatened", ends_on=timezone.localdate() + datetime.timedelta(days=30),
        placed_by=dpo,
    )  # fmt: skip
    report = retention_apply()["access_log"]
    assert report["through_seq"] == held_entry.chain_seq - 1
    assert not _everything_before(before[-1]).exists()
    assert AccessEvent.objects.filter(pk__in=[held_entry.pk, *(e.pk for e in after)]).count() == 3
    assert verify_chain().ok
    # The hold released: the next night deletes the rest of the segment.
    hold.delete()
    assert retention_apply()["access_log"]["entries"] >= 3
    assert not AccessEvent.objects.filter(pk=held_entry.pk).exists()
    assert verify_chain().ok


def test_a_search_that_returned_a_held_customer_ends_the_segment_too(agent, dpo):
    chain_pending()
    customer = CustomerFactory()
    _entries(agent, 1, at=OLD)
    search = AccessEvent.objects.create(user=agent, action="search", result_ids=[customer.pk, 5], at=OLD)
    _entries(agent, 1, at=NOW)
    LegalHold.objects.create(
        customer=customer, reason="Claim threatened", ends_on=timezone.localdate() + datetime.timedelta(days=30),
        placed_by=dpo,
    )  # fmt: skip
    retention_apply()
    assert AccessEvent.objects.filter(pk=search.pk).exists()
    assert verify_chain().ok


def test_nothing_is_deleted_from_a_chain_that_does_not_verify(aged_log):
    _, young = aged_log
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET customer_id = 999 WHERE id = %s", [young[0].pk])
    report = retention_apply()["access_log"]
    assert report == {"entries": 0, "not_trimmed_chain_broken": 1}
    assert AccessEvent.objects.filter(at__lt=NOW - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS)).exists()


def test_a_hold_committed_after_the_run_read_its_holds_still_ends_the_segment(agent, dpo, monkeypatch):
    """The run reads the holds when it starts; a complaint about a person committed later (here:
    just after that read, before the trim) must still keep the entries about them and after."""
    from customers.services import legal_holds
    from tests.factories import ComplaintFactory

    chain_pending()
    before = _entries(agent, 2, at=OLD)
    customer = CustomerFactory()
    (held_entry,) = _entries(agent, 1, at=OLD, customer_id=customer.pk)
    after = _entries(agent, 2, at=OLD)
    _entries(agent, 1, at=NOW)
    read_holds, opened = legal_holds.held_customer_ids, []

    def then_a_complaint_arrives(*args, **kwargs):
        held = read_holds(*args, **kwargs)
        if not opened:
            opened.append(ComplaintFactory(customer=customer))
        return held

    monkeypatch.setattr(legal_holds, "held_customer_ids", then_a_complaint_arrives)
    report = retention_apply()["access_log"]
    assert report["through_seq"] == held_entry.chain_seq - 1
    assert not _everything_before(before[-1]).exists()
    assert AccessEvent.objects.filter(pk__in=[held_entry.pk, *(e.pk for e in after)]).count() == 3
    assert verify_chain().ok
