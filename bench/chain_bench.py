"""Access-log appends per second with 1, 2, 4 and 8 writers: the chained design against a plain
insert of the same row (and the old lock-and-read design, for the record).

Not a test (timings on a shared machine): run it by hand, or `--smoke` (seconds) in `make test`.

    .venv/bin/python bench/chain_bench.py [--seconds 10] [--writers 1,2,4,8] [--smoke]

Scratch database: benchlib.scratch_name("chain_bench") (pp_chain_bench), created and migrated if
missing; --smoke uses a copy of bench/smoke.py's migrated template (benchlib.smoke_database).
Each writer is a process with its own connection, writing one entry per transaction (as a
request does) for `--seconds`, through the ORM:

- plain:   the same row into a copy of the access-log table (same columns, defaults and
           indexes, no trigger), with nothing else running: the ceiling.
- chained: AccessEvent.objects.create (what the portal does: an unchained insert), with the
           chainer (audit.chain_pending, the beat task) running every second meanwhile, as it
           would in production every 5 s. After the writers stop it chains the rest and the
           chain must verify intact with nothing pending, or the bench exits non-zero.
- old:     the design before issue 11 (advisory lock and head read in one statement, then the
           insert) into another copy of the table; reports its forks (entries sharing a
           predecessor), which is why it was replaced.

It also times the chainer alone on a backlog (`--backlog` pending entries), i.e. how many
entries per second it can link: it must exceed the write rate, or pending entries would grow.
Exits non-zero on any error or a chain that does not verify; timings are reported, not judged
(the machine is shared), but each line says whether chained is within 2x of plain.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import ensure_database, scratch_url, smoke_database  # noqa: E402

PLAIN_TABLE = "bench_plain_accessevent"
OLD_TABLE = "bench_old_accessevent"
OLD_LOCK_ID = 0x5050_4C4F48  # not the chainer's lock


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="writing time per point")
    parser.add_argument("--writers", default="1,2,4,8", help="writer counts, comma-separated")
    parser.add_argument("--backlog", type=int, default=50_000, help="pending entries for the chainer-alone timing")
    parser.add_argument("--modes", default="plain,chained,old")
    parser.add_argument("--smoke", action="store_true", help="tiny and quick: for make test")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.writers, args.backlog = 0.7, "1,2", 500
    args.writer_counts = [int(w) for w in args.writers.split(",")]
    args.mode_list = args.modes.split(",")
    return args


def setup(smoke: bool) -> None:
    if smoke:
        url = smoke_database("chain_bench")
    else:
        url = scratch_url("chain_bench")
        ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
    os.environ.setdefault("DJANGO_ENV", "local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table in (PLAIN_TABLE, OLD_TABLE):
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (LIKE privacy_portal_accessevent INCLUDING ALL)")


def copy_model(name: str, table: str):
    """An unmanaged model with AccessEvent's fields on `table` (the same INSERT, another table)."""
    from django.db import models

    from privacy_portal.models import AccessEvent

    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "privacy_portal", "db_table": table, "managed": False}),
    }
    for f in AccessEvent._meta.local_fields:
        if f.primary_key:
            continue
        _, _, args, kwargs = f.deconstruct()
        if f.is_relation:
            kwargs["related_name"] = "+"
        attrs[f.name] = type(f)(*args, **kwargs)
    return type(name, (models.Model,), attrs)


def entry_kwargs(user_id: int, writer: int, i: int) -> dict:
    """A realistic entry: mostly an opened customer, every 20th a search returning 20 customers."""
    if i % 20 == 0:
        return dict(user_id=user_id, action="search", search_kind="name", result_ids=list(range(i, i + 20)),
                    ip_address="10.0.0.1")  # fmt: skip
    return dict(user_id=user_id, action="view_customer", customer_id=writer * 1_000_000 + i,
                object_type="customers.Customer", object_id=writer * 1_000_000 + i, ip_address="10.0.0.1")  # fmt: skip


