"""Rights requests at scale: the case queue at 100,000 cases, and an export of 10,000 rows.

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/case_bench.py [--customers 50000] [--cases 100000] [--rows 10000] [--db pp_bench_cases]

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it,
loads customers with `seed_scale` and cases with `seed_scale_cases` (three years of requests,
with history and handlers' object permissions), then measures:

1. **The queue** (issue 5: p95 under 150 ms at 100,000 cases): GET /requests/ through
   django.test.Client, signed in as a handler (its cases, through guardian's direct-FK grants)
   and as the DPO (all cases), for each filter a user has: none, a status, a right, overdue,
   due this week, mine, all closed cases, and the next page. Whole requests: session, access
   checks, the queries, the counts and the rendering.
2. **The export** (target under 5 s): `export_build` for a customer with --rows related rows
   (preference changes, calls with transcripts, correspondence, purchases, disclosures and
   SMS) plus their history rows, written as the ZIP in private storage.
3. **The DPO's home page** with its figures over the same 100,000 cases.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchlib  # noqa: E402

QUEUE_TARGET_MS = 150.0
EXPORT_TARGET_S = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=10_000, help="related rows of the exported customer")
    parser.add_argument("--samples", type=int, default=60, help="requests timed per queue filter and user")
    parser.add_argument("--db", default="pp_bench_cases", help="scratch database (dropped and recreated)")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it exists (skip loading)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the queue's queries")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.cases, args.rows, args.samples = 300, 400, 100, 1
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
    # As in production: no debug (no per-request query log), persistent connections, no lockout.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    os.environ.setdefault("AXES_ENABLED", "false")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="pp-case-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(args) -> None:
    from demo.scale_cases import seed_scale_cases
    from demo.scale_customers import seed_scale

    started = time.monotonic()
    seed_scale(customers=args.customers, seed=args.seed)
    print(f"  {args.customers:,} customers in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    report = seed_scale_cases(cases=args.cases, seed=args.seed)
    states = ", ".join(f"{n:,} {s}" for s, n in report.statuses.most_common())
    print(f"  {report.cases:,} cases ({states}) in {report.seconds:.1f}s", flush=True)
    # As autovacuum would soon after a load: fresh statistics, and the visibility map that lets
    # covering indexes (and guardian's unique grant index) answer without reading the table.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def bench_user(username: str, role: str):
    return benchlib.staff_user(username, role)


def queue_filters(client, user) -> list[tuple[str, str]]:
    """(label, query string) for each filter, the next page taken from a real first page."""
    import re

    from django.urls import reverse

    filters = [
        ("open (default)", ""),
        ("status in progress", "status=in_progress"),
        ("right erasure", "right=erasure"),
        ("overdue", "window=overdue"),
        ("due this week", "window=week"),
        ("mine", "mine=on"),
        ("all closed", "status=closed"),
    ]
    first = client.get(reverse("requests:queue") + "?status=closed").content.decode()
    after = re.search(r"after=([^\"&]+)", first)
    if after:
        filters.append(("closed, next page", f"status=closed&after={after.group(1)}"))
    return filters


def time_queue(args, user, label: str) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(user)
    rows = []
    for name, query in queue_filters(client, user):
        url = reverse("requests:queue") + (f"?{query}" if query else "")
        for _ in range(3):  # warm caches and the connection
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
            {"user": label, "filter": name, "p50": statistics.median(times), "p95": percentile(times, 95),
             "max": max(times), "queries": len(queries.captured_queries)}
        )  # fmt: skip
        print(f"  {label:<8} {name:<20} p50 {rows[-1]['p50']:6.1f} ms  p95 {rows[-1]['p95']:6.1f} ms", flush=True)
    return rows


def explain_queue(user) -> None:
    from django.db import connection

    from requests.selectors.cases import case_queue

    with connection.execute_wrapper(_explainer):
        case_queue(user)
        case_queue(user, status="closed")


def _explainer(execute, sql, params, many, context):
    cursor = context["cursor"]
    if sql.lstrip().upper().startswith("SELECT") and "requests_case" in sql:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()), "\n", flush=True)
    return execute(sql, params, many, context)


def customer_with_rows(n: int):
    """One customer with `n` related rows spread over every data set, and their history rows."""
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from customers.models import (
        Call,
        Correspondence,
        Customer,
        Disclosure,
        InboundSms,
        PreferenceChange,
        Purchase,
        Recipient,
    )

    now = timezone.now()
    customer = Customer.objects.create(
        first_name="Bench", last_name="Exported", email="bench.exported@example.com", phone="+447911123456",
        address_line1="1 Carew Street", town="London", postcode="SE5 9DF",
    )  # fmt: skip
    recipient = Recipient.objects.filter(active=True).first() or Recipient.objects.create(
        code="bench-logistics", name="Bench Logistics Ltd", category="logistics", role="processor", country="GB",
        agreement_reference="DPA-BENCH", contact="privacy@bench.example.com",
    )  # fmt: skip
    staff = bench_user("bench_dpo", "dpo")
    share = n // 6
    rng = random.Random(1)
    tag = f"{customer.pk:06d}"  # unique per customer, so the bench runs again on a kept database

    def ago(i: int) -> datetime.datetime:
        return now - datetime.timedelta(minutes=5 * i + 1)

    purposes = [("direct_marketing", c) for c in ("email", "sms", "phone", "post")] + [("personalised_ads", "")]
    models_rows = [
        (PreferenceChange, [
            PreferenceChange(customer=customer, purpose=purposes[i % 5][0], channel=purposes[i % 5][1],
                             granted=bool(i % 2), source="phone_call", evidence="Said so on the phone",
                             received_at=ago(i), takes_effect_by=ago(i).date(), actioned_at=ago(i))
            for i in range(share)]),
        (Call, [
            Call(customer=customer, direction="inbound", customer_number="+447911123456", our_number="+441914980000",
                 started_at=ago(i), duration_seconds=rng.randrange(60, 900), purpose="customer_service",
                 recording_ref=f"rec://bench/{i}.wav", transcript="Agent: Good morning.\nCaller: " + "words " * 60,
                 transcript_provider="Example Transcribe Inc. (US)")
            for i in range(share)]),
        (Correspondence, [
            Correspondence(customer=customer, direction="inbound", medium="letter", occurred_at=ago(i),
                           summary="Asked for a catalogue and a change of address.")
            for i in range(share)]),
        (Purchase, [
            Purchase(customer=customer, order_ref=f"LMO-B{tag}-{i:06d}", ordered_on=ago(i).date(),
                     description="Sovereign 22ct gold bullion coin", amount="499.00", payment_method="card")
            for i in range(share)]),
        (Disclosure, [
            Disclosure(customer=customer, recipient=recipient, data_categories=["contact", "order"],
                       purpose="order_delivery", lawful_basis="contract", disclosed_at=ago(i),
                       recipient_reference=f"B{tag}-{i:06d}", recorded_by=staff)
            for i in range(share)]),
        (InboundSms, [
            InboundSms(message_id=f"bench-{tag}-{i}", received_at=ago(i), outcome="opted_out", customer_id=customer.pk)
            for i in range(n - 5 * share)]),
    ]  # fmt: skip
    for model, rows in models_rows:
        bulk_create_with_history(rows, model, batch_size=2000)
    return customer


def time_export(args) -> dict:
    from requests.models import Case
    from requests.services import cases as svc
    from requests.services.export import export_build

    customer = customer_with_rows(args.rows)
    dpo = bench_user("bench_dpo", "dpo")
    handler = bench_user("bench_handler", "handler")
    [case] = svc.case_log(
        actor=dpo, rights=[Case.Right.ACCESS], channel="email", received_on=datetime.date.today(), customer=customer
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    times, size = [], 0
    for _ in range(3):
        started = time.perf_counter()
        doc = export_build(actor=handler, case=case)
        times.append(time.perf_counter() - started)
        size = doc.size
    print(f"  export of {args.rows:,} rows: {', '.join(f'{t:.2f}s' for t in times)}; ZIP {size / 1e6:.1f} MB")
    return {"times": times, "size": size}


def time_home(args) -> dict:
    from django.test import Client

    client = Client()
    client.force_login(bench_user("bench_dpo", "dpo"))
    for _ in range(3):
        assert client.get("/").status_code == 200
    times = []
    for _ in range(args.samples):
        started = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - started) * 1000)
    print(f"  DPO home p50 {statistics.median(times):.1f} ms p95 {percentile(times, 95):.1f} ms")
    return {"p50": statistics.median(times), "p95": percentile(times, 95)}


def main() -> None:
    args = parse_args()
    url, kept = (
        (benchlib.smoke_database(args.db), False) if args.smoke else database_url(args.db, recreate=not args.reuse)
    )
    print(f"Database {args.db} ({'kept' if kept else 'new'}); migrating...", flush=True)
    setup_django(url)
    if not kept:
        print("Loading...", flush=True)
        load(args)

    from privacy_portal.models import User
    from requests.models import Case

    # A seeded handler, approved as sign-in now requires (seed_scale_cases does not approve accounts).
    handler = benchlib.staff_user(User.objects.get(username="scale_handler_01").username, User.Role.HANDLER)
    dpo = bench_user("bench_dpo", "dpo")
    total = Case.objects.count()
    open_count = Case.objects.filter(closed_on__isnull=True).count()
    mine = Case.objects.filter(handler=handler).count()
    print(f"{total:,} cases, {open_count:,} open; the handler has {mine:,}.", flush=True)
    if args.explain:
        explain_queue(handler)
        explain_queue(dpo)
    print("Queue:", flush=True)
    rows = time_queue(args, handler, "handler") + time_queue(args, dpo, "DPO")
    print("DPO home:", flush=True)
    home = time_home(args)
    print("Export:", flush=True)
    exported = time_export(args)

    worst = max(r["p95"] for r in rows)
    lines = [
        f"### Case queue, DPO dashboard and access export ({datetime.date.today():%Y-%m-%d})",
        "",
        f"`bench/case_bench.py --cases {args.cases} --customers {args.customers} --rows {args.rows} "
        f"--samples {args.samples}` on {platform.node() or 'this machine'} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}); {total:,} cases ({open_count:,} open), the handler holding "
        f"{mine:,} of them through guardian's direct-FK grants.",
        "",
        "| user | filter | p50 ms | p95 ms | max ms | queries |",
        "|---|---|---:|---:|---:|---:|",
        *(
            f"| {r['user']} | {r['filter']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['queries']} |"
            for r in rows
        ),
        "",
        f"Queue target p95 < {QUEUE_TARGET_MS:.0f} ms: {'met' if worst < QUEUE_TARGET_MS else 'MISSED'} "
        f"(worst p95 {worst:.1f} ms). Whole requests through django.test.Client: session, access checks, "
        "queries, counts and rendering.",
        "",
        f"DPO home page with the case figures over {total:,} cases: "
        f"p50 {home['p50']:.1f} ms, p95 {home['p95']:.1f} ms.",
        "",
        f"Access export of a customer with {args.rows:,} related rows (and as many history rows): "
        f"{', '.join(f'{t:.2f}' for t in exported['times'])} s over three builds, ZIP {exported['size'] / 1e6:.1f} MB; "
        f"target < {EXPORT_TARGET_S:.0f} s: {'met' if max(exported['times']) < EXPORT_TARGET_S else 'MISSED'}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
