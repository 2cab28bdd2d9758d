"""Pages whose cost must not grow with history: timed at 10, 100, 1,000 and 10,000 rows.

    .venv/bin/python bench/pages_bench.py [--sizes 10,100,1000,10000] [--samples 30]
    .venv/bin/python bench/pages_bench.py --smoke

Scratch database ``pp_bench_pages`` (see bench/benchlib.py), migrated, then for each size N: a case
with N history rows and N notes, a complaint with N history rows, and a customer with N history
rows and N preference changes (bulk-inserted, as tests/privacy_portal/test_constant_cost_pages.py
does), and N more deletion tasks (a third confirmed) for the deletion-tasks page (issue 17). Each
page is requested through django.test.Client by the user who would open it (the handler the case
is assigned to, the DPO, the agent, an auditor): p50/p95 ms, SQL statements and bytes of the page.
Issue 11 measured the unpaged pages at 3.8 s and 1.8 MB (case page) and 4.1 s and 5.4 MB
(customer history) at 10,000 rows, and the customer page at 950 ms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time

import benchlib

PAGE_SIZE = 50  # privacy_portal.services.history_search.PAGE_SIZE and privacy_portal.paging.PAGE_SIZE


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--samples", type=int, default=30, help="requests timed per page and size")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page first")
    parser.add_argument("--smoke", action="store_true", help="seconds: sizes 10, 60 and 150, its own database")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.samples, args.warmup = "10,60,150", 1, 1  # the statement counts are what it checks
    args.size_list = [int(n) for n in args.sizes.split(",")]
    return args


def add_history(obj, count: int, *, user, field: str, values) -> None:
    history = type(obj).history.model
    latest = obj.history.latest()
    names = [f.attname for f in history._meta.concrete_fields if f.attname != "history_id"]
    rows = []
    for i in range(count):
        record = history(**{name: getattr(latest, name) for name in names})
        record.history_date = latest.history_date + datetime.timedelta(seconds=i + 1)
        record.history_type, record.history_user_id, record.history_change_reason = "~", user.pk, f"Change {i}"
        setattr(record, field, values(i))
        rows.append(record)
    history.objects.bulk_create(rows, batch_size=5000)


def build(size: int, staff: dict):
    """A case, a complaint and a customer, each with `size` rows of history (and notes, preference changes)."""
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from customers.models import Customer, PreferenceChange
    from requests.models import Case, CaseNote, Complaint
    from requests.services import cases as svc

    now = timezone.now()
    n = Customer.objects.count()
    customer = Customer.objects.create(
        first_name="Bench", last_name=f"Pages{size}", email=f"pages{size}.{n}@example.co.uk", postcode="SW1A 1AA"
    )
    case = Case.objects.create(
        reference=f"R-BENCH-{size}-{n}", right="access", channel="phone", received_on=timezone.localdate(),
        customer=customer, clock_started_on=timezone.localdate(),
    )  # fmt: skip
    case = svc.case_assign(actor=staff["dpo"], case=case, handler=staff["handler"])
    statuses = [Case.Status.IN_PROGRESS, Case.Status.AWAITING_IDENTITY]
    add_history(case, size, user=staff["dpo"], field="status", values=lambda i: statuses[i % 2])
    notes = [CaseNote(case=case, author=staff["handler"], text=f"Note {i}", created_at=now) for i in range(size)]
    bulk_create_with_history(notes, CaseNote, batch_size=5000, default_user=staff["handler"])
    complaint = Complaint.objects.create(
        reference=f"CP-BENCH-{size}-{n}", customer=customer, received_on=timezone.localdate(), channel="phone",
        category="marketing", description="Bench", acknowledge_by=timezone.localdate() + datetime.timedelta(days=30),
    )  # fmt: skip
    add_history(complaint, size, user=staff["dpo"], field="status", values=lambda i: Complaint.Status.INVESTIGATING)
    add_history(customer, size, user=staff["dpo"], field="town", values=lambda i: f"Town {i}")
    channels = ["email", "sms", "phone", "post"]
    changes = [
        PreferenceChange(
            customer=customer,
            purpose="direct_marketing",
            channel=channels[i % 4],
            granted=bool(i % 3),
            source="phone_call",
            recorded_by=staff["dpo"],
            received_at=now - datetime.timedelta(minutes=size - i),
            takes_effect_by=now.date(),
        )
        for i in range(size)
    ]
    bulk_create_with_history(changes, PreferenceChange, batch_size=5000, default_user=staff["dpo"])
    # `size` deletion tasks at the stores outside the portal, a third of them confirmed (issue 17).
    from customers.models import DeletionTask, Recipient

    provider = Recipient.objects.filter(holds_call_data=True).first()
    today = timezone.localdate()
    DeletionTask.objects.bulk_create(
        [
            DeletionTask(
                store="recipient" if i % 2 and provider else "recording_store",
                recipient=provider if i % 2 else None,
                cause="retention",
                source_reference=f"retention {today}",
                references=[f"rec://bench/{size}/{i}.wav"],
                call_ids=[i],
                due_on=today + datetime.timedelta(days=(i % 60) - 30),
                confirmed_at=now if i % 3 == 0 else None,
                confirmed_by=staff["dpo"] if i % 3 == 0 else None,
                confirmed_via="person" if i % 3 == 0 else "",
            )
            for i in range(size)
        ],
        batch_size=5000,
    )
    # As autovacuum would soon after such a load: statistics that know the tables grew.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return case, complaint, customer


def time_page(user, url: str, samples: int, warmup: int = 2) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    for _ in range(max(warmup, 1)):  # one at least: it checks the page answers 200
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]
    return {"p50": statistics.median(times), "p95": p95, "queries": len(queries), "bytes": len(response.content)}


def main() -> int:
    args = parse_args()
    url = benchlib.smoke_database("pp_bench_pages") if args.smoke else benchlib.scratch_url("pp_bench_pages")
    if not args.smoke:
        benchlib.ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("AXES_ENABLED", "false")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at:UserWarning")
    benchlib.add_root_to_path()
    import django

    django.setup()
    from django.core.management import call_command
    from django.urls import reverse
    from django.utils import timezone

    from privacy_portal.models import User

    call_command("migrate", interactive=False, verbosity=0)
    staff = {role: benchlib.staff_user(f"bench_pages_{role}", role) for role in ("dpo", "handler", "agent")}
    auditor = User.objects.filter(username="bench_pages_auditor").first()
    if auditor is None:
        ends = timezone.localdate() + datetime.timedelta(days=365)
        User.objects.create(username="bench_pages_auditor", role=User.Role.AUDITOR, access_ends_on=ends)
    staff["auditor"] = benchlib.staff_user("bench_pages_auditor", User.Role.AUDITOR)
    load = os.getloadavg()
    print(f"Database {url.rsplit('/', 1)[1]}; load average {load[0]:.2f} on {os.cpu_count()} CPUs.", flush=True)
    print("| page | rows | p50 ms | p95 ms | SQL statements | KB |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    results: dict[str, list[dict]] = {}
    for size in args.size_list:
        case, complaint, customer = build(size, staff)
        pages = [
            ("case page (timeline + notes)", staff["handler"], reverse("requests:case", args=[case.pk])),
            ("customer history", staff["dpo"], reverse("customers:history", args=[customer.pk])),
            ("customer page (current preferences)", staff["agent"], reverse("customers:detail", args=[customer.pk])),
            ("complaint page (timeline)", staff["dpo"], reverse("requests:complaint", args=[complaint.pk])),
            ("record history (auditor)", staff["auditor"], reverse("record_history", args=["requests.Case", case.pk])),
            ("deletion tasks (open + confirmed)", staff["dpo"], reverse("customers:deletion_tasks")),
            ("retention schedule", staff["dpo"], reverse("retention_schedule")),
        ]
        for label, user, page_url in pages:
            r = time_page(user, page_url, args.samples, args.warmup)
            results.setdefault(label, []).append(r)
            print(
                f"| {label} | {size:,} | {r['p50']:.1f} | {r['p95']:.1f} | {r['queries']} | {r['bytes'] / 1024:.0f} |",
                flush=True,
            )
    # Constant cost: past one page, the statements never grow with the rows (a history shorter than a
    # page needs no look-up of the predecessor of its oldest row). Times are noisy on a shared machine.
    paged = [i for i, size in enumerate(args.size_list) if size > PAGE_SIZE]
    grown = [label for label, rs in results.items() if paged and rs[paged[-1]]["queries"] > rs[paged[0]]["queries"]]
    for label in grown:
        print(f"FAILED: {label} issues more statements at {args.size_list[paged[-1]]:,} rows than at "
              f"{args.size_list[paged[0]]:,}")  # fmt: skip
    return 1 if grown else 0


if __name__ == "__main__":
    sys.exit(main())
