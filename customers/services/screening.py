"""May we make a marketing call to this number? The one answer for the agent's desk, the
campaign screening and the dialler's pre-dial check.

A number is cleared only when every rule allows it (deny by default):

- it is a valid UK number (the TPS and CTPS list UK numbers only: anything else cannot be
  screened, so it is not cleared);
- a TPS and a CTPS file are loaded and neither is older than legal.TPS_FILE_MAX_AGE_DAYS;
- it is not listed on either, or listed for less than legal.TPS_LISTED_GRACE_DAYS (reg 21(3)),
  or the subscriber told us they do not object to our calls (reg 21(4), a current
  Purpose.CALLS_DESPITE_TPS on a customer with this number);
- our own do-not-call list: the phone channel's suppression list, and every customer with the
  number: no Art 21 objection, no restriction, not erased, not deceased, and a current opt-in to
  marketing calls (the privacy notice: marketing only "if you gave us permission").
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import phonenumbers
from django.db import connection
from django.utils import timezone

from privacy_portal import legal

from ..models import Bereavement, Channel, Customer, PreferenceChange, Purpose, SuppressionEntry, TpsFile, TpsRegister
from ..subject import Identifiers
from . import tps
from .normalise import format_phone
from .suppression import identifier_hash, is_suppressed


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    blocks: bool = True

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "blocks": self.blocks}


@dataclass
class Screening:
    """The answer for one number."""

    number: str  # E.164, or what was given when it is not a phone number
    reasons: list[Reason] = field(default_factory=list)
    tps_listed: bool = False
    # The earliest date a register first listed it (None with tps_listed: on the first file loaded).
    listed_since: datetime.date | None = None
    listed_before: datetime.date | None = None
    registers: tuple[str, ...] = ()
    files: dict[str, TpsFile | None] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return not any(r.blocks for r in self.reasons)

    @property
    def display(self) -> str:
        return format_phone(self.number) if self.number.startswith("+") else self.number

    @property
    def listed_text(self) -> str:
        """'TPS-listed since 3 November 2026', or '' when not listed."""
        if not self.tps_listed:
            return ""
        which = "/".join(TpsRegister(r).label for r in self.registers)
        if self.listed_since is None:
            return f"{which}-listed since before {self.listed_before:%-d %B %Y}"
        return f"{which}-listed since {self.listed_since:%-d %B %Y}"

    @property
    def because(self) -> str:
        shown = [r for r in self.reasons if r.blocks] or self.reasons
        return "; ".join(r.message for r in shown)

    def file_date(self, register: str) -> datetime.date | None:
        loaded = self.files.get(register)
        return loaded.file_date if loaded else None

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "allowed": self.allowed,
            "reasons": [r.as_dict() for r in self.reasons],
            "tps_listed": self.tps_listed,
            "tps_listed_since": self.listed_since.isoformat() if self.listed_since else None,
            "tps_file_date": _iso(self.file_date(TpsRegister.TPS)),
            "ctps_file_date": _iso(self.file_date(TpsRegister.CTPS)),
        }


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


ERR_NOT_A_NUMBER = "Not a phone number we can dial."
ERR_NOT_UK = "Not a UK number: the TPS and CTPS list UK numbers only, so it cannot be screened and is not cleared."
ERR_NO_FILE = "No {register} file is loaded: nothing can be cleared until one is."
ERR_STALE_FILE = "The {register} file in force is dated {date:%-d %B %Y}, more than {days} days ago: load a newer one."
MSG_LISTED = "{listed}"
MSG_LISTED_GRACE = "{listed}, less than {days} days (reg 21(3)): callable until {until:%-d %B %Y}"
MSG_NOT_LISTED = "Not on the {registers} files of {dates}"
MSG_NO_OBJECTION = "{listed}, but told us on {when:%-d %B %Y} they do not object to our calls (reg 21(4))"
MSG_SUPPRESSED = "On our suppression list for calls"
MSG_OBJECTED = "{ref} objected to direct marketing (Art 21) on {when:%-d %B %Y}"
MSG_RESTRICTED = "{ref}: processing restricted (Art 18)"
MSG_ERASED = "{ref} was erased"
MSG_DECEASED = "{ref} has died (recorded {when:%-d %B %Y}): never market to this record"
MSG_OPTED_OUT = "{ref} opted out of marketing calls on {when:%-d %B %Y}"
MSG_NO_CONSENT = "{ref} has not agreed to marketing calls"
MSG_OPTED_IN = "{ref} agreed to marketing calls on {when:%-d %B %Y}"


TPS_CODES = frozenset({"no_file", "stale_file", "not_listed", "tps_grace", "tps_no_objection", "tps_listed"})


@dataclass
class ScreeningContext:
    """What every number of one screening shares: the files in force and today."""

    files: dict[str, TpsFile | None]
    today: datetime.date
    _baselines: dict[str, datetime.date] | None = None

    @classmethod
    def now(cls) -> ScreeningContext:
        return cls(files=tps.current_files(), today=timezone.localdate())

    @property
    def baselines(self) -> dict[str, datetime.date]:
        """Per register, the date of the first full file loaded: numbers on it were listed before
        then. Read only when a number from it is met."""
        if self._baselines is None:
            self._baselines = tps.baselines()
        return self._baselines


def parse_uk(raw: str) -> tuple[str, str]:
    """(E.164, error message). A UK number in any way of writing it; '' and a reason otherwise."""
    value = (raw or "").strip()
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        number = phonenumbers.parse(value.replace("(0)", ""), "GB")
    except phonenumbers.NumberParseException:
        return "", ERR_NOT_A_NUMBER
    if not phonenumbers.is_valid_number(number) or number.extension:
        return "", ERR_NOT_A_NUMBER
    if number.country_code != 44:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ERR_NOT_UK
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def parse_to_screen(raw: str) -> tuple[str, str]:
    """parse_uk for a number about to be screened for a call: a number written with letters is not
    one (phonenumbers reads letters as a keypad word, "01635 5O6l6O" as 01635 566566: never screen
    a number other than the one the dialler or the call list will dial)."""
    if any(ch.isalpha() for ch in raw or ""):
        return "", ERR_NOT_A_NUMBER
    return parse_uk(raw)


def screen_number(
    raw: str, *, customers: list[Customer] | None = None, context: ScreeningContext | None = None
) -> Screening:
    """Screen one number for a marketing call now. `customers`: the record(s) the number is being
    called for (a campaign row by account reference, the desk); every other customer holding the
    number counts too (their opt-out is the line's)."""
    context = context or ScreeningContext.now()
    e164, error = parse_to_screen(raw)
    if error:
        return not_screenable(raw, e164, error, context)
    holders = {c.pk: c for c in Customer.objects.filter(phone=e164).select_related("bereavement")}
    for customer in customers or ():
        holders.setdefault(customer.pk, customer)
    suppressed = is_suppressed(channel=Channel.PHONE, identifier=e164)
    key = tps.e164_to_key(e164)
    assert key is not None  # parse_uk accepted a UK number
    return answer(e164, context=context, suppressed=suppressed, holders=list(holders.values()),
                  listings=tps.listing(key))  # fmt: skip


def screen_numbers(
    items: list[tuple[str, list[Customer]]], *, context: ScreeningContext | None = None
) -> list[Screening]:
    """screen_number for a batch of (number as given, the record(s) it is called for), in a fixed
    number of statements whatever the batch's size: the holders of every number, the suppression
    list's entries for them, both registers' listings and every holder's latest preferences, each
    read once for the batch (a campaign's call list of 100,000 rows, read per row, was ~4
    statements a row). Same answers as screen_number, row for row (tests/customers/test_tps_screening.py)."""
    context = context or ScreeningContext.now()
    parsed = [parse_to_screen(raw) for raw, _ in items]
    numbers = sorted({e164 for e164, error in parsed if not error})
    holders_of: dict[str, dict[int, Customer]] = {n: {} for n in numbers}
    for customer in Customer.objects.filter(phone__in=numbers).select_related("bereavement").order_by("pk"):
        holders_of[customer.phone][customer.pk] = customer
    hashes = {identifier_hash(n): n for n in numbers}
    suppressed = {
        hashes[h]
        for h in SuppressionEntry.objects.filter(channel=Channel.PHONE, identifier_hash__in=list(hashes)).values_list(
            "identifier_hash", flat=True
        )
    }
    keys = {n: tps.e164_to_key(n) for n in numbers}
    listed = tps.listings([k for k in keys.values() if k is not None])
    everyone: dict[int, Customer] = {}
    for (_, given), (e164, error) in zip(items, parsed, strict=True):
        if not error:
            for customer in [*holders_of[e164].values(), *given]:
                everyone.setdefault(customer.pk, customer)
    latest = _latest_preferences([c for c in everyone.values() if not c.is_erased])
    results = []
    for (raw, given), (e164, error) in zip(items, parsed, strict=True):
        if error:
            results.append(not_screenable(raw, e164, error, context))
            continue
        holders = dict(holders_of[e164])
        for customer in given:
            holders.setdefault(customer.pk, customer)
        key = keys[e164]
        results.append(answer(e164, context=context, suppressed=e164 in suppressed, holders=list(holders.values()),
                              listings=listed.get(key, []) if key is not None else [], preferences=latest))  # fmt: skip
    return results


def not_screenable(raw: str, e164: str, error: str, context: ScreeningContext) -> Screening:
    """The answer for what parse_uk refused: not a number, or not a UK one (never cleared)."""
    code = "not_uk" if e164 else "not_a_number"
    return Screening(number=e164 or (raw or "").strip()[:40], reasons=[Reason(code, error)], files=context.files)


def answer(
    e164: str,
    *,
    context: ScreeningContext,
    suppressed: bool,
    holders: list[Customer],
    listings: list[tuple[str, datetime.date | None]],
    preferences: dict[tuple[int, str, str], PreferenceChange] | None = None,
) -> Screening:
    """The rules applied to what was read about a UK number (E.164): whether our suppression list
    holds it, the customers holding it, and the registers listing it (tps.listing). Reads only
    the holders' latest preferences (one statement, none without holders), unless `preferences`
    gives them (keyed as _latest_preferences keys them). screen_number reads the facts one
    statement each; the dialler's check (services/dialler.py) all of them in one."""
    result = Screening(number=e164, files=context.files)
    notified = _own_list(result, holders, suppressed, preferences)
    _tps(result, listings, context, notified)
    result.reasons.sort(key=lambda r: r.code not in TPS_CODES)  # the TPS's answer first
    return result


# The preferences screening reads: marketing calls, and reg 21(4) "calls despite the TPS".
_SCREENED = ((Purpose.DIRECT_MARKETING, Channel.PHONE), (Purpose.CALLS_DESPITE_TPS, ""))


def _latest_preferences(holders: list[Customer]) -> dict[tuple[int, str, str], PreferenceChange]:
    """Each holder's latest change of the screened preferences, in one statement."""
    if not holders:
        return {}
    changes = PreferenceChange.objects.filter(
        customer__in=[c.pk for c in holders],
        purpose__in=[p for p, _ in _SCREENED],
        channel__in=[c for _, c in _SCREENED],
    )
    if connection.vendor == "postgresql":
        latest = changes.order_by("customer_id", "purpose", "channel", "-received_at", "-id").distinct(
            "customer_id", "purpose", "channel"
        )
    else:  # SQLite (the demo): DISTINCT ON is PostgreSQL's; the first seen per key is the latest
        latest = changes.order_by("-received_at", "-id")
    found: dict[tuple[int, str, str], PreferenceChange] = {}
    for change in latest:
        found.setdefault((change.customer_id, change.purpose, change.channel), change)
    return found


def _bereavement(customer: Customer) -> Bereavement | None:
    try:
        return customer.bereavement
    except Bereavement.DoesNotExist:
        return None


def _own_list(
    result: Screening, holders: list[Customer], suppressed: bool, preferences: dict | None
) -> datetime.datetime | None:
    """Our do-not-call list; returns when a holder told us they do not object despite the TPS."""
    add = result.reasons.append
    if suppressed:
        add(Reason("suppressed", MSG_SUPPRESSED))
    notified = None
    latest = _latest_preferences([c for c in holders if not c.is_erased]) if preferences is None else preferences
    for customer in sorted(holders, key=lambda c: c.pk):
        ref = customer.reference
        bereavement = _bereavement(customer)
        if customer.is_erased:
            add(Reason("erased", MSG_ERASED.format(ref=ref)))
            continue
        if bereavement is not None:
            add(Reason("deceased", MSG_DECEASED.format(ref=ref, when=bereavement.reported_on)))
        if customer.marketing_objected:
            add(Reason("objected", MSG_OBJECTED.format(ref=ref, when=timezone.localtime(customer.objected_at))))
        if customer.processing_restricted:
            add(Reason("restricted", MSG_RESTRICTED.format(ref=ref)))
        calls = latest.get((customer.pk, Purpose.DIRECT_MARKETING, Channel.PHONE))
        if calls is None:
            add(Reason("no_consent", MSG_NO_CONSENT.format(ref=ref)))
        elif not calls.granted:
            add(Reason("opted_out", MSG_OPTED_OUT.format(ref=ref, when=timezone.localtime(calls.received_at))))
        else:
            add(Reason("opted_in", MSG_OPTED_IN.format(ref=ref, when=timezone.localtime(calls.received_at)), False))
        despite = latest.get((customer.pk, Purpose.CALLS_DESPITE_TPS, ""))
        if despite is not None and despite.granted:
            notified = despite.received_at
    return notified


def _tps(result: Screening, listings, context: ScreeningContext, notified) -> None:
    add = result.reasons.append
    for register in TpsRegister.values:
        loaded = context.files.get(register)
        label = TpsRegister(register).label
        if loaded is None:
            add(Reason("no_file", ERR_NO_FILE.format(register=label)))
        elif (context.today - loaded.file_date).days > legal.TPS_FILE_MAX_AGE_DAYS:
            add(Reason("stale_file", ERR_STALE_FILE.format(register=label, date=loaded.file_date,
                                                           days=legal.TPS_FILE_MAX_AGE_DAYS)))  # fmt: skip
    if not listings:
        dates = ", ".join(f"{f.file_date:%-d %b %Y}" for f in context.files.values() if f)
        if dates:
            add(Reason("not_listed", MSG_NOT_LISTED.format(registers="TPS/CTPS", dates=dates), False))
        return
    result.tps_listed = True
    result.registers = tuple(register for register, _ in listings)
    known = [since for _, since in listings if since is not None]
    if len(known) < len(listings):
        result.listed_since = None
        on_file = [context.baselines.get(register) for register, since in listings if since is None]
        baseline = [day for day in on_file if day is not None]
        result.listed_before = min(baseline) if baseline else context.today
    else:
        result.listed_since = min(known)
    listed = result.listed_text
    if result.listed_since is not None and (context.today - result.listed_since).days < legal.TPS_LISTED_GRACE_DAYS:
        until = result.listed_since + datetime.timedelta(days=legal.TPS_LISTED_GRACE_DAYS - 1)
        add(Reason("tps_grace", MSG_LISTED_GRACE.format(listed=listed, days=legal.TPS_LISTED_GRACE_DAYS, until=until),
                   False))  # fmt: skip
    elif notified is not None:
        add(
            Reason("tps_no_objection", MSG_NO_OBJECTION.format(listed=listed, when=timezone.localtime(notified)), False)
        )
    else:
        add(Reason("tps_listed", MSG_LISTED.format(listed=listed)))


def customer_numbers(customer: Customer) -> list[str]:
    """Every number the customer has had on record, current first (a former number may still be
    theirs on a call list)."""
    numbers = [customer.phone] if customer.phone else []
    numbers += sorted(p for p in Identifiers.of(customer).phones if p not in numbers)
    return numbers


def screen_customer(customer: Customer, *, context: ScreeningContext | None = None) -> list[Screening]:
    """The desk's answer: each of the customer's numbers, screened for a call to this customer."""
    context = context or ScreeningContext.now()
    return [screen_number(number, customers=[customer], context=context) for number in customer_numbers(customer)]
