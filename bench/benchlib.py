"""Pieces every benchmark shares: its scratch database's name, creating it, and staff who can sign in.

Scratch databases are named ``<BENCH_DB_PREFIX><name>`` (prefix ``pp_`` unless set), and a
``--smoke`` run uses ``<name>_smoke``, so a smoke run in ``make test`` never touches the data a
full run took minutes to load, and reuses its own small database from one run to the next.
"""

from __future__ import annotations

import os
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
