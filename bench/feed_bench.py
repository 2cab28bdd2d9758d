"""The daily feed at scale (suppression files and the ad audiences' removal files), and the DPO's
page of missed opt-out deadlines.

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/feed_bench.py [--customers 100000] [--missed 5000] [--db pp_bench_feed] [--reuse] [--smoke]

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it,
loads customers with `seed_scale` (their preference changes, suppression entries and history),
then:

1. **The feed**: `suppression_feed_build` run twice (the first run actions what is waiting, the
   second is the steady daily run), wall time and what it wrote.
2. **Missed deadlines**: --missed opt-outs are made missed (a fifth still open, the rest actioned
   late: set in SQL in this scratch database only, to have a realistic share of broken promises
   without a year of feed runs), then GET /customers/missed-opt-out-deadlines/ as the DPO: all,
   still open, actioned late, a three-month period, and page 2; p50/p95 and queries per request.
3. **The DPO's home page**, with its counts of missed deadlines.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

PAGE_TARGET_MS = 150.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--missed", type=int, default=5_000, help="opt-outs made to have missed their date")
    parser.add_argument("--samples", type=int, default=40, help="requests timed per page")
    parser.add_argument("--db", default="pp_bench_feed", help="scratch database (dropped and recreated)")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it exists (skip loading)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.missed, args.samples = 200, 20, 3
    if "bench" not in args.db:
        parser.error("--db must name a scratch database containing 'bench': it is dropped and recreated.")
    return args


def database_url(name: str, *, recreate: bool) -> tuple[str, bool]:
    import psycopg

    server = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if recreate or not exists:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            exists = False
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), exists


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    os.environ.setdefault("AXES_ENABLED", "false")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="pp-feed-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(args) -> None:
    from django.db import connection

    from demo.scale_customers import seed_scale

    started = time.monotonic()
    seed_scale(customers=args.customers, seed=args.seed)
    print(f"  {args.customers:,} customers in {time.monotonic() - started:.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def make_missed(n: int) -> None:
    """Scratch data only: n opt-outs made missed (a fifth still open, the rest actioned late)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers_preferencechange
                WHERE NOT granted AND purpose <> 'sensitive_sharing' AND takes_effect_by < current_date - 1
                ORDER BY id LIMIT %s
            )
            UPDATE customers_preferencechange p
               SET actioned_at = CASE WHEN c.n %% 5 = 0 THEN NULL ELSE p.actioned_at + interval '9 days' END,
                   late_by_days = CASE WHEN c.n %% 5 = 0 THEN NULL ELSE 9 END
              FROM chosen c WHERE p.id = c.id
            """,
            [n],
        )
        cursor.execute("ANALYZE customers_preferencechange")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def dpo():
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from privacy_portal.models import User
    from privacy_portal.roles import group_name

    user = User.objects.filter(username="bench_dpo").first()
    if user is None:
        user = User.objects.create(username="bench_dpo", role="dpo", email="bench_dpo@example.org")
        user.groups.set([Group.objects.get(name=group_name("dpo"))])
    if user.approved_at is None:
        # Approved, as an account that sees customer data must be before it can sign in.
        user.approved_at = timezone.now()
        user.save()
    return user


def time_pages(args, user) -> list[dict]:
    import datetime

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    client = Client()
    client.force_login(user)
    page = reverse("customers:breaches")
    since = (timezone.localdate() - datetime.timedelta(days=90)).strftime("%d/%m/%Y")
    urls = [
        ("missed: all", page),
        ("missed: still open", page + "?state=open"),
        ("missed: actioned late", page + "?state=late"),
        ("missed: last 3 months", page + f"?due_from={since}"),
        ("missed: page 2", page + "?page=2"),
        ("DPO home", reverse("home")),
    ]
    rows = []
    for label, url in urls:
        for _ in range(3):
            assert client.get(url).status_code == 200
        times = []
        for _ in range(args.samples):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        rows.append(
            {"page": label, "p50": statistics.median(times), "p95": percentile(times, 95),
             "queries": len(queries.captured_queries)}
        )  # fmt: skip
        print(f"  {label:<24} p50 {rows[-1]['p50']:6.1f} ms  p95 {rows[-1]['p95']:6.1f} ms", flush=True)
    return rows


def main() -> None:
    args = parse_args()
    if args.smoke:
        url, existed = benchlib.smoke_database(args.db), False
    else:
        url, existed = database_url(args.db, recreate=not args.reuse)
    setup_django(url)
    if not existed:
        print("Loading…", flush=True)
        load(args)
    from customers.models import PreferenceChange
    from customers.services.feed import suppression_feed_build

    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"Preference changes: {PreferenceChange.objects.count():,}")
    for run in ("first", "second"):
        started = time.monotonic()
        report = suppression_feed_build()
        took = time.monotonic() - started
        print(f"  feed, {run} run: {took:.1f}s  {report}", flush=True)
    make_missed(args.missed)
    rows = time_pages(args, dpo())
    worst = max(r["p95"] for r in rows)
    print(f"Worst p95 {worst:.1f} ms (target {PAGE_TARGET_MS:.0f} ms): {'OK' if worst <= PAGE_TARGET_MS else 'SLOW'}")
    if args.smoke:
        print("smoke: the feed ran twice and every page answered 200")


if __name__ == "__main__":
    main()
