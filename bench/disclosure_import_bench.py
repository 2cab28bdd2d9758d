"""Time the bulk disclosure import on a scratch database (issue 4: 100,000 rows in under a minute).

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/disclosure_import_bench.py [--customers 50000] [--rows 100000]

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it
(which seeds the recipients), loads the customers (one in a hundred restricted, one in fifty
opted in to sharing sensitive data), writes a day's file of consignments, payments, finance
applications and credit checks (a few rows with sensitive data), then times through the real
service, end to end (reading and checking every row, the guards, writing rows and history):

1. importing the file (every row new; the restricted customers' rows and sensitive rows without
   an opt-in are refused and reported);
2. importing it again (every row already recorded: nothing written);
3. the same file with one bad row at the end (rejected whole: nothing written).

Figures are appended to bench/RESULTS.md under their own heading (--no-write to skip).
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
# (recipient code, purpose, lawful basis, data categories, share of the rows)
KINDS = (
    ("parcelway", "order_delivery", "contract", "identity;contact;order", 60),
    ("northgate-payments", "payment", "contract", "identity;payment", 25),
    ("halcyon-finance", "finance", "contract", "identity;contact;order;credit_finance", 10),
    ("clearview-cra", "credit_check", "legitimate_interests", "identity;contact;credit_finance", 5),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="pp_bench_disclosure_import", help="scratch database (dropped, recreated)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.rows, args.no_write = 200, 300, True
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


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_customers(n: int) -> list[int]:
    """`n` customers (plain SQL: their history plays no part here); one in a hundred restricted."""
    from django.db import connection

    from customers.models import Customer

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_customer (title, first_name, last_name, email, phone, address_line1, address_line2,
                town, county, postcode, account_opened_on, created_at, updated_at, processing_restricted,
                restricted_at, marketing_objected, version)
            SELECT '', 'Bench', 'Customer ' || g, '', '', '', '', '', '', '', CURRENT_DATE, now(), now(),
                g %% 100 = 0, CASE WHEN g %% 100 = 0 THEN now() - interval '30 days' END, false, 1
            FROM generate_series(1, %s) AS g
            """,
            [n],
        )
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True))


def create_dpo():
    from privacy_portal.models import User

    return benchlib.staff_user("bench_dpo", User.Role.DPO)


def opt_in_some(customer_ids: list[int], actor) -> int:
    """One customer in fifty has opted in to sharing sensitive data (through the service)."""
    from customers.models import Customer, Purpose
    from customers.services.preferences import preference_record

    chosen = [pk for pk in customer_ids[::50] if pk % 100]
    for customer in Customer.objects.filter(pk__in=chosen):
        preference_record(
            actor=actor,
            customer=customer,
            purpose=Purpose.SENSITIVE_SHARING,
            granted=True,
            source="letter",
            received_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=60),
        )
    return len(chosen)


def write_file(path: Path, customer_ids: list[int], rows: int, rng: random.Random, *, bad_last: bool = False) -> None:
    from customers.models import REFERENCE_PREFIX
    from customers.services.disclosure_import import DISCLOSURE_HEADER

    weighted = [kind for kind in KINDS for _ in range(kind[4])]
    day = datetime.date.today() - datetime.timedelta(days=1)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(DISCLOSURE_HEADER) + "\n")
        for n in range(rows):
            code, purpose, basis, categories, _ = weighted[rng.randrange(len(weighted))]
            customer = customer_ids[rng.randrange(len(customer_ids))]
            sensitive = rng.random() < 0.005  # a few: health mentioned with a finance application
            at = f"{day.isoformat()}T{rng.randrange(8, 20):02d}:{rng.randrange(60):02d}"
            out.write(
                f"{code},{code.upper()[:4]}-{n:09d},{REFERENCE_PREFIX}{customer:06d},{at},{categories},{purpose},"
                f"{basis},{'yes' if sensitive else 'no'},{'explicit_consent' if sensitive else ''}\n"
            )
        if bad_last:
            out.write(f"parcelway,PARC-BAD,{REFERENCE_PREFIX}{customer_ids[0]:06d},{day},identity,nope,contract,no,\n")


