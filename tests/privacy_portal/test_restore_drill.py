"""The restore drill: dump the database, erase a rich customer, restore the dump into a new
database, run `replay_erasures` against it, and search every text column of every table of the
restored database for the person's values: zero hits. Then the purge's replay, and idempotence."""

from __future__ import annotations

import psycopg
import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from privacy_portal.retention import retention_apply
from privacy_portal.services.replay import ledger_entries
from tests.factories import CallFactory
from tests.fixtures.erasure import PERSONAL_VALUES, sign_off
from tests.fixtures.restore import dsn, dump_database, find_in_database, replay_erasures, restore_database


@pytest.mark.django_db(transaction=True)
def test_the_restore_drill_an_erasure_after_the_backup_is_replayed_and_nothing_of_the_person_is_left(
    rich,
    dpo,
    ledger_storage,
    restore_target,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    customer = rich["customer"]
    backup = tmp_path / "nightly.dump"
    dump_database(backup)
    backup_time = timezone.now()

    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    (entry,) = ledger_entries(backup_time)
    assert entry["kind"] == "erasure" and entry["customer_id"] == customer.pk
    # The ledger holds ids and keyed hashes, never a personal value.
    ledger_text = settings.REPLAY_LEDGER_PATH.read_text()
    assert not [v for v in PERSONAL_VALUES if v.lower() in ledger_text.lower()]

    restore_database(backup, restore_target)
    # The restored database has the person back, everywhere.
    assert find_in_database(restore_target, PERSONAL_VALUES)

    result = replay_erasures(restore_target, backup_time, ledger_storage)
    assert result.returncode == 0, result.stderr
    assert "Erasures re-applied: 1" in result.stdout

    assert find_in_database(restore_target, PERSONAL_VALUES) == []
    with psycopg.connect(**dsn(restore_target)) as conn:
        sql = "SELECT first_name FROM customers_customer WHERE id = %s"
        (erased_name,) = conn.execute(sql, [customer.pk]).fetchone()
        suppressed = conn.execute("SELECT count(*) FROM customers_suppressionentry").fetchone()[0]
        scrubs = conn.execute(
            "SELECT count(*) FROM privacy_portal_accessevent WHERE action = 'scrub' AND object_type = 'replay: erasure'"
        ).fetchone()[0]
    assert erased_name == "Erased"
    assert suppressed >= len(entry["suppression"]) > 0
    assert scrubs == 1

    # Idempotent: a second replay changes nothing but says so.
    again = replay_erasures(restore_target, backup_time, ledger_storage)
    assert again.returncode == 0, again.stderr
    assert "Erasures re-applied: 0; already done: 1" in again.stdout
    # The replay recorded nothing new in the ledger: what it re-applied is there already.
    assert len(ledger_entries(backup_time)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_purge_after_the_backup_is_replayed_on_the_restored_database(ledger_storage, restore_target, tmp_path):
    old = CallFactory(started_at=timezone.now() - relativedelta(months=7))
    old.duration_seconds += 1
    old.save()
    kept = CallFactory(started_at=timezone.now() - relativedelta(months=1))
    backup = tmp_path / "nightly.dump"
    dump_database(backup)
    backup_time = timezone.now()
    retention_apply()
    (entry,) = ledger_entries(backup_time)
    assert entry["kind"] == "purge" and entry["rows"]["customers.Call"] == [old.pk]

    restore_database(backup, restore_target)
    result = replay_erasures(restore_target, backup_time, ledger_storage)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(**dsn(restore_target)) as conn:
        calls = [r[0] for r in conn.execute("SELECT id FROM customers_call ORDER BY id").fetchall()]
        history = conn.execute("SELECT count(*) FROM customers_historicalcall WHERE id = %s", [old.pk]).fetchone()[0]
    assert calls == [kept.pk]
    assert history == 0
