"""TPS: a full file of 20,000,000 numbers loaded with COPY, then the dialler's pre-dial check
through the real endpoint at that size (issue 16: under 10 ms p95).

Not a test (too slow for the suite): run it by hand, once (the machine is shared).

    .venv/bin/python bench/tps_bench.py                      # 20,000,000 numbers, 2,000 pre-dial checks
    .venv/bin/python bench/tps_bench.py --numbers 1000000    # smaller
    .venv/bin/python bench/tps_bench.py --smoke              # 20,000 numbers, its own database; exit 1 on failure

It uses its own scratch database (``pp_bench_tps``, recreated each run; a smoke run its own, see
bench/benchlib.py), writes the TPS file (both published layouts, CR LF) to a temporary file, loads it
through customers.services.tps.tps_load (what `manage.py import_tps` runs), printing progress
every million lines, then starts gunicorn and sends sequential `GET /p/dialler/screen?number=…` with a
bearer token: a third listed numbers, a third unlisted, a third numbers held by customers (with
their preferences read). Reported: load seconds, p50/p95/p99 ms of the check, and the load average.
Exit status 1 if a load or a check fails, an answer is wrong, or (full size) the p95 is over target.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import benchlib

TARGET_P95_MS = 10.0
MULTIPLIER = 7919  # coprime with 10: i -> i * 7919 mod 10**8 is a permutation (distinct numbers)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=20_000_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--smoke", action="store_true", help="tiny and quick; exit 1 on any failure")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the registers an earlier run loaded (same --numbers): checks only"
    )
    args = parser.parse_args()
    if args.smoke:
        args.numbers, args.requests = 20_000, 30  # the check answers, listed and not: not its p95
    return args


def national(i: int) -> str:
    """The i-th distinct mobile number, in 078 (every 078 number is a valid one, so the endpoint
    screens it rather than answering "not a phone number")."""
    return f"078{(i * MULTIPLIER) % 10**8:08d}"


def write_file(path: Path, n: int) -> None:
    """Alternate the two layouts: with spaces (5 + 7) and without (12 left-justified)."""
    with path.open("wb", buffering=1 << 20) as out:
        batch = []
        for i in range(n):
            number = national(i)
            if i % 2:
                batch.append(f"{number[:5]:<5}{number[5:]:>7}\r\n")
            else:
                batch.append(f"{number:<12}\r\n")
            if len(batch) == 100_000:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())


def configure(args) -> str:
    if args.smoke:
        url = benchlib.smoke_database("pp_bench_tps")
    else:
        url = benchlib.scratch_url("pp_bench_tps")
        benchlib.ensure_database(url, recreate=not args.reuse)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at:UserWarning")
    benchlib.add_root_to_path()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workers: int, port: int) -> subprocess.Popen:
    command = [str(benchlib.ROOT / ".venv" / "bin" / "gunicorn"), "privacy_portal.wsgi", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command, cwd=benchlib.ROOT, env=os.environ.copy())
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/p/dialler/screen")
            if conn.getresponse().status == 401:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load(args, dpo, failures: list[str]) -> None:
    """Write the file and load it through tps_load (the TPS), then a one-number CTPS file."""
    from customers.models import TpsRegister
    from customers.services.tps import Progress, listed_count, tps_load

    with tempfile.TemporaryDirectory(prefix="tps-bench-") as tmp:
        path = Path(tmp) / "tps-full.txt"
        started = time.perf_counter()
        write_file(path, args.numbers)
        print(f"file written: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s", flush=True)
        from django.utils import timezone

        today = timezone.localdate()
        load_start = time.perf_counter()

        def progress(p: Progress) -> None:
            share = 100 * p.bytes_read / p.bytes_total if p.bytes_total else 0
            print(f"  {p.lines:,} lines ({share:.0f}%), {time.perf_counter() - load_start:.0f} s", flush=True)

        with path.open("rb") as handle:
            loaded = tps_load(actor=dpo, register=TpsRegister.TPS, kind="full", file=handle, name=path.name,
                              file_date=today, on_progress=progress)  # fmt: skip
        load_seconds = time.perf_counter() - load_start
        load_avg = os.getloadavg()
        print(f"TPS full load: {loaded.listed:,} numbers in {load_seconds:.1f} s (load average {load_avg[0]:.1f})")
        if loaded.listed != args.numbers or listed_count("tps") != args.numbers:
            failures.append(f"listed {loaded.listed:,}, expected {args.numbers:,}")
    ctps = Path(tempfile.mkstemp(suffix=".txt")[1])
    ctps.write_bytes(b"01134960000 \r\n")
    with ctps.open("rb") as handle:
        tps_load(actor=dpo, register=TpsRegister.CTPS, kind="full", file=handle, name="ctps.txt", file_date=today)
    ctps.unlink()


def in_process(args, rng, held: list[str], token: str) -> None:
    """The same checks through Django's test client in this process (every middleware and the view,
    no HTTP): wall time, and this thread's CPU time (what the machine's load does not inflate;
    PostgreSQL's own work is in the wall time only)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    walls, cpus = [], []
    for i in range(args.requests // 2):
        kinds = (national(rng.randrange(args.numbers)), f"+44791112{rng.randrange(10**4):04d}", rng.choice(held))
        number = kinds[i % 3]
        wall, cpu = time.perf_counter(), time.thread_time()
        response = client.get("/p/dialler/screen", {"number": number})
        cpus.append((time.thread_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        assert response.status_code == 200, response.status_code
    print(f"in-process (test client, no HTTP): {len(walls):,} checks, wall p50 {pct(walls, 50):.2f} ms,"
          f" p95 {pct(walls, 95):.2f} ms, p99 {pct(walls, 99):.2f} ms; Python CPU p50 {pct(cpus, 50):.2f} ms,"
          f" p95 {pct(cpus, 95):.2f} ms (load average {os.getloadavg()[0]:.1f})")  # fmt: skip


def main() -> int:
    args = parse_args()
    configure(args)
    from customers.models import Channel, Customer, Purpose, TpsFile
    from customers.services.dialler import dialler_token_create
    from customers.services.preferences import preference_record
    from customers.services.tps import listed_count
    from privacy_portal.models import User

    print(f"{platform.node()} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · {args.numbers:,} numbers")
    dpo = benchlib.staff_user("bench_tps_dpo", User.Role.DPO)
    failures: list[str] = []
    reused = args.reuse and TpsFile.objects.exists() and listed_count("tps") == args.numbers
    if reused:
        print(f"reusing the registers loaded before: {listed_count('tps'):,} TPS numbers", flush=True)
    else:
        load(args, dpo, failures)
    # Customers holding some listed and some unlisted numbers, half opted in to calls.
    rng = random.Random(16)
    held = []
    for i in range(200):
        listed = i % 2 == 0
        number = national(rng.randrange(args.numbers)) if listed else f"07{rng.randrange(10**9):09d}"
        customer = Customer.objects.create(first_name="Bench", last_name=f"Dial{i}", phone="+44" + number[1:])
        if i % 4 < 2:
            preference_record(actor=dpo, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.PHONE,
                              granted=True, source="phone_call")  # fmt: skip
        held.append(customer.phone)
    _, token = dialler_token_create(actor=dpo, name=f"bench-{os.getpid()}")

    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_gunicorn(args.workers, port)
    times: list[float] = []
    try:
        for i in range(args.requests):
            kind = i % 3
            if kind == 0:
                number, expect = national(rng.randrange(args.numbers)), False  # listed (first file): blocked
            elif kind == 1:
                number, expect = f"+44791112{rng.randrange(10**4):04d}", None  # probably unlisted
            else:
                number, expect = rng.choice(held), None
            query = urllib.parse.urlencode({"number": number})
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # a loaded machine is slow, not broken
            start = time.perf_counter()
            conn.request("GET", f"/p/dialler/screen?{query}", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
            times.append((time.perf_counter() - start) * 1000)
            conn.close()
            if response.status != 200:
                failures.append(f"{number}: HTTP {response.status}")
                continue
            answer = json.loads(body)
            if expect is not None and answer["allowed"] is not expect:
                failures.append(f"{number}: allowed={answer['allowed']}, expected {expect}")
            if kind == 0 and answer["reasons"][0]["code"] != "tps_listed":
                failures.append(f"{number}: first reason {answer['reasons'][0]['code']}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    p50, p95, p99 = pct(times, 50), pct(times, 95), pct(times, 99)
    print(f"pre-dial check at {args.numbers:,} listed: {len(times):,} requests, p50 {p50:.2f} ms, p95 {p95:.2f} ms,"
          f" p99 {p99:.2f} ms ({args.workers} gunicorn workers; load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    in_process(args, rng, held, token)
    if not args.smoke and p95 > TARGET_P95_MS:
        failures.append(f"p95 {p95:.1f} ms over the {TARGET_P95_MS} ms target")
    for failure in failures[:20]:
        print("FAIL:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
