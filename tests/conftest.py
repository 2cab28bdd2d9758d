"""The cast of users, shared fixtures, and guards that keep the suite honest."""

from __future__ import annotations

import pytest
from django.db import connection

from privacy_portal.models import User
from tests.factories import PASSWORD, UserFactory

ROLES = [User.Role.AGENT, User.Role.HANDLER, User.Role.DPO, User.Role.AUDITOR, User.Role.ITADMIN]


@pytest.fixture(autouse=True)
def _fast_hashing_and_postgres(settings, request):
    # MD5 in tests for speed; Argon2 is what settings.py configures (asserted in test_settings).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        assert connection.vendor == "postgresql", "The suite runs on PostgreSQL, never SQLite."


@pytest.fixture(autouse=True)
def _own_replay_ledger(settings, tmp_path_factory):
    """Each test appends erasures and purges to a replay ledger of its own, not the shared one."""
    settings.REPLAY_LEDGER_PATH = tmp_path_factory.mktemp("ledger") / "replay-ledger.jsonl"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def agent(db) -> User:
    return UserFactory(username="alice_agent", role=User.Role.AGENT)


@pytest.fixture
def handler(db) -> User:
    """A handler who will be assigned the case in case fixtures."""
    return UserFactory(username="hana_handler", role=User.Role.HANDLER)


@pytest.fixture
def other_handler(db) -> User:
    """A handler without the case."""
    return UserFactory(username="otto_handler", role=User.Role.HANDLER)


@pytest.fixture
def dpo(db) -> User:
    return UserFactory(username="dora_dpo", role=User.Role.DPO)


@pytest.fixture
def auditor(db) -> User:
    return UserFactory(username="aud_auditor", role=User.Role.AUDITOR)


@pytest.fixture
def itadmin(db) -> User:
    return UserFactory(username="ian_itadmin", role=User.Role.ITADMIN)


@pytest.fixture
def nobody(db) -> User:
    """Signed in, but with no role."""
    return UserFactory(username="noah_norole")


@pytest.fixture
def cast(agent, handler, other_handler, dpo, auditor, itadmin, nobody) -> dict[str, User]:
    return {
        "agent": agent,
        "handler": handler,
        "other_handler": other_handler,
        "dpo": dpo,
        "auditor": auditor,
        "itadmin": itadmin,
        "nobody": nobody,
    }


@pytest.fixture
def client_for(client):
    """`client_for(user)` gives a test client signed in as that user."""

    def _client(user: User):
        client.force_login(user)
        return client

    return _client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """One pytest session per test database: a second run sharing a DATABASE_URL (hence the same
    test_<name>_gw<n> databases under --reuse-db) inserted the same fixture users at the same time
    and deadlocked on privacy_portal_user_username_key. Each session holds an advisory lock on its
    test database's name; a second session stops at once with a message naming the database."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    holder = psycopg.connect(
        host=db.get("HOST") or None, port=db.get("PORT") or None, user=db.get("USER") or None,
        password=db.get("PASSWORD") or None, dbname="postgres", autocommit=True,
    )  # fmt: skip
    if not holder.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [db["NAME"]]).fetchone()[0]:
        holder.close()
        pytest.exit(
            f"Another pytest session is using the test database {db['NAME']}: give this run its own "
            "DATABASE_URL and run again.",
            returncode=3,
        )
    yield
    holder.close()
