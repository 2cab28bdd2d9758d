"""The staff cast of tests/conftest.py made once per worker, not once per test.

1,364 tests ask for staff users (agent, handler, ... or the whole `cast`), and making them was
~18 ms of CPU per cast (an INSERT, a history row and a group membership per user). Now the users a
test asks for are made in a transaction held open across tests (as seed_once.py does for the demo
seed): each test runs in a savepoint of it that pytest-django rolls back after the test, so the
test sees the same rows as if it had made them (and whatever it changes is undone), and the next
test asking for the same users reuses them. When a test asks for fewer users (or none), the
savepoints holding the others are rolled back, and the users it asks for that are not held are
made in a savepoint of their own, so a test never sees a user it did not ask for: counts of
users, history rows and group memberships are the same as before.

Not held (each test makes its users itself, as before): transactional tests (they commit and
flush), Django's own TestCase classes, and every test of a module where a class-, module- or
session-scoped fixture opens the database (seed_demo_once, the hostile walk's world, live_server):
their transaction would nest inside the held one, which could then not be rolled back first.

Each held user's made-up names come from a seed of its own (the same at every run, whichever test
made it), and each test still draws what making it would have drawn (UserFactory.build), so the
names and numbers the test's other factories make are the ones they were.
"""

from __future__ import annotations

import copy
import inspect

import factory.random
import pytest
from django.db import connection, transaction
from django.test import override_settings

from privacy_portal.models import User
from tests.factories import UserFactory

# Fixture name: (username, role).
CAST = {
    "agent": ("alice_agent", User.Role.AGENT),
    "handler": ("hana_handler", User.Role.HANDLER),
    "other_handler": ("otto_handler", User.Role.HANDLER),
    "dpo": ("dora_dpo", User.Role.DPO),
    "auditor": ("aud_auditor", User.Role.AUDITOR),
    "itadmin": ("ian_itadmin", User.Role.ITADMIN),
    "nobody": ("noah_norole", ""),
}

# Broader-scoped fixtures that open the database before any test's transaction (the test database
# itself) or only for Django's TestCase classes (not held anyway).
SET_UP_FIRST = {"django_db_setup", "_django_setup_unittest"}
# Which cast members a test may be given from the held transaction (absent: none, make them).
WANTED = pytest.StashKey[frozenset[str]]()
# The test run after this one (None at the end of the run or of an xdist batch).
NEXT = pytest.StashKey["pytest.Item | None"]()


def make(name: str) -> User:
    username, role = CAST[name]
    return UserFactory(username=username, role=role)


class HeldCast:
    """The cast members held, in layers: a transaction held open, then a savepoint in it for each
    group of members added to what was held, so that a test asking for fewer members rolls back
    only the layers holding the others, and one asking for more adds a layer."""

    def __init__(self) -> None:
        self.layers: list[tuple[transaction.Atomic, dict[str, User]]] = []

    def members(self) -> frozenset[str]:
        return frozenset(name for _, users in self.layers for name in users)

    def hold(self, wanted: frozenset[str]) -> None:
        """Hold exactly `wanted`."""
        if self.layers and self.layers[0][0] not in connection.atomic_blocks:
            self.layers = []  # the connection was closed: the rows are gone
        while self.layers and not self.members() <= wanted:
            self._roll_back_top()
        missing = wanted - self.members()
        if not missing:
            return
        atomic = transaction.atomic()
        atomic.__enter__()
        users: dict[str, User] = {}
        self.layers.append((atomic, users))
        # Made with names of their own and without advancing the test's made-up data or
        # UserFactory's sequence (the test does both itself when it is given a user, in `give`).
        state = factory.random.get_random_state()
        options = UserFactory._meta
        options._initialize_counter()
        sequence = options._counter.seq
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                for name in CAST:
                    if name in missing:
                        factory.random.reseed_random(f"tests.cast_once {name}")
                        users[name] = make(name)
        except BaseException:
            self.release()
            raise
        finally:
            factory.random.set_random_state(state)
            options._counter.reset(sequence)

    def release(self) -> None:
        """Roll back everything held (the users in it are gone)."""
        if self.layers and self.layers[0][0] not in connection.atomic_blocks:
            self.layers = []
        while self.layers:
            self._roll_back_top()

    def _roll_back_top(self) -> None:
        atomic, _ = self.layers.pop()
        if connection.atomic_blocks[-1] is not atomic:
            self.layers = []
            raise RuntimeError(
                "A transaction opened after the held cast's is still open: tests/cast_once.py cannot roll "
                "the cast back. Which fixture opens it? Its module should not hold the cast (see WANTED)."
            )
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)

    def give(self, name: str) -> User | None:
        """A copy of the held user (as the test would have had it), or None if it is not held."""
        user = next((users[name] for _, users in self.layers if name in users), None)
        if user is None:
            return None
        # What making the user drew from the made-up data and UserFactory's sequence, drawn again.
        username, role = CAST[name]
        UserFactory.build(username=username, role=role)
        return copy.deepcopy(user)


HELD = HeldCast()


def mark_holdable(items: list[pytest.Item], transactional: set[pytest.Item], conftest: str) -> None:
    """Stash on each item the cast members it may be given from the held transaction."""
    unsafe_modules = set()
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for defs in info.name2fixturedefs.values():
            if any(
                d.scope != "function" and "django_db_blocker" in d.argnames and d.argname not in SET_UP_FIRST
                for d in defs
            ):
                unsafe_modules.add(item.nodeid.split("::")[0])
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if (
            info is None
            or item in transactional
            or item.nodeid.split("::")[0] in unsafe_modules
            or (getattr(item, "cls", None) is not None and _is_unittest(item))
        ):
            continue
        wanted = set()
        for name in CAST:
            defs = info.name2fixturedefs.get(name, ())
            if name not in item.fixturenames or not defs:
                continue
            # The conftest's own fixture, or an override that asks for it (not one replacing it).
            if any(_defined_in(d, conftest) for d in defs) and (
                _defined_in(defs[-1], conftest) or name in defs[-1].argnames
            ):
                wanted.add(name)
        item.stash[WANTED] = frozenset(wanted)


def _defined_in(fixturedef, path: str) -> bool:
    return inspect.unwrap(fixturedef.func).__code__.co_filename == path


def _is_unittest(item: pytest.Item) -> bool:
    import unittest

    return issubclass(item.cls, unittest.TestCase)
