"""Time the bulk imports on a scratch database (issue 3: 100,000 rows in under a minute).

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/import_bench.py [--customers 50000] [--rows 100000] [--db pp_import_bench]

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates
it, creates the customers (with their history) and a DPO, writes CSV files to a temporary
directory, then times through the real services, end to end (reading, checking every row,
writing rows and history, suppressing identifiers):

1. importing the preference file (every row new);
2. importing it again (every row already recorded: nothing written);
3. the same file with one bad row at the end (rejected: nothing written);
4. importing as many purchases.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import benchlib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="pp_import_bench", help="scratch database (dropped and recreated)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print where the first import spends its time")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.rows = 200, 300
    if "bench" not in args.db:
        parser.error("--db must name a scratch database containing 'bench': it is dropped and recreated.")
    return args


def recreate_database(name: str) -> str:
    import psycopg

    server = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_customers(n: int, rng: random.Random):
    from simple_history.utils import bulk_create_with_history

    from customers.models import Customer

    postcodes = ["SW1A 1AA", "SE5 9DF", "M1 1AE", "EH1 1YZ", "B33 8TH", "CR2 6XH", "LS1 4AP", "BS1 5TR"]
    customers = [
        Customer(
            first_name=rng.choice(["Ann", "Bob", "Cara", "Dev", "Edith", "Femi", "Gus", "Hana"]),
            last_name=f"Bench{i}",
            email=f"bench{i}@example.co.uk",
            phone=f"+4477009{i % 100000:05d}",
            address_line1=f"{i % 300 + 1} {rng.choice(['High Street', 'Mill Lane', 'Church Road'])}",
            postcode=rng.choice(postcodes),
        )
        for i in range(n)
    ]
    return bulk_create_with_history(customers, Customer, batch_size=5000)


def create_dpo():
    from privacy_portal.models import User

    return benchlib.staff_user("bench_dpo", User.Role.DPO)


def write_preferences(path: Path, customers, rows: int, rng: random.Random) -> None:
    from customers.services.imports import PREFERENCE_HEADER

    keys = [
        ("direct_marketing", "email"),
        ("direct_marketing", "sms"),
        ("direct_marketing", "phone"),
        ("direct_marketing", "post"),
        ("personalised_ads", ""),
        ("sensitive_sharing", ""),
    ]
    sources = ["phone_call", "letter", "email", "account_page", "import"]
    start = datetime.datetime(2025, 1, 1, 9, 0)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(PREFERENCE_HEADER) + "\r\n")
        for i in range(rows):
            customer = customers[i % len(customers)]
            purpose, channel = keys[(i // len(customers)) % len(keys)]
            action = "opt_out" if rng.random() < 0.7 else "opt_in"
            received = start + datetime.timedelta(minutes=rng.randrange(60 * 24 * 300))
            out.write(
                f"{customer.reference},{purpose},{channel},{action},{rng.choice(sources)},"
                f"{received:%Y-%m-%dT%H:%M},Bench row {i},2026-06\r\n"  # the archived notice version
            )


def write_purchases(path: Path, customers, rows: int, rng: random.Random) -> None:
    from customers.services.purchases import PURCHASE_HEADER

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(PURCHASE_HEADER) + "\r\n")
        for i in range(rows):
            customer = customers[i % len(customers)]
            ordered = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(600))
            if i % 4 == 0:
                plan = "instalments,5,40.00"
                amount = "200.00"
            else:
                plan = "card,,"
                amount = f"{rng.randrange(1000, 200000) / 100:.2f}"
            guarantee = ordered + datetime.timedelta(days=730)
            out.write(f"BENCH-{i:07d},{customer.reference},{ordered},Proof coin {i},{amount},{plan},{guarantee}\r\n")


def timed(label: str, action):
    started = time.perf_counter()
    outcome = action()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:7.1f} s   {outcome}")
    return elapsed


def main() -> None:
    args = parse_args()
    setup_django(benchlib.smoke_database(args.db) if args.smoke else recreate_database(args.db))
    from django.db import connection

    from customers.models import PreferenceChange, SuppressionEntry
    from customers.services.imports import ImportRejected, preference_import
    from customers.services.purchases import purchase_import

    rng = random.Random(args.seed)
    started = time.perf_counter()
    customers = create_customers(args.customers, rng)
    dpo = create_dpo()
    print(f"Set-up: {args.customers:,} customers with history in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, {pg_version}")

    with tempfile.TemporaryDirectory() as tmp:
        prefs = Path(tmp) / "preferences.csv"
        write_preferences(prefs, customers, args.rows, rng)
        bad = Path(tmp) / "preferences_bad.csv"
        bad.write_bytes(prefs.read_bytes() + b"C-999999999,direct_marketing,email,opt_out,letter,2025-01-01,,\r\n")
        orders = Path(tmp) / "purchases.csv"
        write_purchases(orders, customers, args.rows, rng)
        print(f"Files: preferences {prefs.stat().st_size / 1e6:.1f} MB, purchases {orders.stat().st_size / 1e6:.1f} MB")
        print()

        def run(path: Path, service=preference_import):
            with path.open("rb") as handle:
                return service(actor=dpo, file=handle, name=path.name)

        def rejected():
            try:
                run(bad)
            except ImportRejected as exc:
                return f"rejected, {len(exc.errors)} problem(s): {exc.errors[0]}"
            raise AssertionError("the bad file was imported")

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            first = timed(f"1. Preferences, {args.rows:,} new rows (profiled)", lambda: profiler.runcall(run, prefs))
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        else:
            first = timed(f"1. Preferences, {args.rows:,} new rows", lambda: run(prefs))
        changes = PreferenceChange.objects.count()
        history = PreferenceChange.history.count()
        suppressed = SuppressionEntry.objects.count()
        print(f"{'':<58} {changes:,} changes, {history:,} history rows, {suppressed:,} suppression entries")
        timed(f"2. Preferences again, {args.rows:,} rows already recorded", lambda: run(prefs))
        timed(f"3. Preferences, {args.rows:,} rows + 1 bad row", rejected)
        timed(f"4. Purchases, {args.rows:,} new rows", lambda: run(orders, purchase_import))
    print()
    verdict = "within" if first < TARGET_SECONDS else "OVER"
    print(f"Target: {args.rows:,} preference rows in under {TARGET_SECONDS} s: {first:.1f} s, {verdict} target.")


if __name__ == "__main__":
    main()
