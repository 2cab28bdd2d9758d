"""The candidate matches of a request from the public form at scale (issue 15): how long
`customers.selectors.customers.customers_matching` takes to find the customers a requester may be, by any
identifier ever held (the current row and every version in the history), at a million customers.

    .venv/bin/python bench/matching_bench.py                 # 1,000,000 customers (seeded once, then reused)
    .venv/bin/python bench/matching_bench.py --smoke         # 2,000 customers, a few seconds

It uses its own scratch database (benchlib: pp_matching_bench), migrates it, tops it up to
--customers (customers and their history by SQL: nothing else is read here), and gives
--former-share of them a former email and phone (a
history row holding the old values, as an address change through the service leaves one), so a
former identifier is found only through the history. For each kind of detail a requester types
(the current email; a former email; the phone as typed with spaces; the full name and postcode;
the full name alone; the account reference; an email nobody has), it times --samples calls of
customers_matching on terms drawn from random customers, and checks the customer is among the
matches (the unknown email: that nothing is). Target: p95 under 100 ms for every kind.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import benchlib

TARGET_P95_MS = 100.0


def parse_args() -> argparse.Namespace:
    parser = benchlib.argument_parser(__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--former-share", type=float, default=0.05, help="Customers given a former email and phone.")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="2,000 customers, 20 samples: a few seconds.")
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a target is missed.")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.samples = 2_000, 20
    return args


def configure(args) -> str:
    return benchlib.django_setup("pp_matching_bench", smoke=args.smoke, defaults={"DATABASE_CONN_MAX_AGE": "60"})


FORMER_DOMAIN = "former.example.net"


FIRST = (
    "Ann",
    "John",
    "Mary",
    "David",
    "Susan",
    "Peter",
    "Margaret",
    "Michael",
    "Linda",
    "James",
    "Sarah",
    "Robert",
    "Helen",
    "Paul",
    "Janet",
    "Mark",
    "Carol",
    "Andrew",
    "Karen",
    "Stephen",
    "Patricia",
    "Richard",
    "Jean",
    "Alan",
)
SURNAMES = 5_000  # surnames "Surname0".."Surname4999": the commonest is about 0.1% of customers, as Smith is ~1%


def seed_sql(cursor, first_id: int, last_id: int) -> None:
    """Customers first_id..last_id in one statement, with their creation in the history: the only
    tables the matching reads (seed_scale adds preferences, calls and purchases too, at ~400 a
    second on this shared machine: 40 minutes for a million)."""
    first = "ARRAY[" + ", ".join(f"'{n}'" for n in FIRST) + "]"
    cursor.execute(
        f"""
        INSERT INTO customers_customer (id, title, first_name, last_name, email, phone, address_line1, address_line2,
            town, county, postcode, account_opened_on, created_at, updated_at, processing_restricted,
            marketing_objected, version)
        SELECT i, '', ({first})[1 + (i::bigint * 7919) %% {len(FIRST)}],
            'Surname' || ((i::bigint * 104729) %% {SURNAMES}),
            'c' || i || '@example.com',
            '+447' || lpad(((i::bigint * 2654435761) %% 1000000000)::text, 9, '0'),
            i || ' High Street', '', 'Town', '',
            chr(65 + i %% 26) || chr(65 + (i / 26) %% 26) || (1 + i %% 9) || ' ' || ((i / 7) %% 10)
                || chr(65 + (i / 13) %% 26) || chr(65 + (i / 17) %% 26),
            date '2015-01-01' + (i %% 3000), now(), now(), false, false, 1
        FROM generate_series(%s, %s) AS i
        """,
        [first_id, last_id],
    )
    cursor.execute(
        """
        INSERT INTO customers_historicalcustomer (id, title, first_name, last_name, email, phone, address_line1,
            address_line2, town, county, postcode, date_of_birth, account_opened_on, last_order_on, created_at,
            processing_restricted, restricted_at, marketing_objected, objected_at, erased_at, version,
            email_bounced_at, history_date, history_change_reason, history_type, history_user_id)
        SELECT id, title, first_name, last_name, email, phone, address_line1, address_line2, town, county, postcode,
            date_of_birth, account_opened_on, last_order_on, created_at, processing_restricted, restricted_at,
            marketing_objected, objected_at, erased_at, version, email_bounced_at, created_at,
            'Created (bench)', '+', NULL
        FROM customers_customer WHERE id BETWEEN %s AND %s
        """,
        [first_id, last_id],
    )


def seed_customers(total: int) -> None:
    """Seed customers (seed_sql) up to id `total`, in steps of 200,000, and set the id sequence after them."""
    from django.db import connection, transaction
    from django.db.models import Max

    from customers.models import Customer

    have = Customer.objects.aggregate(m=Max("pk"))["m"] or 0
    if have >= total:
        return
    started = time.perf_counter()
    step = 200_000
    for first_id in range(have + 1, total + 1, step):
        with transaction.atomic(), connection.cursor() as cursor:
            seed_sql(cursor, first_id, min(total, first_id + step - 1))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
            "(SELECT max(id) FROM customers_customer))"
        )
    print(f"seeded {total - have:,} customers in {time.perf_counter() - started:.0f} s", flush=True)


def add_former_versions(*, marker: str, marker_like: str, former: dict[str, str], share: float, what: str) -> None:
    """Give `share` of the customers a former version: one history row each, a copy of its
    creation row with the `former` column expressions (SQL over the creation row `h`), once
    (`marker` LIKE `marker_like` finds one made already)."""
    from django.db import connection

    from customers.models import Customer

    with connection.cursor() as cursor:
        # `marker` is one of our own column names.
        cursor.execute(f"SELECT 1 FROM customers_historicalcustomer WHERE {marker} LIKE %s LIMIT 1", [marker_like])
        if cursor.fetchone():
            return
        started = time.perf_counter()
        columns = [f.column for f in Customer.history.model._meta.concrete_fields if f.column != "history_id"]
        select = ", ".join(former.get(c, f"h.{c}") for c in columns)
        cursor.execute(
            f"INSERT INTO customers_historicalcustomer ({', '.join(columns)}) "  # our own column names
            f"SELECT {select} FROM customers_historicalcustomer h "
            "WHERE h.history_type = '+' AND h.id %% %s = 0",
            [max(1, round(1 / share))],
        )
        print(f"gave {cursor.rowcount:,} customers {what} in {time.perf_counter() - started:.0f} s")
        cursor.execute("ANALYZE customers_historicalcustomer")
        cursor.execute("ANALYZE customers_customer")


def top_up(args) -> None:
    """Seed to --customers, then give --former-share of them a former email and phone: one history
    row each with the old values (the current row keeps the new ones)."""
    seed_customers(args.customers)
    add_former_versions(
        marker="email",
        marker_like=f"%@{FORMER_DOMAIN}",
        former={
            "email": f"'former.' || h.id || '@{FORMER_DOMAIN}'",
            "phone": "'+4479' || lpad((h.id %% 100000000)::text, 8, '0')",
            "history_date": "h.history_date - interval '2 years'",
            "history_type": "'~'",
            "history_change_reason": "'Contact details changed (bench: former identifiers)'",
        },
        share=args.former_share,
        what="a former email and phone",
    )


def terms(args, rng: random.Random) -> dict[str, list[tuple[dict, int | None]]]:
    """For each kind, (details typed, the customer who must be among the matches)."""
    from django.db.models import Max

    from customers.models import Customer

    top = Customer.objects.aggregate(m=Max("pk"))["m"]
    step = max(1, round(1 / args.former_share))
    picked = []
    while len(picked) < args.samples:
        pk = rng.randint(1, top)
        c = Customer.objects.filter(pk=pk, erased_at__isnull=True).exclude(email="").exclude(phone="").first()
        if c is not None:
            picked.append(c)
    former = [c for c in Customer.objects.filter(pk__in=[(c.pk // step) * step or step for c in picked])][
        : args.samples
    ]
    valid_phone = [c for c in picked if _valid_phone(c.phone)]
    kinds: dict[str, list[tuple[dict, int | None]]] = {
        "email (current)": [({"email": c.email}, c.pk) for c in picked],
        "email (former, history only)": [({"email": f"former.{c.pk}@{FORMER_DOMAIN}"}, c.pk) for c in former],
        # Only numbers that are valid (the seed's arithmetic makes some that the one phone rule refuses).
        "phone (typed with spaces)": [({"phone": f"0{c.phone[3:7]} {c.phone[7:]}"}, c.pk) for c in valid_phone],
        "name + postcode": [({"name": f"{c.first_name} {c.last_name}", "postcode": c.postcode}, c.pk) for c in picked],
        "name alone": [({"name": f"{c.first_name} {c.last_name}"}, None) for c in picked],
        "account reference": [({"account_reference": c.reference}, c.pk) for c in picked],
        "email nobody has": [({"email": f"nobody.{i}@nowhere.example"}, -1) for i in range(args.samples)],
    }
    return kinds


def _valid_phone(phone: str) -> bool:
    from django.core.exceptions import ValidationError

    from customers.services.normalise import normalise_phone

    try:
        return phone.startswith("+447") and normalise_phone(phone) == phone
    except ValidationError:
        return False


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    args = parse_args()
    configure(args)
    from customers.models import Customer
    from customers.selectors.customers import customers_matching

    top_up(args)
    rng = random.Random(args.seed)
    history_rows = Customer.history.count()
    print(
        f"{benchlib.machine()} · "
        f"{Customer.objects.count():,} customers · {history_rows:,} history rows · {args.samples} samples per kind",
        flush=True,
    )
    failures = []
    print(f"| {'kind':<30} | n   | p50 ms | p95 ms | max ms | found   | target |")
    print(f"|{'-' * 32}|-----|--------|--------|--------|---------|--------|")
    for kind, cases in terms(args, rng).items():
        customers_matching(**cases[0][0])  # warm
        times, found = [], 0
        for details, expected in cases:
            started = time.perf_counter()
            matches = customers_matching(**details)
            times.append((time.perf_counter() - started) * 1000)
            ids = {m.customer.pk for m in matches}
            if expected is None:
                found += bool(ids)
            elif expected == -1:
                found += not ids
            else:
                found += expected in ids
        p95 = pct(times, 95)
        met = p95 < TARGET_P95_MS
        if not met:
            failures.append(f"{kind}: p95 {p95:.1f} ms")
        # An identifier that matches on its own must always find its customer; a name (with or
        # without the postcode) is reported, as the one match rule decides (party_matches).
        if found != len(cases) and not kind.startswith("name"):
            failures.append(f"{kind}: found {found}/{len(cases)}")
        print(
            f"| {kind:<30} | {len(cases):<3} | {pct(times, 50):6.1f} | {p95:6.1f} | {max(times):6.1f} | "
            f"{found:>3}/{len(cases):<3} | {'met' if met else 'MISSED':<6} |",
            flush=True,
        )
    benchlib.print_load_at_end()
    wrong = [f for f in failures if "found" in f]
    if wrong:  # a wrong answer fails even a smoke run
        print("WRONG: " + "; ".join(wrong))
        return 1
    if failures:
        print("missed: " + "; ".join(failures))
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
