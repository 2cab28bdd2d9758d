"""The restore drill: dump the database, erase a rich customer, restore the dump into a new
database, run `replay_erasures` against it, and search every text column of every table of the
restored database for the person's values: zero hits. Then the purge's replay, and idempotence."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.utils import timezone

from privacy_portal.replay import ledger_entries
from privacy_portal.retention import retention_apply
from tests.factories import CallFactory
from tests.requests.test_erasure import PERSONAL_VALUES, rich, sign_off  # noqa: F401  (rich: the fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.REPLAY_LEDGER_PATH = tmp_path / "private" / "replay-ledger.jsonl"
    return settings.PRIVATE_STORAGE_ROOT


def _dsn(name: str) -> dict:
    db = connection.settings_dict
    return {"dbname": name, "user": db["USER"], "host": db["HOST"] or "127.0.0.1", "port": str(db["PORT"] or 5432)}


def _pg(args: list[str]) -> None:
    db = connection.settings_dict
    env = {**os.environ, "PGUSER": db["USER"], "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432)}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    subprocess.run(args, check=True, env=env, capture_output=True)


@pytest.fixture
def restore_target():
    """A new, empty database to restore into; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:6]}"
    _pg(["createdb", name])
    yield name
    _pg(["dropdb", "--if-exists", "--force", name])


def _dump(path: Path) -> None:
    _pg(["pg_dump", "--format=custom", "--no-owner", f"--file={path}", connection.settings_dict["NAME"]])


def _restore(path: Path, name: str) -> None:
    _pg(["pg_restore", "--no-owner", f"--dbname={name}", str(path)])


def _replay(name: str, since, storage: Path) -> subprocess.CompletedProcess:
    d = _dsn(name)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{d['user']}@{d['host']}:{d['port']}/{name}",
        "PRIVATE_STORAGE_ROOT": str(storage),
        "REPLAY_LEDGER_PATH": str(settings.REPLAY_LEDGER_PATH),
        "CELERY_BROKER_URL": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "replay_erasures", "--since", since.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _find_everywhere(name: str, values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text, varchar or JSON column of every table of database
    `name`, historical tables included, holding any of `values` (case-insensitive)."""
    hits = []
    with psycopg.connect(**_dsn(name)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_name = c.table_name AND t.table_schema = c.table_schema WHERE c.table_schema = 'public' "
            "AND t.table_type = 'BASE TABLE' AND c.data_type IN ('text', 'character varying', 'character', 'json', "
            "'jsonb')"
        )
        columns = cursor.fetchall()
        assert len({t for t, _ in columns}) > 40  # every app's tables, history tables included
        patterns = [f"%{v}%" for v in values]
        for table, column in columns:
            sql = f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)'  # noqa: S608 (catalogue)
            cursor.execute(sql, [patterns])
            for (text,) in cursor.fetchall():
                hits += [(table, column, v) for v in values if v.lower() in text.lower()]
    return hits


@pytest.mark.django_db(transaction=True)
def test_the_restore_drill_an_erasure_after_the_backup_is_replayed_and_nothing_of_the_person_is_left(
    rich,  # noqa: F811  (the fixture imported above)
    dpo,
    private_storage,
    restore_target,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    customer = rich["customer"]
    backup = tmp_path / "nightly.dump"
    _dump(backup)
    backup_time = timezone.now()

    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    (entry,) = ledger_entries(backup_time)
    assert entry["kind"] == "erasure" and entry["customer_id"] == customer.pk
    # The ledger holds ids and keyed hashes, never a personal value.
    ledger_text = settings.REPLAY_LEDGER_PATH.read_text()
    assert not [v for v in PERSONAL_VALUES if v.lower() in ledger_text.lower()]

    _restore(backup, restore_target)
    # The restored database has the person back, everywhere.
    assert _find_everywhere(restore_target, PERSONAL_VALUES)

    result = _replay(restore_target, backup_time, private_storage)
    assert result.returncode == 0, result.stderr
    assert "Erasures re-applied: 1" in result.stdout

    assert _find_everywhere(restore_target, PERSONAL_VALUES) == []
    with psycopg.connect(**_dsn(restore_target)) as conn:
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
    again = _replay(restore_target, backup_time, private_storage)
    assert again.returncode == 0, again.stderr
    assert "Erasures re-applied: 0; already done: 1" in again.stdout
    # The replay recorded nothing new in the ledger: what it re-applied is there already.
    assert len(ledger_entries(backup_time)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_purge_after_the_backup_is_replayed_on_the_restored_database(private_storage, restore_target, tmp_path):
    old = CallFactory(started_at=timezone.now() - relativedelta(months=7))
    old.duration_seconds += 1
    old.save()
    kept = CallFactory(started_at=timezone.now() - relativedelta(months=1))
    backup = tmp_path / "nightly.dump"
    _dump(backup)
    backup_time = timezone.now()
    retention_apply()
    (entry,) = ledger_entries(backup_time)
    assert entry["kind"] == "purge" and entry["rows"]["customers.Call"] == [old.pk]

    _restore(backup, restore_target)
    result = _replay(restore_target, backup_time, private_storage)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(**_dsn(restore_target)) as conn:
        calls = [r[0] for r in conn.execute("SELECT id FROM customers_call ORDER BY id").fetchall()]
        history = conn.execute("SELECT count(*) FROM customers_historicalcall WHERE id = %s", [old.pk]).fetchone()[0]
    assert calls == [kept.pk]
    assert history == 0
