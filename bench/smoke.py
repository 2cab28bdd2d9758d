"""Run every benchmark in bench/ at its --smoke size (tiny data, seconds each); exit non-zero if any fails.

    .venv/bin/python bench/smoke.py            # what `make bench-smoke` (and so `make test`) runs
    .venv/bin/python bench/smoke.py search_bench load_bench   # some of them

A bench that nothing runs rots (issue 11: `make bench` failed for weeks). Each bench is run as its
own process, as a developer would run it, with `--smoke`. They share one migrated template database
(kept between runs, migrated here), which each copies into a database of its own, dropped at the end.
The template is named after the migrations it was migrated with (a digest of every migration file
and of the requirements, which pin the libraries' own migrations): several checkouts share this
machine's PostgreSQL, and a template migrated by another branch (a column this one does not fill)
broke every bench that copied it. Under the run's lock, the templates of older migrations beyond
the newest few are dropped, and so is every smoke database an interrupted run left behind.
Every `*_bench.py` in this directory is included, so a new bench is smoke-run without a change here.
They run as many at a time as the machine has cores (`BENCH_SMOKE_JOBS` to choose): each is one
Python process and its database, so two at a time on two cores take about half the time. A bench's
output is printed whole when it ends, so the log reads one bench at a time.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import benchlib

HERE = Path(__file__).resolve().parent
TIMEOUT_SECONDS = 300  # per bench; a smoke run takes seconds


def benches(names: list[str]) -> list[Path]:
    found = sorted(HERE.glob("*_bench.py"))
    if names:
        found = [p for p in found if p.stem in names or p.name in names]
    return found


def _run(script: Path, env: dict[str, str]) -> tuple[str, int | str, str, float]:
    """One bench at its smoke size, as its own process: (name, exit code or "timeout", output, seconds)."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--smoke"],
            env=env,
            cwd=benchlib.ROOT,
            timeout=TIMEOUT_SECONDS,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        code: int | str = done.returncode
        output = done.stdout
    except subprocess.TimeoutExpired as exc:
        code = "timeout"
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    return script.name, code, output, time.perf_counter() - started


SMOKE_LOCK = 11_0000_11  # pg_advisory_lock key: one smoke run at a time migrates and copies the template
TEMPLATES_KEPT = 3  # the newest smoke templates kept (this one and two others: branches switched back)


def migrations_digest() -> str:
    """What the template's schema depends on: every migration file of the project's apps and the
    requirements (the installed libraries' migrations: simple-history, guardian, axes, Django)."""
    digest = hashlib.sha256()
    files = sorted(benchlib.ROOT.glob("*/migrations/*.py")) + sorted(benchlib.ROOT.glob("requirements*.txt"))
    for path in files:
        digest.update(path.relative_to(benchlib.ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_leftovers(conn, template: str, template_prefix: str, run: str) -> None:
    """With the smoke lock held (no other smoke run is going): drop the smoke databases of runs
    that ended without dropping theirs (killed, or the machine handed on mid-run: the run's id is
    its process id, and that process is gone), and the templates of other migrations beyond the
    newest TEMPLATES_KEPT. A database someone is connected to is left alone."""
    rows = conn.execute(
        "SELECT datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) FROM pg_database d "
        "WHERE datname LIKE '%\\_smoke\\_%' ORDER BY oid DESC"
    ).fetchall()
    templates = [name for name, _ in rows if name.startswith(template_prefix) and name != template]
    stale = set(templates[TEMPLATES_KEPT - 1 :])
    for name, connected in rows:
        run_id = re.fullmatch(r".*_smoke_(\d+)", name)
        leftover = run_id is not None and run_id.group(1) != run and not _alive(int(run_id.group(1)))
        if (leftover or name in stale) and not connected:
            print(f"Dropping {name} (left by an earlier run).", flush=True)
            benchlib.drop_database(name)


def main() -> int:
    import psycopg

    run = f"{os.getpid()}"
    # Kept between runs (migrating it is a no-op when nothing changed; from scratch it takes minutes).
    template_prefix = f"{benchlib.scratch_name('pp_bench')}_smoke_template"
    template = f"{template_prefix}_{migrations_digest()}"
    env = os.environ | {benchlib.SMOKE_RUN_ENV: run, benchlib.SMOKE_TEMPLATE_ENV: template}
    # Nothing in a smoke run is a production setting: no lockout of the benches' sign-ins, a scratch store.
    env.setdefault("PRIVATE_STORAGE_ROOT", f"/tmp/pp-bench-smoke-{run}")
    env.setdefault("AXES_ENABLED", "false")
    scripts = benches(sys.argv[1:])
    failed: list[str] = []
    lock = psycopg.connect(f"{benchlib.SERVER}/postgres", autocommit=True)
    try:
        started = time.perf_counter()
        # Another run on this server (a second `make test`) waits here rather than copying a
        # template that is being migrated.
        lock.execute("SELECT pg_advisory_lock(%s)", [SMOKE_LOCK])
        drop_leftovers(lock, template, template_prefix, run)
        benchlib.ensure_database(f"{benchlib.SERVER}/{template}")
        migrate = subprocess.run(
            [sys.executable, str(benchlib.ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env=env | {"DATABASE_URL": f"{benchlib.SERVER}/{template}"},
            cwd=benchlib.ROOT,
        )
        if migrate.returncode:
            print("FAILED: could not migrate the smoke template database", file=sys.stderr)
            return 1
        print(f"Template {template} migrated in {time.perf_counter() - started:.0f} s.", flush=True)
        jobs = int(os.environ.get("BENCH_SMOKE_JOBS") or os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for name, code, output, seconds in pool.map(lambda script: _run(script, env), scripts):
                print(f"\n=== {name} --smoke\n{output}", end="", flush=True)
                print(f"=== {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {seconds:.0f} s", flush=True)
                if code != 0:
                    failed.append(name)
    finally:
        pattern = f"%\\_smoke\\_{run}"
        names = [r[0] for r in lock.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern])]
        for name in names:
            benchlib.drop_database(name)
        lock.close()  # and with it the advisory lock
    if failed:
        print(f"\nBench smoke FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nBench smoke: all {len(scripts)} benches ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
