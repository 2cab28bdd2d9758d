"""The MPS Personal file matched against customers' current and former addresses (issue 16).

    .venv/bin/python bench/mps_bench.py                 # 1,000,000 customers, a file of 20,000 records
    .venv/bin/python bench/mps_bench.py --smoke         # 2,000 customers, 40 records, a few seconds

It uses its own scratch database (benchlib: pp_mps_bench), seeded with matching_bench's SQL
(customers and their creation in the history), and gives --former-share of them a former address
(a history row with another first line and postcode, as a move through the service leaves one).
The file holds --records lines: a quarter deceased records on a customer's former address, a
quarter deceased on the current one, a quarter removals on the current one, and a quarter nobody
holds. It times `customers.services.mps.matches` (the reads: the file's postcodes on the live rows
and the history) and counts its statements, then checks every expected match was found and none
other. The whole load (`mps_load`: writing the matches and each bereavement's withdrawals) is timed
in a transaction rolled back, so the bench can be run again on the same data.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import benchlib
import matching_bench

MAX_STATEMENTS = 3  # whatever the file's size (tests/customers/test_mps.py asserts the same)


def parse_args() -> argparse.Namespace:
    parser = benchlib.argument_parser(__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--former-share", type=float, default=0.05, help="Customers given a former address.")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="Times matches() is timed (the first may be cold).")
    parser.add_argument("--no-load", action="store_true", help="Time the matching only, not the whole mps_load.")
    parser.add_argument("--smoke", action="store_true", help="2,000 customers, 40 records: a few seconds.")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.records = 2_000, 40  # the load writes each bereavement: keep it to seconds
    return args


def configure(args) -> None:
    benchlib.django_setup("pp_mps_bench", smoke=args.smoke)


FORMER_LINE = "Old Road"


def top_up(args) -> None:
    """Seed to --customers, then give --former-share of them a former address: one history row
    each, older than the current one, with '<id> Old Road' in the postcode 'OL<n> <n>AA'."""
    matching_bench.seed_customers(args.customers)
    matching_bench.add_former_versions(
        marker="address_line1",
        marker_like=f"% {FORMER_LINE}",
        former={
            "address_line1": f"h.id || ' {FORMER_LINE}'",
            "postcode": "'OL' || (1 + h.id %% 9) || ' ' || ((h.id / 9) %% 10) || 'AA'",
            "history_date": "h.history_date - interval '3 years'",
            "history_type": "'~'",
            "history_change_reason": "'Moved (bench: a former address)'",
        },
        share=args.former_share,
        what="a former address",
    )


def record(flag: str, forename: str, surname: str, line1: str, postcode: str) -> str:
    from customers.services.mps import LAYOUT, RECORD_LENGTH

    values = {"flag": flag, "request_date": "01112026", "forename": forename, "surname": surname,
              "address_line1": line1, "town": "Town", "postcode": postcode}  # fmt: skip
    out = [" "] * RECORD_LENGTH
    for name, start, end in LAYOUT:
        out[start - 1 : end] = values.get(name, "").ljust(end - start + 1)[: end - start + 1]
    return "".join(out)


def build_file(args, rng: random.Random) -> tuple[str, dict[int, str]]:
    """The file's text and {customer id: flag} of the matches it must give."""
    from django.db.models import Max

    from customers.models import Customer

    top = Customer.objects.aggregate(m=Max("pk"))["m"]
    step = max(1, round(1 / args.former_share))
    quarter = args.records // 4
    moved = rng.sample(range(step, top + 1, step), min(quarter, top // step))
    others = rng.sample([i for i in range(1, top + 1) if i % step], 2 * quarter)
    lines, expected = [], {}
    for version in Customer.history.filter(id__in=moved, address_line1__endswith=FORMER_LINE).values(
        "id", "first_name", "last_name", "address_line1", "postcode"
    ):
        lines.append(record("X", version["first_name"][0], version["last_name"], version["address_line1"],
                            version["postcode"]))  # fmt: skip
        expected[version["id"]] = "X"
    for i, customer in enumerate(Customer.objects.filter(pk__in=others)):
        flag = "X" if i % 2 else "P"
        lines.append(record(flag, customer.first_name, customer.last_name, customer.address_line1.replace(
            "Street", "St"), customer.postcode))  # fmt: skip
        expected[customer.pk] = flag
    for i in range(args.records - len(lines)):
        lines.append(record("P", "Nobody", f"Unknown{i}", f"{i} Nowhere Lane", "ZZ9 9ZZ"))
    rng.shuffle(lines)
    return "\r\n".join(lines) + "\r\n", expected


def main() -> int:
    args = parse_args()
    configure(args)
    import io

    from django.db import connection, reset_queries, transaction
    from django.test.utils import CaptureQueriesContext

    from customers.models import Customer
    from customers.services.mps import matches, mps_load, parse_fixed
    from privacy_portal.models import User

    top_up(args)
    rng = random.Random(args.seed)
    text, expected = build_file(args, rng)
    print(
        f"{benchlib.machine()} · "
        f"{Customer.objects.count():,} customers · {Customer.history.count():,} history rows · "
        f"{args.records:,} records, {len(expected):,} to match",
        flush=True,
    )
    records = parse_fixed(text)
    reset_queries()
    times = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            pairs = matches(records)
        times.append(time.perf_counter() - started)
    got = {customer.pk: record.flag for record, customer, _ in pairs}
    former = sum(version is not None for _, _, version in pairs)
    wrong = {pk for pk in set(got) | set(expected) if got.get(pk) != expected.get(pk)}
    shown = ", ".join(f"{t * 1000:,.0f}" for t in times)
    print(f"matches: {shown} ms ({len(times)} runs), {len(queries)} statements, {len(pairs):,} matches "
          f"({former:,} on a former address), {len(wrong)} wrong")  # fmt: skip
    if args.no_load:
        return 1 if wrong or len(queries) > MAX_STATEMENTS else 0
    dpo = benchlib.staff_user("bench_mps_dpo", User.Role.DPO)
    started = time.perf_counter()
    with transaction.atomic():
        loaded = mps_load(actor=dpo, file=io.BytesIO(text.encode()), name="bench.txt")
        load_s = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"mps_load (rolled back): {load_s:,.1f} s, {loaded.matched:,} matched, {loaded.deceased:,} deceased records")
    benchlib.print_load_at_end()
    if wrong or len(queries) > MAX_STATEMENTS:
        print(f"WRONG: {len(wrong)} customers matched wrongly, {len(queries)} statements (at most {MAX_STATEMENTS})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
