"""The dialler's pre-dial check: its bearer tokens (made once, stored only as a SHA-256) and the
check itself, one statement for any number (issue 16: under 10 ms p95 at 20 million numbers).

The token is 32 random bytes, so an unkeyed SHA-256 is enough to store it (nothing to guess it
from, unlike a password: no slow hash is needed, and none is used); it is found by the unique
index on its hash, so the time a lookup takes tells nothing about a token that was not sent.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import secrets
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.audit import access_entry
from privacy_portal.models import AccessEvent, User
from privacy_portal.tracked import save_tracked

from ..access import may_issue_dialler_tokens
from ..models import (
    Bereavement,
    Channel,
    Customer,
    DiallerToken,
    PreferenceChange,
    Purpose,
    SuppressionEntry,
    TpsFile,
    TpsRegister,
)
from . import screening, tps
from .suppression import identifier_hash

ERR_NAME_TAKEN = "A dialler token with this name exists already."
ERR_NO_TOKEN = "No active dialler token has this name."  # noqa: S105 (a message, not a secret)
ERR_NOT_DPO = "Only an active DPO issues a dialler token (a token issued by anyone else would never work)."
ERR_DAYS = f"A dialler token is issued for 1 to {legal.DIALLER_TOKEN_MAX_DAYS} days."
# Why the pre-dial check refused a request (the JSON error's `reason` and its message).
REFUSED_NO_TOKEN = "token_missing_or_unknown"  # noqa: S105 (a code, not a secret)
REFUSED_EXPIRED = "token_expired"
REFUSED_REVOKED = "token_revoked"
REFUSED_ISSUER = "token_issuer_not_active_dpo"
ERR_TOKEN = "A valid dialler token is required (Authorization: Bearer <token>)."  # noqa: S105 (a message)
ERR_EXPIRED = "This dialler token expired on {when:%-d %B %Y at %H:%M} (UK time): ask the DPO for a new one."
ERR_REVOKED = "This dialler token was revoked on {when:%-d %B %Y at %H:%M} (UK time)."
ERR_ISSUER = (
    "The DPO who issued this dialler token has not stayed an active DPO since issuing it (account switched"
    " off, access ended or role changed, even if since restored): ask the DPO for a new one."
)
BEARER = "Bearer "
# The access log's actor for the pre-dial check (no member of staff: `user` is null).
ACCESS_ACTOR = "dialler"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def dialler_token_create(
    *, actor: User, name: str, days: int = legal.DIALLER_TOKEN_DEFAULT_DAYS
) -> tuple[DiallerToken, str]:
    """A new token for a dialler, valid for `days` from now (the DPO's choice, at most
    legal.DIALLER_TOKEN_MAX_DAYS); returns the record and the token itself (shown once, never
    stored)."""
    if not may_issue_dialler_tokens(actor):
        raise ValidationError(ERR_NOT_DPO)
    name = name.strip()
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= legal.DIALLER_TOKEN_MAX_DAYS:
        raise ValidationError({"days": ERR_DAYS})
    if DiallerToken.objects.filter(name=name).exists():
        raise ValidationError({"name": ERR_NAME_TAKEN})
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    record = DiallerToken(name=name, token_hash=token_hash(token), created_by=actor, created_at=now,
                          expires_at=now + datetime.timedelta(days=days))  # fmt: skip
    save_tracked(record, actor=actor, reason=f"Dialler token created, valid for {days} days")
    return record, token


@transaction.atomic
def dialler_token_revoke(*, actor: User, name: str = "", pk: int | None = None) -> DiallerToken:
    """Revoke the unrevoked token named `name` (the command) or with id `pk` (the tokens page):
    refused from now on, for good."""
    found = DiallerToken.objects.select_for_update().filter(revoked_at__isnull=True)
    record = (found.filter(pk=pk) if pk is not None else found.filter(name=name.strip())).first()
    if record is None:
        raise ValidationError({"name": ERR_NO_TOKEN})
    record.revoked_at = timezone.now()
    save_tracked(record, actor=actor, reason="Dialler token revoked")
    return record


def bearer(header: str | None) -> str:
    """The token an `Authorization: Bearer …` header carries, or '' (deny by default)."""
    if not header or not header.startswith(BEARER):
        return ""
    token = header[len(BEARER) :].strip()
    return token if 0 < len(token) <= 200 else ""


def _issuer_lapsed_since_issue() -> Exists:
    """Whether the token's issuer has, since the token was issued, been unable to act as the DPO
    at any time: a row of the issuer's history dated after the issue shows them switched off, in
    another role, awaiting approval or past their access's end, or follows a state whose access
    had ended by then (an end date passed, then extended). The same rule is in the probe's SQL
    (_PROBE)."""
    rows = User.history.model.objects.filter(id=OuterRef("created_by_id"), history_date__gt=OuterRef("created_at"))
    day = TruncDate("history_date")
    before = User.history.model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
    unable = ~Q(is_active=True, role=User.Role.DPO, approved_at__isnull=False) | Q(access_ends_on__lt=day)
    return Exists(
        rows.annotate(ended_before=Subquery(before.order_by("-history_id").values("access_ends_on")[:1])).filter(
            unable | Q(ended_before__lt=day)
        )
    )


def issuer_may_act() -> Q:
    """A token works only while the member of staff who issued it has stayed able to act as the
    DPO since issuing it: the account switched on, approved, its access not ended, and its role
    still the DPO's, now and at every change since (issue 16, hostile review: a DPO switched off
    or moved to another role left tokens that kept working; then, switched back on, had them all
    back). Checked on every request, against the issuer's history, not by revoking at the change,
    so no way of changing an account (the staff page, the admin, a script) can leave a token
    behind or bring one back: the issuer, an active DPO again, issues new ones. The same rule is
    in the probe's SQL (_PROBE)."""
    today = timezone.localdate()
    return (
        Q(created_by__is_active=True, created_by__role=User.Role.DPO, created_by__approved_at__isnull=False)
        & (Q(created_by__access_ends_on__isnull=True) | Q(created_by__access_ends_on__gte=today))
        & ~Q(_issuer_lapsed_since_issue())
    )


