"""The access log's trim is in the replay ledger: a backup taken before the nightly trim, restored,
then replayed, trims the same segment again behind its own signed checkpoint; replaying twice
changes nothing. (pg_dump, pg_restore, manage.py replay_erasures, as the restore drill.)"""

from __future__ import annotations

import datetime

import psycopg
import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.audit import SEGMENT_OBJECT_TYPE, chain_pending
from privacy_portal.models import AccessEvent
from privacy_portal.services.replay import ledger_entries
from privacy_portal.services.staff import access_log_trim_expired
from tests.fixtures.restore import dsn, dump_database, replay_erasures, restore_database


def _restored(name):
    with psycopg.connect(**dsn(name)) as conn:
        seqs = [r[0] for r in conn.execute("SELECT chain_seq FROM privacy_portal_accessevent ORDER BY id").fetchall()]
        segments = conn.execute(
            "SELECT count(*) FROM privacy_portal_accessevent WHERE action = 'scrub' AND object_type = %s",
            [SEGMENT_OBJECT_TYPE],
        ).fetchone()[0]
    return seqs, segments


@pytest.mark.django_db(transaction=True)
def test_a_trim_after_the_backup_is_replayed_on_the_restored_database(agent, ledger_storage, restore_target, tmp_path):
    old = timezone.now() - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS, months=2)
    for i in range(4):
        AccessEvent.objects.create(user=agent, action="view_customer", customer_id=900 + i, at=old)
    for i in range(2):
        AccessEvent.objects.create(user=agent, action="view_customer", customer_id=950 + i, at=timezone.now())
    chain_pending()
    backup = tmp_path / "nightly.dump"
    dump_database(backup)
    backup_time = timezone.now()

    report = access_log_trim_expired(now=timezone.now() + datetime.timedelta(seconds=1))
    assert report["entries"] == 4
    (entry,) = [e for e in ledger_entries(backup_time) if e["kind"] == "access_log_trim"]
    assert entry["through_seq"] == report["through_seq"]
    kept_seqs = sorted(AccessEvent.objects.filter(chain_seq__isnull=False).values_list("chain_seq", flat=True))

    restore_database(backup, restore_target)
    seqs, segments = _restored(restore_target)
    assert min(s for s in seqs if s) <= entry["through_seq"] and segments == 0  # the restore brought them back
    result = replay_erasures(restore_target, backup_time, ledger_storage)
    assert result.returncode == 0, result.stderr
    assert "access-log trims re-applied: 1 (4 entries)" in result.stdout
    seqs, segments = _restored(restore_target)
    assert min(s for s in seqs if s) == entry["through_seq"] + 1
    assert segments == 1
    assert set(kept_seqs) <= set(seqs)  # the younger entries stay

    again = replay_erasures(restore_target, backup_time, ledger_storage)
    assert again.returncode == 0, again.stderr
    assert "access-log trims re-applied: 1 (0 entries)" in again.stdout
    assert _restored(restore_target)[1] == 1
