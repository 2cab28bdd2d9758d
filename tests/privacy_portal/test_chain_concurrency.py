"""The access log's chain under real concurrency on PostgreSQL: several writers and chainers at
once, and an entry that commits after a later id. Each writer is a thread with its own database
connection (its own session and transactions), as gunicorn workers are."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction

from privacy_portal.audit import chain_pending, verify_chain
from privacy_portal.models import GENESIS_HASH, AccessEvent
from tests.factories import UserFactory
from tests.fixtures.celery import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6
ENTRIES_PER_WRITER = 60


def in_thread(target, *args):
    """Run `target` in a thread with its own connection, closed at the end; errors re-raised."""
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def assert_one_unforked_chain(expected: int) -> None:
    rows = list(AccessEvent.objects.order_by("chain_seq").values_list("chain_seq", "prev_hash", "hash"))
    assert len(rows) == expected
    assert [seq for seq, _, _ in rows] == list(range(1, expected + 1))
    prevs = [prev for _, prev, _ in rows]
    assert len(set(prevs)) == expected  # no two entries share a predecessor: no fork
    assert prevs[0] == GENESIS_HASH and all(rows[i][1] == rows[i - 1][2] for i in range(1, expected))
    report = verify_chain()
    assert report.ok and report.checked == expected and report.pending == 0


def test_several_writers_and_a_running_chainer_make_one_unforked_chain():
    user = UserFactory(role="agent")
    start = threading.Barrier(WRITERS + 1)
    done = threading.Event()

    def write(writer: int):
        start.wait()
        for i in range(ENTRIES_PER_WRITER):
            # Some entries alone, some two to a transaction (a page that records two reads).
            with transaction.atomic():
                AccessEvent.objects.create(user_id=user.pk, action="view_customer", customer_id=writer * 1000 + i)
                if i % 3 == 0:
                    AccessEvent.objects.create(user_id=user.pk, action="search", result_ids=[writer, i])

    def chain_while_writing():
        start.wait()
        while not done.is_set():
            chain_pending(wait=False)
            time.sleep(0.01)

    writers = [in_thread(write, w) for w in range(WRITERS)]
    chainer = in_thread(chain_while_writing)
    for thread, errors in writers:
        thread.join()
        assert not errors, errors
    done.set()
    chainer[0].join()
    assert not chainer[1], chainer[1]
    chain_pending()
    assert_one_unforked_chain(WRITERS * (ENTRIES_PER_WRITER + ENTRIES_PER_WRITER // 3))


def test_two_chainers_at_once_never_fork_the_chain():
    user = UserFactory(role="agent")
    AccessEvent.objects.bulk_create(
        [AccessEvent(user_id=user.pk, action="view_customer", customer_id=i) for i in range(3000)]
    )
    start = threading.Barrier(2)

    def chain():
        start.wait()
        chain_pending(batch_size=200)

    chainers = [in_thread(chain) for _ in range(2)]
    for thread, errors in chainers:
        thread.join()
        assert not errors, errors
    assert_one_unforked_chain(3000)


def test_an_entry_committed_after_a_later_id_is_chained_in_the_next_run_not_skipped():
    """Ids are drawn at insert, not at commit: the chainer must not walk "id above the last chained"."""
    user = UserFactory(role="agent")
    inserted, release = threading.Event(), threading.Event()
    late_id: list[int] = []

    def slow_transaction():
        with transaction.atomic():
            late_id.append(AccessEvent.objects.create(user_id=user.pk, action="view_customer", customer_id=1).pk)
            inserted.set()
            assert release.wait(20)

    thread, errors = in_thread(slow_transaction)
    assert inserted.wait(20)
    early = AccessEvent.objects.create(user_id=user.pk, action="view_customer", customer_id=2)
    assert early.pk > late_id[0]
    assert chain_pending() == 1  # only `early` is committed
    release.set()
    thread.join()
    assert not errors, errors
    assert chain_pending() == 1
    late = AccessEvent.objects.get(pk=late_id[0])
    early.refresh_from_db()
    assert late.chain_seq == early.chain_seq + 1 and late.prev_hash == early.hash
    assert_one_unforked_chain(2)


def test_the_beat_task_chains_entries_on_a_real_worker(redis_worker):
    from privacy_portal.tasks import chain_access_log

    user = UserFactory(role="agent")
    events = [AccessEvent.objects.create(user_id=user.pk, action="view_customer", customer_id=i) for i in range(5)]
    chain_access_log.delay()
    assert wait_for(lambda: not AccessEvent.objects.filter(hash__isnull=True).exists())
    assert_one_unforked_chain(len(events))