def old_append(model, kwargs: dict) -> None:
    """The pre-issue-11 append: lock and head read in one statement (a snapshot from before the
    lock wait), then hash and insert, all in one transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    from privacy_portal.audit import entry_hash
    from privacy_portal.models import GENESIS_HASH

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s), (SELECT hash FROM {OLD_TABLE} ORDER BY id DESC LIMIT 1)",
                [OLD_LOCK_ID],
            )
            last = cursor.fetchone()[1]
        event = model(**kwargs)
        event.at = timezone.now()
        event.prev_hash = last or GENESIS_HASH
        content = {f.name: getattr(event, f.attname) for f in model._meta.local_fields if f.name != "id"}
        event.hash = entry_hash(event.prev_hash, content)
        event.save()


def writer_process(mode: str, writer: int, user_id: int, seconds: float, start, results) -> None:
    from django.db import connection, connections

    from privacy_portal.models import AccessEvent

    try:
        plain = copy_model("PlainAccessEvent", PLAIN_TABLE)
        old = copy_model("OldAccessEvent", OLD_TABLE)
        connection.ensure_connection()  # connecting is not appending: before the clock starts
        start.wait()
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            kwargs = entry_kwargs(user_id, writer, n)
            if mode == "plain":
                plain.objects.create(**kwargs)
            elif mode == "chained":
                AccessEvent.objects.create(**kwargs)
            else:
                old_append(old, kwargs)
            n += 1
        results.put(("ok", n))
    except BaseException as exc:  # reported by the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connections.close_all()


def chainer_process(stop, results) -> None:
    from django.db import connections

    from privacy_portal.audit import chain_pending

    try:
        chained = 0
        while not stop.is_set():
            chained += chain_pending(wait=False)
            stop.wait(1.0)
        results.put(("chainer", chained))
    except BaseException as exc:
        results.put(("error", f"chainer {type(exc).__name__}: {exc}"))
    finally:
        connections.close_all()


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE privacy_portal_accesseventtext, privacy_portal_accessevent, {PLAIN_TABLE}, {OLD_TABLE} "
            "RESTART IDENTITY CASCADE"
        )


def run_point(mode: str, writers: int, seconds: float, user_id: int) -> dict:
    from django.db import connection, connections

    truncate()
    connections.close_all()
    ctx = mp.get_context("fork")
    start, results, stop = ctx.Barrier(writers + 1), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=writer_process, args=(mode, w, user_id, seconds, start, results)) for w in range(writers)
    ]
    chainer = ctx.Process(target=chainer_process, args=(stop, results)) if mode == "chained" else None
    for p in procs:
        p.start()
    if chainer:
        chainer.start()
    start.wait()
    began = time.perf_counter()
    outcomes = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    point = {"mode": mode, "writers": writers, "errors": [o[1] for o in outcomes if o[0] == "error"]}
    total = sum(o[1] for o in outcomes if o[0] == "ok")
    point["appends"], point["per_s"] = total, total / max(elapsed, seconds)
    if chainer:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM privacy_portal_accessevent WHERE hash IS NULL")
            point["pending_at_stop"] = cursor.fetchone()[0]
        stop.set()
        kind, value = results.get(timeout=120)
        chainer.join()
        if kind == "error":
            point["errors"].append(value)
        else:
            point["chained_meanwhile"] = value
        point.update(check_chain(total))
    if mode == "old":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) - count(DISTINCT prev_hash) FROM {OLD_TABLE}")
            point["forks"] = cursor.fetchone()[0]
    return point


def check_chain(expected: int) -> dict:
    from privacy_portal.audit import chain_pending, verify_chain

    chain_pending()
    report = verify_chain()
    problems = []
    if not report.ok:
        problems.append(f"chain broken in {len(report.breaks)} places: {report.breaks[:3]}")
    if report.pending or report.checked != expected:
        problems.append(f"{report.checked} chained, {report.pending} pending, {expected} written")
    return {"verified": report.ok and not problems, "errors_chain": problems}


def time_chainer(backlog: int, user_id: int) -> dict:
    from privacy_portal.audit import chain_pending
    from privacy_portal.models import AccessEvent

    truncate()
    AccessEvent.objects.bulk_create(
        [AccessEvent(**entry_kwargs(user_id, 0, i)) for i in range(backlog)], batch_size=5000
    )
    began = time.perf_counter()
    chained = chain_pending()
    elapsed = time.perf_counter() - began
    result = {"backlog": backlog, "chained": chained, "per_s": chained / elapsed}
    result.update(check_chain(backlog))
    return result


def main() -> int:
    args = parse_args()
    setup(args.smoke)
    from benchlib import staff_user

    user_id = staff_user("bench_chain_agent", "agent").pk
    print(f"Machine: {platform.node()} ({os.cpu_count()} cores, shared), PostgreSQL scratch database.")
    print(f"{args.seconds:g} s per point; one entry per transaction; writers are processes.\n")
    failures: list[str] = []
    table: dict[int, dict[str, dict]] = {}
    for writers in args.writer_counts:
        for mode in args.mode_list:
            point = run_point(mode, writers, args.seconds, user_id)
            table.setdefault(writers, {})[mode] = point
            extra = ""
            if mode == "chained":
                extra = f"  pending at stop {point['pending_at_stop']}, verified {point['verified']}"
            if mode == "old":
                extra = f"  forks {point['forks']}"
            print(f"{writers} writer(s) {mode:8s} {point['per_s']:8,.0f} appends/s ({point['appends']:,}){extra}")
            failures += [f"{mode}/{writers}: {e}" for e in point["errors"] + point.get("errors_chain", [])]
    print("\nwriters | plain/s | chained/s | chained / plain | old/s | old forks")
    for writers, points in table.items():
        plain, chained, old = (points.get(m, {}).get("per_s") for m in ("plain", "chained", "old"))
        ratio = (
            f"{chained / plain:.2f}{' (within 2x)' if chained >= plain / 2 else ' (NOT within 2x)'}"
            if plain and chained
            else "—"
        )
        forks = points.get("old", {}).get("forks", "—")
        cell = lambda v: f"{v:,.0f}" if v else "—"  # noqa: E731
        print(f"{writers:7d} | {cell(plain):>7} | {cell(chained):>9} | {ratio:>15} | {cell(old):>5} | {forks}")
    chainer = time_chainer(args.backlog, user_id)
    print(f"\nChainer alone: {chainer['chained']:,} pending entries linked at {chainer['per_s']:,.0f} entries/s "
          f"(verified {chainer['verified']}).")  # fmt: skip
    failures += [f"chainer: {e}" for e in chainer["errors_chain"]]
    truncate()
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
        return 1
    print("\nOK: every chained run verified intact with nothing pending.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
