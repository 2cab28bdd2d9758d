"""Scale data for rights requests: cases in every state over three years, in bulk.

For load tests and the queue benchmark, never production. Like customers' seed_scale, rows are
generated in Python and streamed into PostgreSQL with COPY, each with its "+" history row
(reason `SEED_REASON`, no user) copied server-side from the rows just loaded, so the history
tables hold what the model tables hold. The clock is the real one: due dates come from
`recompute_due` (calendar month, working days, England and Wales bank holidays).

The shape of a year of requests at a mail-order business:

- requests arrive evenly over `SPREAD_DAYS`, mostly for access, then erasure and objection;
- each takes a number of days to answer (most well inside the month, a few late, extended
  ones up to three months); a case whose answer lies in the future is still open, so the
  open cases are the recent ones, with a few overdue;
- a quarter wait for identity first (the clock starts when it arrives), some stop the clock
  for a clarification (with their ClockStop row), a few are extended, refused or withdrawn;
- handlers hold object permissions on their cases exactly as `grant_case` and the release on
  closing leave them: view and work on open cases and their customers, view on closed ones.

Completed erasures point at no customer (the person was erased; the case is what remains).
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.roles import group_name
from privacy_portal.tracked import save_tracked
from requests.models import Case, CaseUserObjectPermission, ClockStop, ReferenceCounter
from requests.services.cases import recompute_due
from requests.services.grants import CASE_PERMS, CUSTOMER_PERMS

SEED_REASON = "seed_scale_cases"
DEFAULT_BATCH_SIZE = 20_000
SPREAD_DAYS = 3 * 365
SCALE_HANDLERS = 8
HANDLER_USERNAME = "scale_handler_{:02d}"

ERR_NOT_POSTGRESQL = "seed_scale_cases loads with PostgreSQL COPY and needs a PostgreSQL database (DATABASE_URL)."
ERR_MODEL_CHANGED = "{model} has columns seed_scale_cases does not fill: {columns}. Update demo/scale_cases.py."

S = Case.Status

CASE_COLUMNS = (
    "id", "reference", "right", "channel", "received_on", "letter_id", "customer_id", "requester_name",
    "requester_email", "requester_phone", "requester_address", "acting_for_other", "representative_relationship",
    "authority_note", "description", "status", "identity", "identity_requested_on", "identity_received_on",
    "identity_decided_at", "identity_decided_by_id", "clock_started_on", "stopped_days", "extended",
    "extension_reason", "extension_notified_on", "due_on", "original_due_on", "handler_id", "assigned_at",
    "logged_by_id", "pending_signoff", "signoff_reason", "signoff_requested_by_id", "refusal_ground", "outcome",
    "closed_on", "created_at", "refusal_told_on", "refused_late",
    # Seeded cases are logged by staff, never filed on the public form: both stay NULL.
    "email_verified_at", "possible_repeat_of_id",
)  # fmt: skip
STOP_COLUMNS = ("id", "case_id", "started_on", "ended_on", "question")

RIGHTS = (("access", 55), ("erasure", 15), ("objection", 12), ("rectification", 7), ("portability", 4),
          ("restriction", 4), ("informed", 3))  # fmt: skip
CHANNELS = (("email", 40), ("phone", 25), ("post", 20), ("web_form", 12), ("in_person", 3))
SHARE_WITHOUT_CUSTOMER = 0.08
SHARE_IDENTITY = 0.25
SHARE_CLARIFICATION = 0.05
SHARE_EXTENDED = 0.03
SHARE_REFUSED = 0.04
SHARE_WITHDRAWN = 0.06
SHARE_SIGNOFF_OF_OPEN = 0.06
SHARE_STUCK = 0.0005  # forgotten cases: long overdue
DESCRIPTIONS = {
    "access": "A copy of all the personal data held.",
    "erasure": "Delete my details and close the account.",
    "objection": "No more marketing of any kind.",
    "rectification": "The address on file is wrong.",
    "portability": "My details and orders in a file.",
    "restriction": "Stop using my data while the dispute is looked at.",
    "informed": "How is my data used?",
}
OUTCOMES = {
    "access": "Export sent by recorded delivery.",
    "erasure": "Erasure carried out after DPO sign-off.",
    "objection": "All marketing withdrawn on every channel; identifiers suppressed.",
    "rectification": "Record corrected; recipients told (Art 19).",
    "portability": "Export sent as JSON and CSV.",
    "restriction": "Processing restricted until the dispute is settled.",
    "informed": "Supplementary information sent.",
}
REQUESTER_NAMES = ("A. Requester", "J. Smith", "M. Jones", "S. Taylor", "R. Brown", "K. Williams", "P. Wilson")


@dataclass
class SeedReport:
    cases: int = 0
    history_rows: int = 0
    clock_stops: int = 0
    grants: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def _weighted(pairs) -> tuple[list, list[float]]:
    values, weights, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        weights.append(total)
    return values, weights


def _check_columns() -> None:
    for model, columns in ((Case, CASE_COLUMNS), (ClockStop, STOP_COLUMNS)):
        actual = {f.column for f in model._meta.concrete_fields}
        if actual != set(columns):
            missing = ", ".join(sorted(str(c) for c in actual.symmetric_difference(columns)))
            raise RuntimeError(ERR_MODEL_CHANGED.format(model=model.__name__, columns=missing))


def scale_handlers(count: int = SCALE_HANDLERS) -> list[User]:
    """The handlers the scale cases are assigned to (made once, saved with history)."""
    group = Group.objects.get(name=group_name(User.Role.HANDLER))
    handlers = []
    for n in range(1, count + 1):
        user = User.objects.filter(username=HANDLER_USERNAME.format(n)).first()
        if user is None:
            user = User(username=HANDLER_USERNAME.format(n), role=User.Role.HANDLER, first_name="Scale",
                        last_name=f"Handler {n}", email=f"{HANDLER_USERNAME.format(n)}@example.org")  # fmt: skip
            user.set_unusable_password()
            save_tracked(user, actor=None, reason=SEED_REASON)
            user.groups.add(group)
        handlers.append(user)
    return handlers


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_default_timezone())


class _Generator:
    def __init__(
        self, rng: random.Random, today: datetime.date, customer_ids: list[int], handlers: list[User], days: int
    ):
        self.rng = rng
        self.days = days
        self.today = today
        self.customer_ids = customer_ids
        self.handler_ids = [h.pk for h in handlers]
        self.rights = _weighted(RIGHTS)
        self.channels = _weighted(CHANNELS)

    def case(self, pk: int, reference: str) -> tuple[tuple, list[tuple]]:
        """One case row (in CASE_COLUMNS order) and its clock stops."""
        rng, today = self.rng, self.today
        received = today - datetime.timedelta(days=int(rng.random() * self.days))
        right = rng.choices(self.rights[0], cum_weights=self.rights[1])[0]
        clock = SimpleNamespace(clock_started_on=received, stopped_days=0, extended=False, due_on=None,
                                original_due_on=None)  # fmt: skip
        row = dict.fromkeys(CASE_COLUMNS)
        row.update(
            id=pk, reference=reference, right=right, received_on=received, letter_id=uuid.uuid4(),
            channel=rng.choices(self.channels[0], cum_weights=self.channels[1])[0], requester_name="",
            requester_email="", requester_phone="", requester_address="", acting_for_other=False,
            representative_relationship="", authority_note="", description=DESCRIPTIONS[right], status=S.IN_PROGRESS,
            identity=Case.Identity.NOT_REQUESTED, extension_reason="", pending_signoff="", signoff_reason="",
            refusal_ground="", outcome="", created_at=_at(received, rng.randrange(9, 17)), refused_late=False,
        )  # fmt: skip
        if self.customer_ids and rng.random() > SHARE_WITHOUT_CUSTOMER:
            row["customer_id"] = rng.choice(self.customer_ids)
        else:
            row["requester_name"] = rng.choice(REQUESTER_NAMES)
            row["requester_email"] = f"requester{pk}@example.com"

        # How the case goes: how long it takes to answer, and how it ends.
        roll = rng.random()
        ending = (
            "refused" if roll < SHARE_REFUSED else "withdrawn" if roll < SHARE_REFUSED + SHARE_WITHDRAWN else "done"
        )
        days = rng.triangular(2, 40, 15) if ending == "done" else rng.uniform(1, 30)
        identity_wait = rng.randint(2, 12) if rng.random() < SHARE_IDENTITY else 0
        stop: tuple[int, int] | None = None
        if rng.random() < SHARE_CLARIFICATION:
            pause = (rng.randint(3, 15), rng.randint(2, 20))
            # Only an access request's clock may be stopped (legal.CLOCK_STOP_RIGHTS, Art 12A(5)).
            if right in legal.CLOCK_STOP_RIGHTS:
                stop = pause
                days += stop[1]
        if ending == "done" and rng.random() < SHARE_EXTENDED:
            clock.extended = True
            days = rng.uniform(30, 85)
        days += identity_wait
        if rng.random() < SHARE_STUCK:
            days = self.days * 2  # never answered
        age = (today - received).days
        closes = received + datetime.timedelta(days=int(days))
        is_open = closes > today

        if identity_wait:
            row["identity"] = Case.Identity.REQUESTED
            row["identity_requested_on"] = received + datetime.timedelta(days=1)
            if age >= identity_wait:
                row["identity"] = Case.Identity.VERIFIED
                row["identity_received_on"] = clock.clock_started_on = received + datetime.timedelta(days=identity_wait)
                row["identity_decided_at"] = _at(clock.clock_started_on, 15)
            else:
                clock.clock_started_on = None
        stops: list[tuple] = []
        if stop is not None and clock.clock_started_on is not None:
            started = clock.clock_started_on + datetime.timedelta(days=stop[0])
            ended = started + datetime.timedelta(days=stop[1])
            if started <= today:
                if ended <= today:
                    clock.stopped_days = legal.clock_paused_days(started, ended)
                    stops.append((None, pk, started, ended, "Which period do you mean?"))
                elif is_open:
                    stops.append((None, pk, started, None, "Which period do you mean?"))
                    row["status"] = S.AWAITING_CLARIFICATION
        recompute_due(clock)  # type: ignore[arg-type]  # duck-typed: the clock fields of a Case it reads and sets

        handler = rng.choice(self.handler_ids)
        if not is_open or age > 1 or rng.random() < 0.5:
            row["handler_id"] = handler
            row["assigned_at"] = _at(min(received + datetime.timedelta(days=1), today), 10)
            if row["identity_decided_at"] is not None:
                row["identity_decided_by_id"] = handler
        if clock.extended:
            row["extension_reason"] = "Many years of records and recorded calls to review."
            notified = (clock.clock_started_on or received) + datetime.timedelta(days=20)
            row["extension_notified_on"] = min(notified, today)

        if is_open:
            if row["status"] == S.AWAITING_CLARIFICATION:
                pass
            elif clock.clock_started_on is None:
                row["status"] = S.AWAITING_IDENTITY
            elif row["handler_id"] is None:
                row["status"] = S.RECEIVED
            elif rng.random() < SHARE_SIGNOFF_OF_OPEN:
                row["status"] = S.AWAITING_SIGNOFF
                kind = Case.Signoff.ERASURE if right == "erasure" else Case.Signoff.REFUSAL
                extendable = not clock.extended and clock.original_due_on and clock.original_due_on >= today
                if kind == Case.Signoff.REFUSAL and extendable and rng.random() < 0.5:
                    kind = Case.Signoff.EXTENSION
                row["pending_signoff"] = kind
                row["signoff_reason"] = "Sent for the DPO's decision."
                row["signoff_requested_by_id"] = row["handler_id"]
                if kind == Case.Signoff.REFUSAL:
                    row["refusal_ground"] = Case.RefusalGround.EXCESSIVE
        else:
            row["closed_on"] = closes
            if row["handler_id"] is None:  # every closed case was worked by someone
                row["handler_id"] = handler
                row["assigned_at"] = _at(received, 10)
            if ending == "refused":
                row["status"] = S.REFUSED
                row["refusal_ground"] = rng.choice(Case.RefusalGround.values)
                if row["refusal_ground"] == Case.RefusalGround.IDENTITY and identity_wait:
                    row["identity"] = Case.Identity.REJECTED
                row["outcome"] = "Refused after DPO sign-off; told of the right to complain to the ICO."
                row["refusal_told_on"] = closes
                row["refused_late"] = clock.due_on is not None and closes > clock.due_on
            elif ending == "withdrawn":
                row["status"] = S.WITHDRAWN
                row["outcome"] = "Withdrawn by the requester."
            else:
                row["status"] = S.COMPLETED
                row["outcome"] = OUTCOMES[right]
                if right == "erasure" and row["customer_id"] is not None:
                    row["customer_id"] = None
                    row["requester_name"] = "Former customer (erased)"
        row.update(
            clock_started_on=clock.clock_started_on, stopped_days=clock.stopped_days, extended=clock.extended,
            due_on=clock.due_on, original_due_on=clock.original_due_on,
        )  # fmt: skip
        return tuple(str(v) if isinstance(v, (S, Case.Identity, Case.Signoff, Case.RefusalGround)) else v
                     for v in (row[c] for c in CASE_COLUMNS)), stops  # fmt: skip


def _reserve_ids(cursor, table: str, count: int) -> list[int]:
    if not count:
        return []
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, table: str, columns, rows) -> None:
    quoted = ", ".join(f'"{c}"' for c in columns)  # "right" is a reserved word
    with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_history(cursor, model, ids: list[int]) -> int:
    if not ids:
        return 0
    history = model.history.model
    columns = ", ".join(f'"{f.column}"' for f in history._meta.concrete_fields if not f.column.startswith("history_"))
    cursor.execute(
        f"INSERT INTO {history._meta.db_table} ({columns}, history_date, history_change_reason, history_type, "  # noqa: S608
        f"history_user_id) SELECT {columns}, now(), %s, '+', NULL FROM {model._meta.db_table} WHERE id = ANY(%s)",
        [SEED_REASON, ids],
    )
    return cursor.rowcount


def _references(rows_by_year: Counter) -> dict:
    """Reserve a block of references per year on the same counters the service uses."""
    out = {}
    for year, count in rows_by_year.items():
        counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(prefix="R", year=year)
        first = counter.last + 1
        counter.last += count
        save_tracked(counter, actor=None, reason=SEED_REASON)
        out[year] = iter([f"R-{year}-{n:05d}" for n in range(first, first + count)])
    return out


def _grants(cursor, cases: list[tuple]) -> int:
    """Object permissions as grant_case and the release on closing leave them."""
    perms = {
        f"{p.content_type.app_label}.{p.codename}": p.pk
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[name.split(".")[1] for name in (*CASE_PERMS, *CUSTOMER_PERMS)]
        )
    }
    view_case, work_case = perms["requests.view_case"], perms["requests.work_case"]
    handler_at, customer_at, closed_at = (CASE_COLUMNS.index(c) for c in ("handler_id", "customer_id", "closed_on"))
    case_rows, customer_rows = [], set()
    for row in cases:
        handler = row[handler_at]
        if handler is None:
            continue
        case_rows.append((view_case, handler, row[0]))
        if row[closed_at] is None:
            case_rows.append((work_case, handler, row[0]))
            if row[customer_at] is not None:
                for name in CUSTOMER_PERMS:
                    customer_rows.add((perms[name], handler, str(row[customer_at])))
    _copy(cursor, CaseUserObjectPermission._meta.db_table, ("permission_id", "user_id", "content_object_id"), case_rows)
    if customer_rows:
        content_type = ContentType.objects.get_for_model(Customer).pk
        cursor.execute("CREATE TEMPORARY TABLE seed_grants (permission_id int, user_id bigint, object_pk text) "
                       "ON COMMIT DROP")  # fmt: skip
        _copy(cursor, "seed_grants", ("permission_id", "user_id", "object_pk"), customer_rows)
        cursor.execute(
            "INSERT INTO guardian_userobjectpermission (permission_id, content_type_id, object_pk, user_id) "
            "SELECT permission_id, %s, object_pk, user_id FROM seed_grants "
            "ON CONFLICT (user_id, permission_id, object_pk) DO NOTHING",
            [content_type],
        )
        cursor.execute("DROP TABLE seed_grants")
    return len(case_rows) + len(customer_rows)


def seed_scale_cases(
    *,
    cases: int,
    seed: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    days: int = SPREAD_DAYS,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Add `cases` generated cases received over the last `days` days, for the customers
    already present (with history and grants).

    Each run adds more; each batch is its own transaction. References come from the same
    counters as the service's, so cases logged later never collide with these.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError(ERR_NOT_POSTGRESQL)
    _check_columns()
    started = time.monotonic()
    rng = random.Random(seed)
    customer_ids = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    generator = _Generator(rng, timezone.localdate(), customer_ids, scale_handlers(), days)
    report = SeedReport()
    remaining = cases
    while remaining > 0:
        size = min(batch_size, remaining)
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.connection.cursor()
            ids = _reserve_ids(cursor, Case._meta.db_table, size)
            drafts = [generator.case(pk, "") for pk in ids]
            # References in order of receipt within each year, as the service would have issued them.
            received_at = CASE_COLUMNS.index("received_on")
            order = sorted(range(size), key=lambda i: (drafts[i][0][received_at], ids[i]))
            refs = _references(Counter(drafts[i][0][received_at].year for i in order))
            rows: list[Any] = [None] * size
            stops = []
            for i in order:
                row, case_stops = drafts[i]
                rows[i] = (row[0], next(refs[row[received_at].year]), *row[2:])
                stops.extend(case_stops)
            _copy(cursor, Case._meta.db_table, CASE_COLUMNS, rows)
            report.history_rows += _copy_history(cursor, Case, ids)
            stop_ids = _reserve_ids(cursor, ClockStop._meta.db_table, len(stops))
            stops = [(pk, *stop[1:]) for pk, stop in zip(stop_ids, stops, strict=True)]
            _copy(cursor, ClockStop._meta.db_table, STOP_COLUMNS, stops)
            report.history_rows += _copy_history(cursor, ClockStop, stop_ids)
            report.grants += _grants(cursor, rows)
        report.cases += size
        report.clock_stops += len(stops)
        report.statuses.update(row[CASE_COLUMNS.index("status")] for row in rows)
        remaining -= size
        if progress:
            progress(f"{report.cases:,}/{cases:,} cases; {time.monotonic() - started:.0f}s")
    with connection.cursor() as cursor:
        for table in (Case._meta.db_table, Case.history.model._meta.db_table, ClockStop._meta.db_table,
                      CaseUserObjectPermission._meta.db_table, "guardian_userobjectpermission"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    report.seconds = time.monotonic() - started
    return report
