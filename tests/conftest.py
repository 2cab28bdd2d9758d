"""The cast of users, shared fixtures, and guards that keep the suite honest."""

from __future__ import annotations

from pathlib import Path

import factory.random
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.db import connection

from privacy_portal.models import User
from privacy_portal.roles import sync_role_groups
from tests.factories import PASSWORD, UserFactory

# Fixtures shared across apps live in tests/fixtures/, loaded here, never imported from a test module.
pytest_plugins = [
    "tests.fixtures.celery",
    "tests.fixtures.collection",
    "tests.fixtures.erasure",
    "tests.fixtures.restore",
    "tests.fixtures.sendgrid",
    "tests.fixtures.sms_gateway",
    "tests.fixtures.smtp",
]

# The root the environment configures (pyproject.toml's pytest-env, or PRIVATE_STORAGE_ROOT).
_CONFIGURED_PRIVATE_ROOT = Path(django_settings.PRIVATE_STORAGE_ROOT)

ROLES = [User.Role.AGENT, User.Role.HANDLER, User.Role.DPO, User.Role.AUDITOR, User.Role.ITADMIN]


TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every transactional test (the browser journeys, real workers, races) is `slow`: its
    teardown empties the database and re-creates its reference rows, seconds per test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = marker.kwargs if marker is not None else {}
        transactional = kwargs.get("transaction") or kwargs.get("reset_sequences")
        if transactional or TRANSACTIONAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # The slow tests first (a stable sort: each module's tests keep their order), so the run ends
    # on many short tests that the two workers share evenly rather than on one long journey.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _fast_hashing_and_postgres(settings, request):
    # MD5 in tests for speed; Argon2 is what settings.py configures (asserted in test_settings).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # WhiteNoise finds a static file when it is asked for, as under `make run` (DEBUG), rather than
    # listing every file of every finder when its middleware is built: each test's client builds
    # the middleware again, and that listing (172 files, admin's included) was ~10 ms per test.
    settings.WHITENOISE_AUTOREFRESH = True
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        assert connection.vendor == "postgresql", "The suite runs on PostgreSQL, never SQLite."


@pytest.fixture(scope="module", autouse=True)
def _same_made_up_data_each_run_for_the_module(request):
    """What a module-scoped fixture makes with the factories is the same at every run (below)."""
    factory.random.reseed_random(request.node.nodeid)


@pytest.fixture(autouse=True)
def _same_made_up_data_each_run(request):
    """The factories' made-up values (Faker's names, towns, streets) are drawn afresh for each
    test from a seed of the test's own id, so a test sees the same people at every run, whichever
    worker runs it and after whichever tests. Drawn from one stream shared by the whole session,
    they changed with the order xdist's worksteal ran the tests in, and a few assertions held for
    most names only: a surname with an apostrophe (O'Brien, about 1 in 150 draws) is escaped in
    HTML, and "the customer's surname is not on the page" fails when it is also the signed-in
    handler's (two people share one about 1 in 200 times) or a word the page holds anyway ("Chan"
    in "Channel", "Day" in "7 Days"). Now such a test fails at every run or at none."""
    factory.random.reseed_random(request.node.nodeid)


@pytest.fixture(autouse=True)
def _own_private_storage(settings, tmp_path_factory):
    """Each test writes its files to a private storage of its own, unless its module already set
    one (seed_demo_once, the hostile walk's world, or a fixture of the module's own). The
    configured PRIVATE_STORAGE_ROOT is shared by both xdist workers, whose databases number their
    rows alike, and by every earlier run on the machine (make test after the session's own runs,
    with --create-db numbering from 1 again): a test asserting that nothing was written under
    cases/<pk>/ found the export another run's test had left for the same pk (the identity upload
    test of tests/public/test_secure_page.py, with cases/5 and cases/6 left in the default root)."""
    if Path(settings.PRIVATE_STORAGE_ROOT) == _CONFIGURED_PRIVATE_ROOT:
        settings.PRIVATE_STORAGE_ROOT = tmp_path_factory.mktemp("private")


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
def role_groups(db) -> None:
    """The role groups and their permissions, which a transactional test's flushed database lacks."""
    sync_role_groups(Group, Permission)


@pytest.fixture
def private_storage(settings, tmp_path):
    """Private storage of the test's own, under its tmp_path."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


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
    _no_wait_for_the_disk()
    yield
    holder.close()


def _no_wait_for_the_disk() -> None:
    """The test databases' commits do not wait for their WAL to reach the disk
    (synchronous_commit = off, for the suite's own connections only): a crash of the test server
    could lose the last commits of a database that is thrown away anyway, and each of the suite's
    thousands of commits no longer waits for an fsync. Visibility and locking are unchanged: a
    committed row is seen by every other connection at once, as before."""
    from django.db import connections

    for conn in connections.all():
        if conn.vendor != "postgresql":
            continue
        options = conn.settings_dict.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
        conn.close()  # the next query opens a connection with the option


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """After a transactional test (transaction=True, live_server, the browser journeys), empty the
    tables with DELETE instead of Django's one TRUNCATE of all of them. The database is left the
    same (every table empty, then post_migrate as `flush` emits it: content types, permissions, role
    groups, reference data), but TRUNCATE gives each of ~200 tables, its indexes and TOAST table
    new files, most of the seconds a flush took, while DELETE of the few rows a test wrote costs
    milliseconds. Foreign keys and the append-only triggers (which TRUNCATE does not fire either)
    are not checked while emptying everything (session_replication_role = replica, for this
    transaction only)."""
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections
    from django.test import TransactionTestCase

    truncate = TransactionTestCase._fixture_teardown

    def delete_then_post_migrate(self) -> None:
        names = self._databases_names(include_mirrors=False)
        if self.available_apps is not None or self.serialized_rollback or len(names) != 1:
            return truncate(self)  # Django's own handling of those cases
        (alias,) = names
        conn = connections[alias]
        if conn.vendor != "postgresql":
            return truncate(self)
        # Every table but the migration record: the models' tables and the ones migrations create
        # with SQL of their own (the TPS/CTPS registers), which Django's flush never empties, so a
        # number a browser journey committed stayed listed for every later test on that worker.
        with conn.cursor() as cursor:
            tables = [
                t for t in conn.introspection.table_names(cursor, include_views=False) if t != "django_migrations"
            ]
        deletes = [f"DELETE FROM {conn.ops.quote_name(t)}" for t in tables]  # noqa: S608 (quoted table names)
        statements = "; ".join(["SET LOCAL session_replication_role = replica", *deletes])
        conn.ops.execute_sql_flush([statements])
        emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)

    TransactionTestCase._fixture_teardown = delete_then_post_migrate
    yield
    TransactionTestCase._fixture_teardown = truncate