def timed(label: str, action):
    started = time.perf_counter()
    outcome = action()
    elapsed = time.perf_counter() - started
    print(f"{label:<60} {elapsed:7.1f} s   {outcome}", flush=True)
    return elapsed


def main() -> int:
    args = parse_args()
    setup_django(benchlib.smoke_database(args.db) if args.smoke else recreate_database(args.db))
    from django.db import connection

    from customers.models import Disclosure
    from customers.services.disclosure_import import disclosure_import
    from customers.services.imports import ImportRejected

    started = time.perf_counter()
    customer_ids = create_customers(args.customers)
    dpo = create_dpo()
    opted_in = opt_in_some(customer_ids, dpo)
    print(f"Set-up: {len(customer_ids):,} customers, {opted_in:,} opted in, in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, {pg_version}"
    print(f"Machine: {machine}")

    with tempfile.TemporaryDirectory() as folder:
        good, bad = Path(folder) / "disclosures.csv", Path(folder) / "disclosures-bad.csv"
        write_file(good, customer_ids, args.rows, random.Random(args.seed))
        write_file(bad, customer_ids, args.rows, random.Random(args.seed), bad_last=True)
        size_mb = good.stat().st_size / 1e6
        print(f"File: {args.rows:,} rows, {size_mb:.1f} MB\n")

        results = {}

        def run(path: Path):
            with path.open("rb") as handle:
                result = disclosure_import(actor=dpo, file=handle, name=path.name)
            results["last"] = result
            return (
                f"{result.created:,} recorded, {result.already_recorded:,} already recorded, "
                f"{len(result.refused):,} refused"
            )

        def rejected():
            try:
                run(bad)
            except ImportRejected as exc:
                return f"rejected: {len(exc.errors)} problem(s), nothing written"
            return "NOT REJECTED"

        first = timed("1. import (every row new)", lambda: run(good))
        first_result = results["last"]
        second = timed("2. the same file again (nothing new)", lambda: run(good))
        third = timed("3. the file with one bad row at the end", rejected)
        rows, history = Disclosure.objects.count(), Disclosure.history.count()
        print(f"{'':<60} {rows:,} disclosures, {history:,} history rows")

    ok = first < TARGET_SECONDS
    verdict = "meets" if ok else "misses"
    print(f"\nTarget: {args.rows:,} rows in under {TARGET_SECONDS} s: {first:.1f} s, {verdict} the target.")
    if not args.no_write:
        refusals = len(first_result.refused)
        text = "\n".join(
            [
                "",
                "## Bulk disclosures import (issue 4)",
                "",
                f"`bench/disclosure_import_bench.py` on {datetime.date.today():%d %B %Y}: one day's file of "
                f"{args.rows:,} rows ({size_mb:.1f} MB: consignments, payments, finance applications, credit checks; "
                f"0.5% with sensitive data) for {args.customers:,} customers (1% restricted, 2% opted in to sharing "
                f"sensitive data), through `disclosure_import` end to end, rows and history written with "
                f"`bulk_create_with_history`. {machine}.",
                "",
                "| run | time | outcome |",
                "| --- | --- | --- |",
                f"| 1. every row new | {first:.1f} s | {first_result.created:,} recorded, {refusals:,} refused by "
                "the guards (restricted customers, sensitive data without opt-in) |",
                f"| 2. the same file again | {second:.1f} s | nothing written: every row already recorded |",
                f"| 3. one bad row at the end | {third:.1f} s | rejected whole, nothing written |",
                "",
                f"Target: {args.rows:,} rows in under {TARGET_SECONDS} s: **{verdict}** ({first:.1f} s).",
                "",
            ]
        )
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results_file:
            results_file.write(text)
        print("Appended to bench/RESULTS.md")
    return 0 if ok or args.smoke else 1  # a smoke run's tiny data: the targets mean nothing


if __name__ == "__main__":
    sys.exit(main())
