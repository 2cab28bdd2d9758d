"""Time linking the customers affected by a breach from a CSV of references (issue 14: 100,000
in under 30 s), and the pages that then read them.

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/breach_bench.py [--customers 120000] [--rows 100000] [--db pp_breach_bench]
    .venv/bin/python bench/breach_bench.py --smoke     # 1,000 rows on a copy of the smoke template; exits 1 on failure
    .venv/bin/python bench/breach_bench.py --reuse     # keep the customers seeded by an earlier run

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it,
creates the customers (with their history, some erased) and a DPO, writes the CSV, then times
through the real service (requests.services.breaches.breach_link_csv: reading, checking every
line, writing the rows and their history):

1. linking every reference of the file (all new);
2. the same file again (every line already linked: refused, nothing written);
3. a file with one unknown, one erased and one repeated reference at the end (refused);
4. recording them all told (one bulk update with history);
5. the ICO report's content (its redaction query over the affected customers);
6. linking from a query (requests.services.breach_query): every customer whose data was disclosed
   to the courier in a month (one disclosure each, plus near misses), the preview's counts, then
   the link itself, on a new breach.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=120_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="pp_breach_bench", help="scratch database (dropped and recreated)")
    parser.add_argument("--smoke", action="store_true", help="a small, quick run that fails loudly")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the scratch database's customers from an earlier run (no reseed)"
    )
    args = parser.parse_args()
    if args.smoke:
        # Seconds, not minutes: enough customers for one erased (every 1,000th) and for the
        # query's month to hold `rows` of them (every 50th disclosure is outside it).
        args.customers, args.rows = 1_100, 1_000
    if "bench" not in args.db:
        parser.error("--db must name a scratch database containing 'bench': it is dropped and recreated.")
    if args.rows > args.customers - 10:
        parser.error("--customers must exceed --rows by at least 10 (some are erased).")
    return args


def recreate_database(name: str, *, reuse: bool = False) -> str:
    import psycopg

    server = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"  # the DPO's alerts
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_customers(n: int):
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from customers.models import Customer

    customers = [
        Customer(
            first_name=["Ann", "Bob", "Cara", "Dev"][i % 4],
            last_name=f"Bench{i}",
            email=f"bench{i}@example.co.uk",
            phone=f"+4477009{i % 100000:05d}",
            address_line1=f"{i % 300 + 1} High Street",
            postcode="SW1A 1AA",
            erased_at=timezone.now() if i % 1000 == 999 else None,
        )
        for i in range(n)
    ]
    return bulk_create_with_history(customers, Customer, batch_size=5000)


def create_dpo():
    from django.contrib.auth.models import Group

    from privacy_portal.models import User
    from privacy_portal.roles import group_name

    user = User.objects.create_user("bench_dpo", role=User.Role.DPO)
    user.groups.set([Group.objects.get(name=group_name(User.Role.DPO))])
    return User.objects.get(pk=user.pk)


def create_disclosures(customers, dpo):
    """One disclosure to the bench courier per customer in November 2026 (every 50th in October,
    outside the query's month), as the import would record them (with history)."""
    import datetime
    from zoneinfo import ZoneInfo

    from simple_history.utils import bulk_create_with_history

    from customers.models import Disclosure, Recipient

    defaults = {
        "name": "Bench Couriers Ltd", "category": "logistics", "role": "processor", "country": "GB",
        "contact": "privacy@bench-couriers.example", "agreement_reference": "DPA-BENCH",
        "agreement_renews_on": datetime.date(2030, 1, 1),
    }  # fmt: skip
    courier, _ = Recipient.objects.get_or_create(code="bench-courier", defaults=defaults)
    if Disclosure.objects.filter(recipient=courier).exists():
        return courier
    london = ZoneInfo("Europe/London")
    rows = [
        Disclosure(
            customer=c, recipient=courier, data_categories=["identity", "contact", "order"], purpose="order_delivery",
            lawful_basis="contract", recorded_by=dpo, via="import",
            disclosed_at=datetime.datetime(2026, 10 if i % 50 == 49 else 11, 1 + i % 28, 10, tzinfo=london),
        )
        for i, c in enumerate(customers)
    ]  # fmt: skip
    bulk_create_with_history(rows, Disclosure, batch_size=5000)
    return courier


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.2f} s")
    return result, seconds


