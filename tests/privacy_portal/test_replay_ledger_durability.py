"""The replay ledger's line is not lost when the process dies between the erasure's commit and the
ledger write: the line is also kept in the erasure's chained scrub entry (same transaction), and
the nightly reconciliation writes every such line the ledger lacks. The crash is simulated by the
ledger write failing after the commit; then the restore drill runs on the reconciled ledger."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from privacy_portal.models import AccessEvent, JobRun
from privacy_portal.services import replay
from privacy_portal.services.replay import ledger_entries, ledger_reconcile
from privacy_portal.tasks import reconcile_replay_ledger
from tests.fixtures.erasure import PERSONAL_VALUES, sign_off
from tests.fixtures.restore import dump_database, find_in_database, replay_erasures, restore_database


class Killed(BaseException):
    """The process dying: nothing after it runs (not an Exception a handler would catch)."""


@pytest.fixture
def dies_before_the_ledger_write(monkeypatch):
    real = replay._append

    def killed(entry):
        if entry["kind"] == replay.ERASURE:
            raise Killed
        real(entry)

    monkeypatch.setattr(replay, "_append", killed)
    return lambda: monkeypatch.setattr(replay, "_append", real)


@pytest.mark.django_db(transaction=True)
def test_an_erasure_whose_ledger_write_died_after_the_commit_is_reconciled_and_survives_arestore_database(
    rich,
    dpo,
    ledger_storage,
    restore_target,
    tmp_path,
    django_capture_on_commit_callbacks,
    dies_before_the_ledger_write,
):
    customer = rich["customer"]
    backup = tmp_path / "nightly.dump"
    dump_database(backup)
    backup_time = timezone.now()

    with pytest.raises(Killed):
        sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    dies_before_the_ledger_write()  # the process restarts
    # Committed, but the ledger never heard of it: a restore now would bring the person back.
    customer.refresh_from_db()
    assert customer.is_erased
    assert ledger_entries(backup_time) == []

    # The nightly reconciliation writes the line the database kept in the erasure's scrub entry.
    reconcile_replay_ledger()
    assert JobRun.objects.get(name="reconcile_replay_ledger").detail == {"appended": 1}
    (entry,) = ledger_entries(backup_time)
    scrub = AccessEvent.objects.get(action="scrub", object_type="erasure", customer_id=customer.pk)
    assert entry == {**scrub.details["replay"], "line": 1}
    assert entry["kind"] == "erasure" and entry["customer_id"] == customer.pk and entry["suppression"]
    ledger_text = settings.REPLAY_LEDGER_PATH.read_text()
    assert not [v for v in PERSONAL_VALUES if v.lower() in ledger_text.lower()]
    # Idempotent: run again, nothing appended.
    out = io.StringIO()
    call_command("reconcile_replay_ledger", stdout=out)
    assert "ledger: 0" in out.getvalue()

    # The restore drill on the reconciled ledger: zero hits.
    restore_database(backup, restore_target)
    assert find_in_database(restore_target, PERSONAL_VALUES)
    result = replay_erasures(restore_target, backup_time, ledger_storage)
    assert result.returncode == 0, result.stderr
    assert "Erasures re-applied: 1" in result.stdout
    assert find_in_database(restore_target, PERSONAL_VALUES) == []


@pytest.mark.django_db
def test_a_line_written_by_both_the_commit_and_the_reconciliation_is_replayed_once(settings, tmp_path):
    settings.REPLAY_LEDGER_PATH = tmp_path / "ledger.jsonl"
    line = {"id": "a" * 32, "at": timezone.now().isoformat(), "kind": "purge", "rows": {"customers.Call": [1]}}
    replay._append(line)
    replay._append(line)
    assert len(settings.REPLAY_LEDGER_PATH.read_text().splitlines()) == 2
    assert [e["id"] for e in ledger_entries(timezone.now().replace(year=2000))] == ["a" * 32]


@pytest.mark.django_db
def test_reconciliation_appends_nothing_for_an_erasure_already_in_the_ledger(settings, tmp_path, agent):
    settings.REPLAY_LEDGER_PATH = tmp_path / "ledger.jsonl"
    line = {"id": "b" * 32, "at": timezone.now().isoformat(), "kind": "erasure", "case_id": 1, "customer_id": 2,
            "actor_id": agent.pk, "include": [], "suppression": []}  # fmt: skip
    AccessEvent.objects.create(user=agent, action="scrub", object_type="erasure", customer_id=2,
                               details={"case": "R-1", "replay": line})  # fmt: skip
    assert ledger_reconcile() == 1
    assert ledger_reconcile() == 0
    assert [json.loads(x)["id"] for x in settings.REPLAY_LEDGER_PATH.read_text().splitlines()] == ["b" * 32]
