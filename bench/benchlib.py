"""Pieces every benchmark shares: its scratch database's name, creating it, and staff who can sign in.

Scratch databases are named ``<BENCH_DB_PREFIX><name>`` (prefix ``pp_`` unless set). A ``--smoke``
run (``make bench-smoke``, part of ``make test``) never touches the data a full run took minutes to
load: it gets a database of its own, ``<name>_smoke_<run>``, copied from a migrated template that
bench/smoke.py prepares once for all the benches, and dropped when the run ends (so two runs at once,
on a shared machine, never meet).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


def scratch_name(name: str, *, smoke: bool = False) -> str:
    """The scratch database for a bench: BENCH_DB_PREFIX + name (+ '_smoke' for a smoke run)."""
    prefix = os.environ.get("BENCH_DB_PREFIX", "pp_")
    base = name.removeprefix("pp_")
    return f"{prefix}{base}{'_smoke' if smoke else ''}"


def scratch_url(name: str, *, smoke: bool = False) -> str:
    return f"{SERVER}/{scratch_name(name, smoke=smoke)}"


def ensure_database(url: str, *, recreate: bool = False) -> None:
    """Create the scratch database if missing (dropped first when `recreate`)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if "bench" not in name and "smoke" not in name:
        raise SystemExit(f"Refusing to use {name!r} as a scratch database: its name must contain 'bench'.")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            print(f"Creating database {name}...", flush=True)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def add_root_to_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def staff_user(username: str, role: str, *, password: str | None = None):
    """A member of staff with `role` (and only that) who can sign in.

    An account that sees customer data signs in only once a DPO other than its creator has
    approved it; the bench approves it as such a DPO would (a second bench DPO, approved by the
    first), so sign-in through the real page and `force_login` sessions both hold.
    """
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from privacy_portal.models import User
    from privacy_portal.roles import group_name

    approver = None
    if role in User.DATA_ROLES:
        approver, _ = User.objects.get_or_create(
            username="bench_approver", defaults={"role": User.Role.DPO, "email": "bench_approver@example.org"}
        )
        if approver.approved_at is None:
            approver.approved_at = timezone.now()
            approver.save(update_fields=["approved_at"])
            approver.groups.set([Group.objects.get(name=group_name(User.Role.DPO))])
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=role, email=f"{username}@example.org", first_name="Bench")
        user.set_unusable_password()
        user.save()
    if not user.groups.exists():
        user.groups.set([Group.objects.get(name=group_name(role))])
    changed = []
    if approver is not None and user.approved_at is None:
        user.approved_at, user.approved_by = timezone.now(), approver
        changed += ["approved_at", "approved_by"]
    if password is not None and not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
    return User.objects.get(pk=user.pk)


SMOKE_TEMPLATE_ENV = "BENCH_SMOKE_TEMPLATE"  # set by bench/smoke.py: a migrated empty database to copy
SMOKE_RUN_ENV = "BENCH_SMOKE_RUN"  # set by bench/smoke.py: the run's id, in every smoke database's name


def smoke_database(name: str) -> str:
    """A fresh database for a smoke run, copied from the run's migrated template when there is one.

    Run alone (not from bench/smoke.py), the bench creates an empty one, migrates it itself, and
    drops it when it exits.
    """
    import atexit

    import psycopg
    from psycopg import sql

    run = os.environ.get(SMOKE_RUN_ENV) or str(os.getpid())
    db = f"{scratch_name(name)}_smoke_{run}"
    template = os.environ.get(SMOKE_TEMPLATE_ENV)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        if template:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db), sql.Identifier(template)))
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    if not os.environ.get(SMOKE_RUN_ENV):
        atexit.register(drop_database, db)
    return f"{SERVER}/{db}"


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- A bench's preamble: its arguments, its database and Django, the machine it ran on ----------


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A bench's argument parser, its module docstring as the help."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def django_setup(
    name: str, *, smoke: bool, env: dict[str, str] | None = None, defaults: dict[str, str] | None = None
) -> str:
    """Point Django at the bench's scratch database `name` (a fresh one for a smoke run; created if
    missing for a full run), as in production where it matters (no debug, no broker: background
    work runs eagerly), set it up and migrate it. `env` is set as given, `defaults` where unset.
    Returns the database's URL."""
    url = smoke_database(name) if smoke else scratch_url(name)
    if not smoke:
        ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ["DJANGO_DEBUG"] = "false"
    for key, value in (defaults or {}).items():
        os.environ.setdefault(key, value)
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ.update(env or {})
    os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at:UserWarning")
    add_root_to_path()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def machine() -> str:
    """The first words of a bench's report: the machine, its cores and its load as the run starts."""
    return f"{platform.node()} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f}"


def print_load_at_end() -> None:
    print(f"load at the end: {os.getloadavg()[0]:.2f}")
