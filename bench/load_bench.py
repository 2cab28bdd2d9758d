"""Load: 1, 8 and 32 agents signed in through the real sign-in page, against gunicorn (4 workers).

    .venv/bin/python bench/load_bench.py [--agents 1,8,32] [--duration 60] [--customers 20000]
    .venv/bin/python bench/load_bench.py --smoke      # seconds: tiny data, 1 and 2 agents

It uses its own scratch database (``pp_bench_load``; a smoke run its own, see bench/benchlib.py),
migrates it and tops it up with `seed_scale`, creates one approved agent
account per simultaneous agent, and starts `gunicorn privacy_portal.wsgi --workers 4` on
127.0.0.1:--port as production runs it (DEBUG off, persistent connections). No Celery worker is
started: nothing on the agent's journey is background work (the access log is written in the
request).

First the floor: one signed-in agent requests the empty search page (a page that does nothing
but check the session and permissions) and the customer page, sequentially, through gunicorn
(milliseconds) and in-process (SQL statements per request).

Then, for each number of agents, every agent signs in through the real page (GET the form,
POST the password) and loops over the desk journey for --duration seconds: search by a name,
open a customer from the results, open the preference form, record a preference (POST, answered
by a redirect). Reported per level: requests and journeys per second, p50/p95/p99 of every
request, and errors (any answer other than the expected one, or no answer). At the end
`verify_audit_log` walks the access log's hash chain; the run fails if it is broken, if any
request failed, or (with --smoke) if a level served nothing.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import redirect_stdout
from dataclasses import dataclass, field

import benchlib

PASSWORD = "bench-load-password-1"  # a scratch database's throwaway accounts
PREFERENCES = ("direct_marketing:post", "direct_marketing:email", "direct_marketing:phone", "direct_marketing:sms")
RESULT_LINK = re.compile(rb'href="/customers/(\d+)/"')
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="1,8,32", help="comma-separated numbers of simultaneous agents")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level")
    parser.add_argument("--customers", type=int, default=20_000, help="customers the database must hold")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=18310)
    parser.add_argument("--floor-samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--smoke", action="store_true", help="tiny and quick: 1 and 2 agents, 2 s each, 2 workers")
    args = parser.parse_args()
    if args.smoke:
        args.agents, args.duration, args.customers, args.floor_samples = "1,2", 2.0, 200, 5
        args.workers = 2  # as many as agents: each worker starts Django (seconds of CPU on 2 cores)
        args.port = free_port()  # another run may be using the default
    args.levels = [int(n) for n in args.agents.split(",")]
    return args


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure(args: argparse.Namespace) -> str:
    if args.smoke:
        url = benchlib.smoke_database("pp_bench_load")
    else:
        url = os.environ.get("BENCH_DATABASE_URL") or benchlib.scratch_url("pp_bench_load")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    os.environ["CELERY_BROKER_URL"] = ""  # nothing on the journey is background work
    os.environ.setdefault("PORTAL_REQUIRE_MFA", "false")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at:UserWarning")  # no collectstatic here
    benchlib.add_root_to_path()
    return url


def prepare(args: argparse.Namespace) -> list[tuple[int, str]]:
    """Migrate, top up the customers, create the agents; return (id, surname) search targets."""
    from django.core.management import call_command

    from customers.models import Customer
    from privacy_portal.models import User

    call_command("migrate", interactive=False, verbosity=0)
    have = Customer.objects.count()
    if have < args.customers:
        print(f"{have:,} customers; seeding {args.customers - have:,} more...", flush=True)
        with redirect_stdout(io.StringIO()):
            call_command("seed_scale", customers=args.customers - have, seed=args.seed)
    for i in range(1, max(args.levels) + 1):
        benchlib.staff_user(f"bench_load_agent_{i:02d}", User.Role.AGENT, password=PASSWORD)
    rng = random.Random(args.seed)
    ids = list(Customer.objects.filter(erased_at=None).values_list("pk", flat=True)[:50_000])
    picks = Customer.objects.filter(pk__in=rng.sample(ids, min(500, len(ids))))
    return [(c.pk, f"{c.first_name} {c.last_name}") for c in picks.only("pk", "first_name", "last_name")]


# --- HTTP, as a browser would: cookies, CSRF token, redirects not followed (each request timed) ---


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, bytes, float]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                status, content = response.status, response.read()
        except urllib.error.HTTPError as exc:  # 3xx (not followed) and 4xx/5xx
            status, content = exc.code, exc.read()
        return status, content, (time.perf_counter() - started) * 1000

    def csrf(self, content: bytes) -> str:
        found = CSRF_FIELD.search(content)
        if not found:
            raise RuntimeError("no CSRF token on the page")
        return found.group(1).decode()

    def sign_in(self, username: str) -> float:
        started = time.perf_counter()
        status, content, _ = self.request("/accounts/login/")
        if status != 200:
            raise RuntimeError(f"sign-in page answered {status}")
        data = {"csrfmiddlewaretoken": self.csrf(content), "username": username, "password": PASSWORD}
        status, _, _ = self.request("/accounts/login/", data)
        if status != 302:
            raise RuntimeError(f"sign-in of {username} answered {status}, not a redirect")
        return (time.perf_counter() - started) * 1000


@dataclass
class Level:
    agents: int
    times: dict[str, list[float]] = field(default_factory=dict)
    sign_in_ms: list[float] = field(default_factory=list)
    journeys: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: str, ms: float) -> None:
        with self.lock:
            self.times.setdefault(step, []).append(ms)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    @property
    def all_times(self) -> list[float]:
        return [t for times in self.times.values() for t in times]


def journey(browser: Browser, level: Level, target: tuple[int, str], rng: random.Random) -> None:
    """Search by name -> open the customer -> open the preference form -> record a preference."""
    customer_id, name = target
    status, content, ms = browser.request("/customers/?" + urllib.parse.urlencode({"q": name}))
    level.add("search", ms)
    if status != 200:
        return level.error(f"search answered {status}")
    found = [int(pk) for pk in RESULT_LINK.findall(content)]
    if not found:
        return level.error("search listed nobody")
    # A common name fills a page before the one picked: open the first listed, as an agent would.
    customer_id = customer_id if customer_id in found else found[0]
    status, _, ms = browser.request(f"/customers/{customer_id}/")
    level.add("customer page", ms)
    if status != 200:
        return level.error(f"customer page answered {status}")
    status, content, ms = browser.request(f"/customers/{customer_id}/preferences/")
    level.add("preference form", ms)
    if status != 200:
        return level.error(f"preference form answered {status}")
    data = {
        "csrfmiddlewaretoken": browser.csrf(content),
        "preference": rng.choice(PREFERENCES),
        "action": rng.choice(("opt_out", "opt_in")),
        "source": "phone_call",
        "received_at": time.strftime("%d/%m/%Y %H:%M"),
        "evidence": "load bench",
    }
    status, _, ms = browser.request(f"/customers/{customer_id}/preferences/", data)
    level.add("record preference", ms)
    if status != 302:
        return level.error(f"recording a preference answered {status}")
    with level.lock:
        level.journeys += 1


def run_level(base: str, agents: int, duration: float, targets: list[tuple[int, str]], seed: int) -> Level:
    level = Level(agents)
    browsers = [Browser(base) for _ in range(agents)]
    for i, browser in enumerate(browsers, start=1):
        level.sign_in_ms.append(browser.sign_in(f"bench_load_agent_{i:02d}"))
    stop = threading.Event()

    def agent(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        while not stop.is_set():
            try:
                journey(browsers[n], level, rng.choice(targets), rng)
            except Exception as exc:  # a refused connection, a timeout: an error, and go on
                level.error(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=agent, args=(n,), daemon=True) for n in range(agents)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    level.seconds = time.perf_counter() - started
    return level


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# --- the floor ---


def floor_statements(target_id: int) -> dict[str, int]:
    """SQL statements of the empty search page and the customer page (second request, warm)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    signed_in = client.post("/accounts/login/", {"username": "bench_load_agent_01", "password": PASSWORD})
    if signed_in.status_code != 302:
        raise RuntimeError(f"the bench agent cannot sign in ({signed_in.status_code})")
    counts = {}
    for label, path in (("empty search page", "/customers/"), ("customer page", f"/customers/{target_id}/")):
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        if status != 200:
            raise RuntimeError(f"{path} answered {status} in-process")
        counts[label] = len(queries)
    return counts