def _active(token: str):
    """The tokens an unrevoked, unexpired token with this value would be (one at most), issued by
    someone who may still act as the DPO."""
    return DiallerToken.objects.filter(
        issuer_may_act(), token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def authenticate(header: str | None) -> DiallerToken | None:
    """The active token an `Authorization: Bearer …` header carries, or None (deny by default)."""
    token = bearer(header)
    if not token:
        return None
    return _active(token).first()


@dataclass
class Refusal:
    """Why a request was refused: `reason` (a code), the message, the token's id when it was one of
    ours (expired or revoked), for the security log."""

    reason: str
    message: str
    token_id: int | None = None


def refusal(header: str | None) -> Refusal:
    """Why the token in `header` is not an active one (read only once a check was refused: an
    expired or revoked token is told so, any other value the same generic message)."""
    token = bearer(header)
    record = DiallerToken.objects.filter(token_hash=token_hash(token)).first() if token else None
    if record is None:
        return Refusal(REFUSED_NO_TOKEN, ERR_TOKEN)
    if record.revoked_at is not None:
        when = timezone.localtime(record.revoked_at)
        return Refusal(REFUSED_REVOKED, ERR_REVOKED.format(when=when), record.pk)
    if record.expires_at <= timezone.now():
        return Refusal(REFUSED_EXPIRED, ERR_EXPIRED.format(when=timezone.localtime(record.expires_at)), record.pk)
    if not DiallerToken.objects.filter(issuer_may_act(), pk=record.pk).exists():
        return Refusal(REFUSED_ISSUER, ERR_ISSUER, record.pk)
    return Refusal(REFUSED_NO_TOKEN, ERR_TOKEN, record.pk)  # active again meanwhile: ask again


@dataclass
class PreDial:
    """The answer of one pre-dial check: which token asked, the screening, the customers read."""

    token_id: int
    screening: screening.Screening
    customer_ids: list[int]


# Everything the answer for a UK number needs, in one statement, read only when the token is an
# active one, unrevoked and unexpired (no row otherwise, and PostgreSQL evaluates none of the
# lookups): the files in force and each register's first full file (tps.current_files,
# tps.baselines), our suppression list, each register's listing (tps.listing), and the customers
# holding the number with what screening.answer reads of them: their flags, a bereavement, and
# their latest change of each screened preference (screening._latest_preferences: the same
# DISTINCT ON, in a subquery). The issuer's unbroken tenure as an active DPO since the token's
# issue is read from the issuer's history rows (a handful, by their id index: issuer_may_act).
# The register tables are swapped whole by a load, so the statement sees one file or the other,
# never half.
_PROBE = """
SELECT t.id,
  (SELECT coalesce(json_agg(json_build_object('id', f.id, 'register', f.register, 'kind', f.kind,
                                              'file_date', f.file_date)), '[]'::json)
     FROM (SELECT DISTINCT ON (register) id, register, kind, file_date FROM {files}
            ORDER BY register, file_date DESC, id DESC) f),
  (SELECT coalesce(json_object_agg(b.register, b.first), '{{}}'::json)
     FROM (SELECT register, min(file_date) AS first FROM {files} WHERE kind = %(full)s GROUP BY register) b),
  EXISTS (SELECT 1 FROM {suppression} s WHERE s.channel = %(channel)s AND s.identifier_hash = %(hash)s),
  (SELECT coalesce(json_agg(json_build_object(
            'id', c.id, 'erased_at', c.erased_at, 'objected', c.marketing_objected,
            'objected_at', c.objected_at, 'restricted', c.processing_restricted, 'deceased_on', d.reported_on,
            'preferences', (SELECT coalesce(json_agg(json_build_array(p.purpose, p.channel, p.granted,
                                                                      p.received_at)), '[]'::json)
                              FROM (SELECT DISTINCT ON (purpose, channel) purpose, channel, granted, received_at
                                      FROM {preferences}
                                     WHERE customer_id = c.id AND c.erased_at IS NULL
                                       AND purpose IN (%(calls)s, %(despite)s) AND channel IN (%(phone)s, '')
                                     ORDER BY purpose, channel, received_at DESC, id DESC) p)
          ) ORDER BY c.id), '[]'::json)
     FROM {customers} c LEFT JOIN {bereavements} d ON d.customer_id = c.id WHERE c.phone = %(e164)s),
  (SELECT ARRAY[l.first_seen] FROM {tps} l WHERE l.number = %(key)s),
  (SELECT ARRAY[l.first_seen] FROM {ctps} l WHERE l.number = %(key)s)
FROM {tokens} t JOIN {users} u ON u.id = t.created_by_id
WHERE t.token_hash = %(token)s AND t.revoked_at IS NULL AND t.expires_at > %(now)s
  AND u.is_active AND u.role = %(dpo)s AND u.approved_at IS NOT NULL
  AND (u.access_ends_on IS NULL OR u.access_ends_on >= %(today)s)
  AND NOT EXISTS (
    SELECT 1 FROM {user_history} h
     WHERE h.id = u.id AND h.history_date > t.created_at
       AND (NOT (h.is_active AND h.role = %(dpo)s AND h.approved_at IS NOT NULL)
            OR h.access_ends_on < (h.history_date AT TIME ZONE %(tz)s)::date
            OR (SELECT p.access_ends_on FROM {user_history} p WHERE p.id = h.id AND p.history_id < h.history_id
                 ORDER BY p.history_id DESC LIMIT 1) < (h.history_date AT TIME ZONE %(tz)s)::date))
"""


@functools.cache
def _probe_sql() -> str:
    return _PROBE.format(
        files=TpsFile._meta.db_table,
        suppression=SuppressionEntry._meta.db_table,
        customers=Customer._meta.db_table,
        bereavements=Bereavement._meta.db_table,
        preferences=PreferenceChange._meta.db_table,
        tokens=DiallerToken._meta.db_table,
        users=User._meta.db_table,
        user_history=User.history.model._meta.db_table,
        tps=tps.TABLES[TpsRegister.TPS],
        ctps=tps.TABLES[TpsRegister.CTPS],
    )


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, each statement prepared on its first execution in a connection and
    executed by name afterwards: PostgreSQL parses and plans the probe once per connection, not
    once per check. (A register swapped in by a load invalidates the plan: PostgreSQL re-plans it
    against the new table by name on the next execution.)"""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def _prepared_cursor():
    """What connection.cursor() does (the health check, the connection, Django's wrapper, so the
    statement is logged and counted like any other), with a _PreparedCursor inside."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # A private method of Django's PostgreSQL wrapper, absent from django-stubs' BaseDatabaseWrapper.
        return connection._prepare_cursor(_PreparedCursor(connection.connection))  # type: ignore[attr-defined]


def _datetime(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def _holders(rows: list[dict]) -> tuple[list[Customer], dict]:
    """The holders as screening.answer reads them (only the fields it uses are filled in: these
    instances are never saved), and their latest screened preferences keyed as
    screening._latest_preferences keys them."""
    holders, preferences = [], {}
    for row in rows:
        customer = Customer(
            id=row["id"],
            erased_at=_datetime(row["erased_at"]),
            marketing_objected=row["objected"],
            objected_at=_datetime(row["objected_at"]),
            processing_restricted=row["restricted"],
        )
        deceased = row["deceased_on"]
        died = Bereavement(customer=customer, reported_on=datetime.date.fromisoformat(deceased)) if deceased else None
        _BEREAVEMENT.set_cached_value(customer, died)  # as select_related("bereavement") leaves it
        for purpose, channel, granted, received_at in row["preferences"]:
            preferences[(customer.pk, purpose, channel)] = PreferenceChange(
                customer=customer,
                purpose=purpose,
                channel=channel,
                granted=granted,
                received_at=datetime.datetime.fromisoformat(received_at),  # never null
            )
        holders.append(customer)
    return holders, preferences


_BEREAVEMENT = Customer._meta.get_field("bereavement")


def _token_id(token: str) -> int | None:
    return _active(token).values_list("id", flat=True).first()


def pre_dial(header: str | None, raw: str) -> PreDial | None:
    """The pre-dial check of `raw` for the token in `header`; None when the token is not an
    active one (unrevoked, unexpired, its issuer still an active DPO). The same rules as
    screen_number (screening.answer); its facts, the holders and their preferences included, read
    in one prepared statement."""
    token = bearer(header)
    if not token:
        return None
    e164, error = screening.parse_to_screen(raw)
    if error or connection.vendor != "postgresql":  # SQLite (the demo): the general path
        token_id = _token_id(token)
        if token_id is None:
            return None
        context = screening.ScreeningContext.now()
        if error:
            return PreDial(token_id, screening.not_screenable(raw, e164, error, context), [])
        result = screening.screen_number(e164, context=context)
        return PreDial(token_id, result, list(Customer.objects.filter(phone=e164).values_list("id", flat=True)))
    params = {"token": token_hash(token), "now": timezone.now(), "full": TpsFile.Kind.FULL, "channel": Channel.PHONE,
              "hash": identifier_hash(e164), "e164": e164, "key": tps.e164_to_key(e164),
              "calls": Purpose.DIRECT_MARKETING, "despite": Purpose.CALLS_DESPITE_TPS,
              "phone": Channel.PHONE, "dpo": User.Role.DPO, "today": timezone.localdate(),
              "tz": settings.TIME_ZONE}  # fmt: skip
    with _prepared_cursor() as cursor:
        cursor.execute(_probe_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, files, firsts, suppressed, holder_rows, on_tps, on_ctps = row
    in_force: dict[str, TpsFile | None] = dict.fromkeys(TpsRegister.values)
    for f in files:
        in_force[f["register"]] = TpsFile(id=f["id"], register=f["register"], kind=f["kind"],
                                          file_date=datetime.date.fromisoformat(f["file_date"]))  # fmt: skip
    context = screening.ScreeningContext(files=in_force, today=timezone.localdate())
    context._baselines = {register: datetime.date.fromisoformat(day) for register, day in firsts.items()}
    listings = [(register, seen[0]) for register, seen in (("tps", on_tps), ("ctps", on_ctps)) if seen is not None]
    holders, preferences = _holders(holder_rows)
    result = screening.answer(e164, context=context, suppressed=suppressed, holders=holders, listings=listings,
                              preferences=preferences)  # fmt: skip
    return PreDial(token_id, result, [c.pk for c in holders])


def pre_dial_record(check: PreDial, *, ip_address: str | None) -> None:
    """The access-log entry of one check, by ids only: the token that asked and the customers whose
    records were read, never the number. The row AccessEvent.objects.create would write (values
    converted by each field, as the ORM does; no free text, so nothing goes to the side table),
    inserted unchained like every entry (the chainer links it), by one prepared statement
    (audit.access_entry)."""
    ids = check.customer_ids
    access_entry(
        user=None,
        action=AccessEvent.Action.DIALLER_SCREEN,
        customer_id=ids[0] if len(ids) == 1 else None,
        object_type=DiallerToken._meta.label,
        object_id=check.token_id,
        result_ids=list(ids),
        ip_address=ip_address or None,
        details={"actor": ACCESS_ACTOR, "allowed": check.screening.allowed},
        cursor_factory=_prepared_cursor,
    )
