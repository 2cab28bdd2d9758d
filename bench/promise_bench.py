"""The promise report for a year at scale: every check of the register, timed one by one.

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/promise_bench.py [--customers 200000] [--cases 50000] [--disclosures 1000000]
                                            [--access 2000000] [--reuse] [--smoke]

Scratch database `pp_promise_bench` (BENCH_DB_PREFIX), created and migrated on first run. Loads
customers with `seed_scale` (preference changes, calls, correspondence, purchases, history) and
rights requests with `seed_scale_cases`, then, in SQL in this scratch database only, a year of
disclosures (a few restricted customers, sensitive ones, transfers), access-log entries (reads and
break-glass openings, some unreviewed), and the nightly job runs (a few nights missing), so the
checks have realistic broken promises to find. Then `promise_report(year)` three times (the first
cold) and each check on its own; target: every check of a year's report under 10 s in all.
With --smoke: tiny data, its own database, exit 1 if the report fails or finds nothing broken.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

TARGET_SECONDS = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--disclosures", type=int, default=1_000_000)
    parser.add_argument("--access", type=int, default=2_000_000, help="access-log entries in the year")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database (skip loading)")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    parser.add_argument("--explain", type=float, default=None, metavar="MS",
                        help="EXPLAIN (ANALYZE, BUFFERS) each check's statements slower than MS ms")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.cases, args.disclosures, args.access = 300, 200, 2_000, 3_000
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("AXES_ENABLED", "false")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", tempfile.mkdtemp(prefix="pp-promise-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(args) -> None:

    from demo.scale_cases import seed_scale_cases
    from demo.scale_customers import seed_scale

    started = time.monotonic()
    seed_scale(customers=args.customers, seed=7)
    print(f"  {args.customers:,} customers in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    seed_scale_cases(cases=args.cases, seed=7)
    print(f"  {args.cases:,} cases in {time.monotonic() - started:.1f}s", flush=True)
    load_year(args)


def load_year(args) -> None:
    """The year's disclosures, access-log entries and job runs, in SQL (this scratch database only)."""
    from django.db import connection
    from django.utils import timezone

    from privacy_portal.models import User

    handler = benchlib.staff_user("bench_handler", "handler")

    # An engagement that ended 60 days ago: the auditor's later reads are broken promises.
    User.objects.get_or_create(username="bench_auditor", defaults={
        "role": "auditor", "email": "bench_auditor@example.org", "approved_at": timezone.now(),
        "access_ends_on": timezone.localdate() - datetime.timedelta(days=60)})  # fmt: skip
    auditor = benchlib.staff_user("bench_auditor", "auditor")
    # Both approved before the year of entries below (a read before approval is a broken promise).
    for user in (handler, auditor):
        user.approved_at = timezone.now() - datetime.timedelta(days=400)
        user.save(update_fields=["approved_at"])
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM customers_customer")
        low, high = cursor.fetchone()
        cursor.execute("SELECT id FROM customers_recipient ORDER BY id")
        recipients = [r for (r,) in cursor.fetchall()]
        # A year of disclosures: 1 in 500 sensitive (explicit consent claimed), spread over recipients.
        cursor.execute(
            """
            INSERT INTO customers_disclosure (customer_id, recipient_id, data_categories, purpose, lawful_basis,
                sensitive, special_category_condition, disclosed_at, recipient_reference, recorded_at, via,
                override_reason)
            SELECT %(low)s + (g * 7919) %% (%(high)s - %(low)s + 1),
                   (%(recipients)s::bigint[])[1 + g %% cardinality(%(recipients)s::bigint[])],
                   '["identity", "contact", "order"]'::jsonb, 'order_delivery', 'contract',
                   g %% 500 = 0, CASE WHEN g %% 500 = 0 THEN 'explicit_consent' ELSE '' END,
                   now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second', 'BENCH-' || g, now(),
                   'import', ''
              FROM generate_series(1::bigint, %(n)s) AS g
            """,
            {"low": low, "high": high, "recipients": recipients, "n": args.disclosures},
        )
        # A year of access-log entries (reads of customers), 1 in 2,000 a break-glass opening.
        cursor.execute(
            """
            INSERT INTO privacy_portal_accessevent (at, user_id, action, customer_id, object_type, result_ids,
                search_kind, reason_digest, flagged, details)
            SELECT now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second',
                   CASE WHEN g %% 10 = 0 THEN %(auditor)s ELSE %(handler)s END,
                   CASE WHEN g %% 2000 = 0 THEN 'break_glass' ELSE 'view_customer' END,
                   %(low)s + (g * 104729) %% (%(high)s - %(low)s + 1), '', '[]'::jsonb, '', '', g %% 2000 = 0,
                   '{}'::jsonb
              FROM generate_series(1::bigint, %(n)s) AS g
            """,
            {"low": low, "high": high, "handler": handler.pk, "auditor": auditor.pk, "n": args.access},
        )
        # The nightly jobs of the year, one night in 60 missing.
        cursor.execute(
            """
            INSERT INTO privacy_portal_jobrun (name, started_at, finished_at, outcome, detail)
            SELECT j.name, current_date - d * interval '1 day' + interval '2 hours',
                   current_date - d * interval '1 day' + interval '2 hours 5 minutes', 'ok', '{"ok": true}'::jsonb
              FROM generate_series(1, 400) AS d,
                   unnest(ARRAY['build_suppression_feed', 'apply_retention_schedule', 'verify_audit_log']) AS j(name)
             WHERE d %% 60 <> 0
            """,
            [],
        )
        cursor.execute("VACUUM ANALYZE")
    print(f"  disclosures, access log and job runs in {time.monotonic() - started:.1f}s", flush=True)