def floor_times(base: str, samples: int, target_id: int) -> dict[str, list[float]]:
    browser = Browser(base)
    browser.sign_in("bench_load_agent_01")
    times: dict[str, list[float]] = {}
    for label, path in (("empty search page", "/customers/"), ("customer page", f"/customers/{target_id}/")):
        for i in range(samples + 5):
            status, _, ms = browser.request(path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            if i >= 5:  # the first few warm each worker
                times.setdefault(label, []).append(ms)
    return times


# --- the server ---


def start_gunicorn(args: argparse.Namespace) -> subprocess.Popen:
    gunicorn = benchlib.ROOT / ".venv" / "bin" / "gunicorn"
    command = [str(gunicorn), "privacy_portal.wsgi", "--workers", str(args.workers)]
    command += ["--bind", f"127.0.0.1:{args.port}", "--log-level", "warning", "--timeout", "120"]
    server = subprocess.Popen(command, cwd=benchlib.ROOT, env=os.environ.copy())
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} (is port {args.port} free?)")
        try:
            with urllib.request.urlopen(base + "/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    stop_gunicorn(server)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def verify_audit_log() -> tuple[bool, str]:
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    try:
        call_command("verify_audit_log", stdout=out)
    except CommandError as exc:
        return False, str(exc)
    return True, out.getvalue().strip()


def main() -> int:
    args = parse_args()
    url = configure(args)
    benchlib.ensure_database(url)
    import django

    django.setup()
    from django.db import connection

    print(f"Database {url.rsplit('/', 1)[1]}; {args.workers} gunicorn workers on port {args.port}.", flush=True)
    targets = prepare(args)
    statements = floor_statements(targets[0][0])
    connection.close()
    load = os.getloadavg()
    print(f"Load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)", flush=True)

    server = start_gunicorn(args)
    failures: list[str] = []
    try:
        base = f"http://127.0.0.1:{args.port}"
        print("\nFloor (one agent, sequential, through gunicorn):")
        print("| page | p50 ms | p95 ms | SQL statements |\n| --- | ---: | ---: | ---: |")
        for label, times in floor_times(base, args.floor_samples, targets[0][0]).items():
            print(f"| {label} | {pct(times, 50):.1f} | {pct(times, 95):.1f} | {statements[label]} |", flush=True)

        print(f"\nLoad ({args.duration:.0f} s per level; search -> customer -> preference form -> record):")
        print("| agents | requests/s | journeys/s | p50 ms | p95 ms | p99 ms | errors | sign-in p50 ms |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        levels = []
        for agents in args.levels:
            level = run_level(base, agents, args.duration, targets, args.seed)
            levels.append(level)
            times = level.all_times
            print(
                f"| {agents} | {len(times) / level.seconds:.1f} | {level.journeys / level.seconds:.1f} "
                f"| {pct(times, 50):.1f} | {pct(times, 95):.1f} | {pct(times, 99):.1f} | {len(level.errors)} "
                f"| {pct(level.sign_in_ms, 50):.0f} |",
                flush=True,
            )
            if level.errors:
                kinds = sorted({e: level.errors.count(e) for e in level.errors}.items(), key=lambda kv: -kv[1])
                failures.append(f"{agents} agents: {len(level.errors)} errors: {kinds[:3]}")
            if not level.journeys:
                failures.append(f"{agents} agents: no journey completed")
        print("\nPer step, at the highest level (p50 / p95 ms):")
        for step, times in levels[-1].times.items():
            print(f"  {step:<18} {pct(times, 50):7.1f} / {pct(times, 95):7.1f}  ({len(times)} requests)")
    finally:
        stop_gunicorn(server)

    intact, message = verify_audit_log()
    print(f"\nverify_audit_log: {message}")
    if not intact:
        failures.append("the access log's chain is broken")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
