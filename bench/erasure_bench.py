"""Time the erasure of one customer with 10,000 related rows (issue 5: under 5 s).

Not a test (too slow for the suite): run it by hand.

    .venv/bin/python bench/erasure_bench.py [--rows 10000] [--others 20000] [--db pp_erasure_bench]

It DROPS and recreates the scratch database named by --db (which must contain "bench") on the
PostgreSQL server of PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) and migrates
it. Then it creates `--others` other customers (with calls and purchases, so the tables are
not empty), and one customer with `--rows` related rows, each with its history row: preference
changes with evidence, calls with transcripts, correspondence, purchases, disclosures and
case notes, plus an erasure case sent for the DPO's sign-off. It times, through the real
services:

1. the preview the DPO reads on the case page (erasure_preview);
2. the DPO's sign-off, which erases the customer in the same transaction (case_signoff),
   committed;
3. the erasure again (customer_erase on the completed case: a no-op).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
TARGET_SECONDS = 5

import benchlib  # noqa: E402
from import_bench import create_dpo, recreate_database, setup_django, timed  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows related to the erased customer")
    parser.add_argument("--others", type=int, default=20_000, help="other customers")
    parser.add_argument("--db", default="pp_erasure_bench", help="scratch database (dropped and recreated)")
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny data, its own database, exit 1 on failure")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.others = 100, 200
    if "bench" not in args.db:
        parser.error("--db must name a scratch database containing 'bench': it is dropped and recreated.")
    return args


def create_data(rows: int, others: int, dpo):
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from customers.models import Call, Correspondence, Customer, Disclosure, PreferenceChange, Purchase, Recipient
    from requests.models import Case, CaseNote
    from requests.services import cases as svc

    now = timezone.now()
    today = timezone.localdate()
    crowd = bulk_create_with_history(
        [
            Customer(first_name="Other", last_name=f"Person{i}", email=f"other{i}@example.co.uk", postcode="SE5 9DF")
            for i in range(others)
        ],
        Customer,
        batch_size=5000,
    )
    call = dict(direction="inbound", our_number="+442079460000", duration_seconds=120, purpose="customer_service")
    bulk_create_with_history(
        [Call(customer=c, customer_number="+447700900000", started_at=now, recording_ref="r", **call) for c in crowd],
        Call,
        batch_size=5000,
    )
    customer = Customer.objects.create(
        first_name="Peregrine",
        last_name="Quillfeather",
        email="peregrine@example.co.uk",
        phone="+447912555123",
        address_line1="14 Larkspur Crescent",
        postcode="ZE2 9QP",
    )
    share = rows // 6
    bulk_create_with_history(
        [
            PreferenceChange(
                customer=customer,
                purpose="direct_marketing",
                channel="email",
                granted=i % 2 == 0,
                source="phone_call",
                evidence=f"Peregrine on the phone, call {i}",
                received_at=now,
                takes_effect_by=today,
            )
            for i in range(share)
        ],
        PreferenceChange,
        batch_size=5000,
    )
    bulk_create_with_history(
        [
            Call(
                customer=customer,
                customer_number=customer.phone,
                started_at=now,
                recording_ref=f"rec{i}",
                transcript=f"Caller: this is Peregrine Quillfeather, call {i}. " * 20,
                **call,
            )
            for i in range(share)
        ],
        Call,
        batch_size=5000,
    )
    bulk_create_with_history(
        [
            Correspondence(
                customer=customer, direction="inbound", medium="letter", occurred_at=now, summary=f"Letter {i}"
            )
            for i in range(share)
        ],
        Correspondence,
        batch_size=5000,
    )
    bulk_create_with_history(
        [
            Purchase(
                customer=customer,
                order_ref=f"BENCH-{i:07d}",
                ordered_on=today,
                description="Proof coin",
                amount="89.95",
                payment_method="card",
            )
            for i in range(share)
        ],
        Purchase,
        batch_size=5000,
    )
    recipients = [
        Recipient.objects.create(
            code=f"bench-{i}",
            name=f"Bench Recipient {i}",
            category="logistics",
            role="processor",
            country="GB",
            agreement_reference=f"DPA-{i}",
            contact="privacy@example.co.uk",
        )
        for i in range(5)
    ]
    bulk_create_with_history(
        [
            Disclosure(
                customer=customer,
                recipient=recipients[i % 5],
                data_categories=["contact"],
                purpose="order_delivery",
                lawful_basis="contract",
                disclosed_at=now,
                recorded_by=dpo,
                recipient_reference=f"REF-{i}",
            )
            for i in range(share)
        ],
        Disclosure,
        batch_size=5000,
    )
    (case,) = svc.case_log(actor=dpo, rights=["erasure"], channel="post", received_on=today, customer=customer)
    svc.case_assign(actor=dpo, case=case, handler=dpo)  # the DPO may handle; another DPO signs off below
    svc.case_start(actor=dpo, case=case)
    svc.case_request_signoff(actor=dpo, case=case, kind="erasure", reason="Bench")
    rest = rows - 5 * share
    bulk_create_with_history(
        [CaseNote(case=case, author=dpo, text=f"Spoke to Peregrine Quillfeather, note {i}") for i in range(rest)],
        CaseNote,
        batch_size=5000,
    )
    return customer, Case.objects.get(pk=case.pk)


def main() -> None:
    args = parse_args()
    setup_django(benchlib.smoke_database(args.db) if args.smoke else recreate_database(args.db))
    from django.conf import settings
    from django.db import connection, transaction

    from privacy_portal.models import User
    from requests.services import cases as svc
    from requests.services.erasure import customer_erase, erasure_preview

    settings.PRIVATE_STORAGE_ROOT = Path(tempfile.mkdtemp(prefix="erasure-bench-"))
    dpo = create_dpo()
    signer = benchlib.staff_user("bench_dpo_2", User.Role.DPO)
    started = time.perf_counter()
    customer, case = create_data(args.rows, args.others, dpo)
    print(f"Set-up: {args.others:,} other customers, 1 customer with {args.rows:,} related rows (each with history)")
    print(f"        in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, {pg_version}")
    print()

    timed("1. Preview (what erasure will do)", lambda: len(erasure_preview(customer=customer).keep))

    def sign_off():
        with transaction.atomic():
            svc.case_signoff(actor=signer, case=case, approve=True)
        return f"{case.status}, {case.tasks.count()} Art 19 task(s)"

    elapsed = timed(f"2. Sign-off and erasure of {args.rows:,} related rows, committed", sign_off)
    timed("3. The erasure again (no-op)", lambda: customer_erase(actor=signer, case=case))
    print()
    verdict = "within" if elapsed < TARGET_SECONDS else "OVER"
    print(f"Target: erasure of a customer with {args.rows:,} related rows in under {TARGET_SECONDS} s: "
          f"{elapsed:.1f} s, {verdict} target.")  # fmt: skip


if __name__ == "__main__":
    main()
