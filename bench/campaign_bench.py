"""A call list screened through the campaign-screening service, as the Celery task runs it (issue 16).

    .venv/bin/python bench/campaign_bench.py            # 100,000 rows, 20,000 customers
    .venv/bin/python bench/campaign_bench.py --smoke    # 2,500 rows, 500 customers, seconds

It uses its own scratch database (benchlib: pp_campaign_bench), seeded with matching_bench's SQL
(customers with a mobile number each), a TPS full file listing every tenth stranger's number and a
CTPS file, both dated yesterday. A quarter of the list's rows name a customer by reference (blocked:
no customer here has agreed to marketing calls), the rest are strangers' landline numbers, a tenth
of them listed. It times `campaign_screen` (the upload: read, validate, the queued record) and the
commit after it, which writes the rows' file and runs the task eagerly, as locally without a broker
(`campaign_screening_run`: batches of BATCH_ROWS through _screen_rows, rows_done saved after each,
the result CSV written), then checks the counts against the list.
Private storage is a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import io
import sys
import tempfile
import time

import benchlib
import matching_bench


def parse_args() -> argparse.Namespace:
    parser = benchlib.argument_parser(__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--smoke", action="store_true", help="2,500 rows, 500 customers: a few seconds.")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.customers = 2_500, 500
    return args


def configure(args) -> None:
    storage = tempfile.mkdtemp(prefix="pp-campaign-bench-")
    benchlib.django_setup("pp_campaign_bench", smoke=args.smoke, env={"PRIVATE_STORAGE_ROOT": storage})


def seed(args, dpo) -> list:
    """Seed the customers and load the two registers (once per database); the customers."""
    from customers.models import Customer, TpsRegister
    from customers.services.tps import tps_load

    matching_bench.seed_customers(args.customers)
    customers = list(Customer.objects.order_by("pk").only("pk", "phone")[: args.customers])
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    from customers.models import TpsFile

    if not TpsFile.objects.exists():
        listed = b"".join(stranger(i).ljust(12).encode() + b"\r\n" for i in range(0, args.rows, 10))
        tps_load(actor=dpo, register=TpsRegister.TPS, kind="full", file=io.BytesIO(listed), name="tps.txt",
                 file_date=yesterday)  # fmt: skip
        tps_load(actor=dpo, register=TpsRegister.CTPS, kind="full", file=io.BytesIO(b"01134960000 \r\n"),
                 name="ctps.txt", file_date=yesterday)  # fmt: skip
    return customers


def stranger(i: int) -> str:
    """A number no customer holds (they are all mobiles): 0113 followed by seven digits."""
    return f"0113{i:07d}"


def call_list(args, customers) -> tuple[bytes, int]:
    """The list's bytes and how many of its rows must be blocked: every row by reference (no
    customer here has agreed to marketing calls) and every tenth stranger's number (TPS-listed)."""
    lines = ["customer_reference,phone"]
    blocked = 0
    for i in range(args.rows):
        if i % 4 == 1:
            lines.append(f"{customers[i % len(customers)].reference},")
            blocked += 1
        else:
            lines.append(f",{stranger(i)}")
            blocked += i % 10 == 0
    return ("\r\n".join(lines) + "\r\n").encode(), blocked


def main() -> int:
    args = parse_args()
    configure(args)
    import shutil

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from customers.models import CampaignScreening
    from customers.services.campaign import BATCH_ROWS, campaign_screen
    from privacy_portal.models import User
    from privacy_portal.private_storage import private_file, private_root

    dpo = benchlib.staff_user("bench_campaign_dpo", User.Role.DPO)
    customers = seed(args, dpo)
    data, blocked = call_list(args, customers)
    print(f"{benchlib.machine()} · {len(customers):,} "
          f"customers · {args.rows:,} rows ({len(data) / 1e6:.2f} MB), {blocked:,} to be blocked",
          flush=True)  # fmt: skip
    # The upload in a transaction of the bench's own, timed alone; its commit then writes the rows'
    # file and runs the task (eager: CELERY_BROKER_URL is empty, as locally), timed as the screening.
    with transaction.atomic():
        started = time.perf_counter()
        queued = campaign_screen(actor=dpo, file=SimpleUploadedFile("list.csv", data), name="list.csv")
        upload_s = time.perf_counter() - started
        started = time.perf_counter()
    run_s = time.perf_counter() - started
    done = CampaignScreening.objects.get(pk=queued.pk)
    ok = (done.status == "done" and done.rows_done == args.rows and done.blocked == blocked
          and private_file(done.result_path) is not None)  # fmt: skip
    print(f"upload (read, validate, queue): {upload_s:,.1f} s; screening (the task on commit): {run_s:,.1f} s, "
          f"{args.rows / run_s:,.0f} rows/s in batches of {BATCH_ROWS:,}", flush=True)  # fmt: skip
    print(f"status {done.status}: {done.rows_done:,} of {done.rows:,} rows, {done.allowed:,} allowed, "
          f"{done.blocked:,} blocked (expected {blocked:,}); {done.history.count():,} history rows")  # fmt: skip
    benchlib.print_load_at_end()
    shutil.rmtree(private_root(), ignore_errors=True)
    if not ok:
        print("WRONG: the screening did not finish with the expected counts and a result file")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
