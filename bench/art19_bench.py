"""The Art 19 query at scale: for one customer, every recipient their data went to, when and what.

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/art19_bench.py [--rows 5000000] [--customers 1000000] [--samples 1000]

It uses its own scratch database (--db, default pp_bench_art19, created if missing, never the
development or test ones) on the server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
migrates it, and fills it once with --customers customers and --rows disclosures spread over the
seeded recipients and six years (one customer in ten of the disclosures goes to 10,000 frequent
buyers, so some customers have dozens of rows); later runs reuse the data (--rebuild starts again).
The rows are loaded with INSERT ... SELECT for speed, without history rows (the queries timed here
never read history). Then it times, on --samples customers drawn half from the frequent buyers and
half from everyone:

1. `art19_recipients(customer)`: the Art 19 list (the query the rights-request work calls);
2. `customer_disclosures(customer)`: the first page of the customer's disclosures tab;
3. `recipient_disclosures(recipient, after=...)`: 20 pages deep into the busiest recipient;
4. `monthly_counts()`: the DPO's chart (all recipients, last 12 months), and the chart as served
   from the cache between counts.

Target (issue 4): p95 of (1) under 50 ms with 5 million disclosure rows. Figures are appended to
bench/RESULTS.md under their own heading (--no-write to skip).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import benchlib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_P95_MS = 50.0
FREQUENT_BUYERS = 10_000
LOAD_CHUNK = 500_000
# Recipient codes (seeded by customers/migrations/0005_seed_recipients.py), repeated by weight:
# most disclosures are consignments and payments, a few are finance, credit checks and debts.
RECIPIENT_WEIGHTS = {
    "parcelway": 45,
    "northgate-payments": 25,
    "halcyon-finance": 8,
    "clearview-cra": 6,
    "mailhouse-direct": 6,
    "verbatim-ai": 5,
    "kestrel-recovery": 2,
    "group-it": 1,
    "carew-legal": 1,
    "hmrc": 1,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="disclosure rows")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000, help="customers timed")
    parser.add_argument("--db", default="pp_bench_art19", help="scratch database (name must contain 'bench')")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the scratch database")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--no-write", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.customers, args.samples, args.no_write = 2_000, 300, 20, True
    if "bench" not in args.db:
        parser.error("--db must name a scratch database containing 'bench'.")
    return args


def prepare_database(name: str, rebuild: bool) -> str:
    import psycopg

    server = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        if rebuild:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"Creating database {name}...", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log kept, as in production
    import django

    django.setup()


def load(customers: int, rows: int) -> None:
    """Top the scratch database up to `customers` customers and `rows` disclosures (plain SQL)."""
    from django.db import connection

    from customers.models import Customer, Disclosure, Recipient
    from privacy_portal.models import User

    user = benchlib.staff_user("bench_dpo", User.Role.DPO)
    have = Customer.objects.count()
    with connection.cursor() as cursor:
        if have < customers:
            print(f"Loading {customers - have:,} customers...", flush=True)
            started = time.perf_counter()
            cursor.execute(
                """
                INSERT INTO customers_customer (title, first_name, last_name, email, phone, address_line1,
                    address_line2, town, county, postcode, account_opened_on, created_at, updated_at,
                    processing_restricted, marketing_objected, version)
                SELECT '', 'Bench', 'Customer ' || g, '', '', '', '', '', '', '', CURRENT_DATE, now(), now(),
                    false, false, 1
                FROM generate_series(%s, %s) AS g
                """,
                [have + 1, customers],
            )
            print(f"  {time.perf_counter() - started:.0f} s", flush=True)
        low = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
        codes = dict(Recipient.objects.values_list("code", "pk"))
        weighted = [codes[code] for code, weight in RECIPIENT_WEIGHTS.items() for _ in range(weight)]
        done = Disclosure.objects.count()
        while done < rows:
            n = min(LOAD_CHUNK, rows - done)
            started = time.perf_counter()
            cursor.execute(
                """
                INSERT INTO customers_disclosure (customer_id, recipient_id, data_categories, purpose, lawful_basis,
                    sensitive, special_category_condition, disclosed_at, recipient_reference, recorded_by_id,
                    recorded_at, via, override_reason)
                SELECT
                    %(low)s + CASE WHEN random() < 0.1 THEN floor(random() * %(frequent)s)
                                   ELSE floor(random() * %(customers)s) END,
                    (%(weighted)s::bigint[])[1 + floor(random() * %(n_weighted)s)::int],
                    '["identity", "contact", "order"]'::jsonb, 'order_delivery', 'contract', false, '',
                    now() - random() * interval '6 years', 'B-' || g, %(user)s, now(), 'import', ''
                FROM generate_series(%(start)s, %(stop)s) AS g
                """,
                {
                    "low": low,
                    "frequent": min(FREQUENT_BUYERS, customers),  # a smoke run has fewer customers
                    "customers": customers,
                    "weighted": weighted,
                    "n_weighted": len(weighted),
                    "user": user.pk,
                    "start": done + 1,
                    "stop": done + n,
                },
            )
            done += n
            print(f"  {done:,} disclosures ({time.perf_counter() - started:.0f} s for this chunk)", flush=True)
        cursor.execute("VACUUM ANALYZE customers_disclosure")
        cursor.execute("ANALYZE customers_customer")


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def summary(times: list[float]) -> str:
    return (
        f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
        f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms"
    )


def run(args: argparse.Namespace) -> int:
    from django.db import connection

    from customers.models import Customer, Disclosure, Recipient
    from customers.selectors.disclosures import (
        art19_recipients,
        customer_disclosures,
        disclosure_chart,
        forget_monthly_counts,
        monthly_counts,
        recipient_disclosures,
    )

    rng = random.Random(args.seed)
    low = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    total_rows = Disclosure.objects.count()
    ids = [low + rng.randrange(min(FREQUENT_BUYERS, args.customers)) for _ in range(args.samples // 2)]
    ids += [low + rng.randrange(args.customers) for _ in range(args.samples - len(ids))]
    rng.shuffle(ids)
    customers = Customer.objects.in_bulk(ids)

    for pk in ids[:50]:  # warm the connection and the caches, as a running server would be
        art19_recipients(pk)

    art19_times, tab_times, rows_seen, recipients_seen = [], [], [], []
    for pk in ids:
        elapsed, entries = timed(art19_recipients, pk)
        art19_times.append(elapsed)
        rows_seen.append(sum(e.count for e in entries))
        recipients_seen.append(len(entries))
        elapsed, _ = timed(customer_disclosures, customers[pk])
        tab_times.append(elapsed)

    busiest = Recipient.objects.get(code="parcelway")
    deep_times, after = [], None
    for _ in range(20):
        elapsed, page = timed(recipient_disclosures, busiest, after=after)
        deep_times.append(elapsed)
        after = page.next_after
    chart_times = [timed(monthly_counts)[0] for _ in range(3)]
    forget_monthly_counts()
    disclosure_chart()  # counted once, then served from the cache for CHART_CACHE_SECONDS
    cached_chart_times = [timed(disclosure_chart)[0] for _ in range(20)]

    heavy = max(zip(rows_seen, ids, strict=True))[1]
    sql, params = (
        Disclosure.objects.filter(customer_id=heavy)
        .order_by("-disclosed_at", "-id")
        .values_list("recipient_id", "disclosed_at", "data_categories", "recipient_reference")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('customers_disclosure'))")
        table_size = cursor.fetchone()[0]

    p95 = percentile(art19_times, 95)
    ok = p95 < TARGET_P95_MS
    lines = [
        "",
        "## Art 19: the recipients of a customer's data (issue 4)",
        "",
        f"`bench/art19_bench.py` on {datetime.date.today():%d %B %Y}: {total_rows:,} disclosure rows "
        f"({table_size} with indexes) for {args.customers:,} customers, scratch database `{args.db}`, "
        f"{pg_version}, Python {platform.python_version()}, {os.cpu_count()} CPU cores "
        f"({platform.machine()}). {args.samples:,} customers timed, half among the 10,000 frequent buyers: "
        f"{statistics.mean(rows_seen):.1f} disclosures and {statistics.mean(recipients_seen):.1f} recipients "
        f"each on average, at most {max(rows_seen)}. Times are the selector calls in one process "
        "(query and Python), after 50 warm-up calls.",
        "",
        "| what | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, times in (
        ("`art19_recipients(customer)`: the Art 19 list", art19_times),
        ("`customer_disclosures(customer)`: the tab's first page (50)", tab_times),
        ("`recipient_disclosures(busiest, after=…)`: 20 pages deep", deep_times),
        ("`monthly_counts()`: the DPO's chart, counting 12 months (at most once per 5 minutes)", chart_times),
        ("`disclosure_chart()` from the cache (every other view of the DPO's home)", cached_chart_times),
    ):
        lines.append(
            f"| {label} | {percentile(times, 50):.1f} ms | {percentile(times, 95):.1f} ms | "
            f"{percentile(times, 99):.1f} ms | {max(times):.1f} ms |"
        )
    lines += [
        "",
        f"Target: p95 of the Art 19 list under {TARGET_P95_MS:.0f} ms: "
        + ("**met**" if ok else "**not met**")
        + f" ({p95:.1f} ms). Plan for the customer with the most rows ({max(rows_seen)}):",
        "",
        "```",
        *plan,
        "```",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results:
            results.write(text)
        print("Appended to bench/RESULTS.md")
    return 0 if ok or args.smoke else 1  # a smoke run's tiny data: the targets mean nothing


def main() -> int:
    args = parse_args()
    url = benchlib.smoke_database(args.db) if args.smoke else prepare_database(args.db, args.rebuild)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    load(args.customers, args.rows)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
