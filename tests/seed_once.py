"""`seed_demo` run once for a module's tests, which then only read what it made."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

from django.core.management import call_command
from django.db import transaction
from django.test import TestCase, override_settings

DEMO_PASSWORD = "demo-password-for-tests"


@contextlib.contextmanager
def seed_demo_once(django_db_blocker, folder: Path, *, run_on_commit: bool = False) -> Iterator[str]:
    """Seed the demo once for a module's tests (yields the command's output).

    One seed is thousands of statements, and the seed_demo tests each ran their own. Here it runs
    inside a transaction held open for the module (as `module_world` in the hostile-input walk
    does): each test then runs in a savepoint of it that pytest-django rolls back after the test,
    so every test starts from the same seeded rows, as if it had seeded them itself, and the
    transaction is rolled back when the module ends. What function-scoped fixtures would give
    (fast hashing, a replay ledger and private storage of its own) is set here for the module.
    `run_on_commit` runs the seed's on-commit callbacks (files written after commit) as a commit
    would. Only for modules without transactional tests (they would run inside this transaction).
    """
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(
        DEMO_PASSWORD=DEMO_PASSWORD,
        PASSWORD_HASHERS=fast,
        PRIVATE_STORAGE_ROOT=str(folder / "private"),
        REPLAY_LEDGER_PATH=folder / "replay-ledger.jsonl",
    ):
        with django_db_blocker.unblock():
            atomic = transaction.atomic()
            atomic.__enter__()
        try:
            out = io.StringIO()
            with django_db_blocker.unblock():
                if run_on_commit:
                    with TestCase.captureOnCommitCallbacks(execute=True):
                        call_command("seed_demo", stdout=out)
                else:
                    call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