def main() -> int:
    args = parse_args()
    if args.smoke:
        url = benchlib.smoke_database("promise_bench")
    else:
        url = benchlib.scratch_url("promise_bench")
        benchlib.ensure_database(url, recreate=not args.reuse)
    setup_django(url)
    from customers.models import Customer, Disclosure

    if not args.reuse or not Customer.objects.exists():
        print("Loading…", flush=True)
        load(args)
    elif not Disclosure.objects.filter(recipient_reference__startswith="BENCH-").exists():
        load_year(args)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import Disclosure, PreferenceChange
    from privacy_portal.models import AccessEvent
    from privacy_portal.promises import REGISTER
    from privacy_portal.promises.base import Period
    from privacy_portal.promises.report import check_outcome, promise_report, report_data, report_pdf
    from requests.models import Case

    today = timezone.localdate()
    # The year to date and the last twelve months: the report an auditor asks for.
    year = Period(today.replace(year=today.year - 1) + datetime.timedelta(days=1), today)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}")  # fmt: skip
    print(f"Data: {Customer.objects.count():,} customers, {PreferenceChange.objects.count():,} preference changes, "
          f"{Case.objects.count():,} cases, {Disclosure.objects.count():,} disclosures, "
          f"{AccessEvent.objects.count():,} access-log entries")  # fmt: skip
    print(f"Period: {year.label}")
    runs = []
    for i in range(1 if args.smoke else 3):  # a smoke run: once (each check runs again below)
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            report = promise_report(year, today=today)
            runs.append(time.monotonic() - started)
        print(f"  report, run {i + 1}{' (cold)' if i == 0 else ''}: {runs[-1]:.2f}s, {len(queries.captured_queries)} "
              f"statements, {len(report.broken)} checks broken", flush=True)  # fmt: skip
    print("Each check (warm):")
    slow = []
    for check in REGISTER:
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            outcome = check_outcome(check, year, today)
            took = time.monotonic() - started
        print(f"  {check.key:<28} {took * 1000:8.1f} ms  {len(queries.captured_queries):>2} statements  "
              f"{outcome.status:<15} {outcome.broken:>7,} broken")  # fmt: skip
        if args.explain is not None:
            slow += [(check.key, q["sql"]) for q in queries.captured_queries if float(q["time"]) * 1000 >= args.explain]
    for key, sql in slow:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(f"    {line}" for (line,) in cursor.fetchall())
        print(f"\n{key}: {sql[:300]}{'…' if len(sql) > 300 else ''}\n{plan}")
    started = time.monotonic()
    from privacy_portal.models import User

    pdf = report_pdf(report_data(report, generated_at=timezone.now(), generated_by=User.objects.first()))
    print(f"PDF: {len(pdf) / 1024:.0f} KB in {time.monotonic() - started:.2f}s")
    best = min(runs)
    verdict = "OK" if best <= TARGET_SECONDS else "SLOW"
    print(f"Every check of the year's report: {best:.2f}s warm, {runs[0]:.2f}s cold (target {TARGET_SECONDS:.0f}s): "
          f"{verdict}")  # fmt: skip
    if args.smoke:
        if not report.broken:
            print("smoke: FAILED, the report found nothing broken in data made to break promises")
            return 1
        print("smoke: every check ran and the report found the promises broken on purpose")
    return 0


if __name__ == "__main__":
    sys.exit(main())