def main() -> int:
    args = parse_args()
    if args.smoke:  # a copy of bench/smoke.py's migrated template (migrating from scratch takes minutes)
        import benchlib

        setup_django(benchlib.smoke_database(args.db))
    else:
        setup_django(recreate_database(args.db, reuse=args.reuse))
    from django.utils import timezone

    from customers.services.imports import ImportRejected
    from requests.models import BreachAffected
    from requests.services import breaches as svc
    from requests.services.breach_report import ico_report_content

    print(f"{platform.node()} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · {platform.python_version()}")
    from customers.models import Customer
    from privacy_portal.models import User

    if args.reuse and Customer.objects.count() >= args.customers:
        customers = list(Customer.objects.order_by("pk")[: args.customers])
        print(f"reusing {len(customers):,} customers")
    else:
        (customers, _) = timed(f"seed {args.customers:,} customers", lambda: create_customers(args.customers))
    dpo = User.objects.filter(username="bench_dpo").first() or create_dpo()
    breach = svc.breach_report(
        actor=dpo, summary="Bench: mailing file sent to the wrong printer", what_happened="Bench Ann Bench7 file",
        aware_at=timezone.now(),
    )  # fmt: skip
    live = [c for c in customers if c.erased_at is None][: args.rows]
    erased = next(c for c in customers if c.erased_at is not None)
    data = ("customer_reference\r\n" + "".join(f"{c.reference}\r\n" for c in live)).encode()
    print(f"file: {len(live):,} references, {len(data) / 1e6:.1f} MB")

    failures = []
    linked, seconds = timed("1. link every reference", lambda: svc.breach_link_csv(actor=dpo, breach=breach, data=data))
    if linked != len(live) or BreachAffected.objects.filter(breach=breach).count() != len(live):
        failures.append("not every reference was linked")
    if BreachAffected.history.filter(breach_id=breach.pk).count() != len(live):
        failures.append("history rows missing")
    if seconds > TARGET_SECONDS and not args.smoke:  # a smoke run fails on a wrong answer, never on time
        failures.append(f"linking took {seconds:.1f} s, over {TARGET_SECONDS} s")

    def refused(payload: bytes) -> int:
        try:
            svc.breach_link_csv(actor=dpo, breach=breach, data=payload)
        except ImportRejected as exc:
            return len(exc.errors)
        return 0

    errors, _ = timed("2. the same file again (all already linked, refused)", lambda: refused(data))
    if errors != len(live):
        failures.append(f"the repeat named {errors} lines, not {len(live)}")
    other = svc.breach_report(actor=dpo, summary="Bench 2", what_happened="Bench", aware_at=timezone.now())
    bad = data + f"C-999999999\r\n{erased.reference}\r\n{live[0].reference}\r\n".encode()

    def refused_other() -> int:
        try:
            svc.breach_link_csv(actor=dpo, breach=other, data=bad)
        except ImportRejected as exc:
            return len(exc.errors)
        return 0

    errors, _ = timed("3. three bad lines at the end (refused, nothing written)", refused_other)
    if errors != 3 or BreachAffected.objects.filter(breach=other).exists():
        failures.append(f"the bad file named {errors} lines (wanted 3) or wrote rows")
    told, _ = timed(
        "4. record them all told",
        lambda: svc.breach_record_told(actor=dpo, breach=breach, told="told", method="letter", told_at=timezone.now()),
    )
    if told != len(live):
        failures.append("not every customer was recorded told")
    content, _ = timed("5. the ICO report's content", lambda: ico_report_content(breach))
    if "Bench7" in str(content["sections"]):
        failures.append("the ICO report holds an affected customer's surname")

    import datetime

    from requests.services.breach_query import AffectedQuery, breach_link_query, breach_query_preview

    # Enough customers in the query's month for `rows` links (every 50th customer is in October).
    courier, _ = timed(
        "6a. seed the disclosures to the courier",
        lambda: create_disclosures(customers[: args.rows * 50 // 49 + 60], dpo),
    )
    query = AffectedQuery(
        source="disclosure",
        recipient=courier,
        date_from=datetime.date(2026, 11, 1),
        date_to=datetime.date(2026, 11, 30),
    )
    third = svc.breach_report(actor=dpo, summary="Bench 3: courier", what_happened="Bench", aware_at=timezone.now())
    counts, _ = timed("6b. preview the query's counts", lambda: breach_query_preview(breach=third, query=query))
    print(f"    {counts}")
    n, seconds = timed(
        f"6c. link {counts['to_link']:,} from the query",
        lambda: breach_link_query(actor=dpo, breach=third, query=query, expected=counts["to_link"]),
    )
    if counts["to_link"] < args.rows or n != counts["to_link"] or third.affected.count() != n:
        failures.append(f"the query linked {n:,}, previewed {counts['to_link']:,}, wanted at least {args.rows:,}")
    if BreachAffected.history.filter(breach_id=third.pk).count() != n:
        failures.append("history rows missing for the query's links")
    if seconds > TARGET_SECONDS and not args.smoke:
        failures.append(f"linking from the query took {seconds:.1f} s, over {TARGET_SECONDS} s")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
