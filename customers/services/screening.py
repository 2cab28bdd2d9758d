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
from django.utils import timezone

from privacy_portal import legal

from ..models import Bereavement, Channel, Customer, PreferenceChange, Purpose, TpsFile, TpsRegister
from . import tps
from .normalise import format_phone
from .suppression import is_suppressed


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


def screen_number(
    raw: str, *, customers: list[Customer] | None = None, context: ScreeningContext | None = None
) -> Screening:
    """Screen one number for a marketing call now. `customers`: the record(s) the number is being
    called for (a campaign row by account reference, the desk); every other customer holding the
    number counts too (their opt-out is the line's)."""
    context = context or ScreeningContext.now()
    e164, error = parse_uk(raw)
    if error:
        code = "not_uk" if e164 else "not_a_number"
        return Screening(number=e164 or (raw or "").strip()[:40], reasons=[Reason(code, error)], files=context.files)
    result = Screening(number=e164, files=context.files)
    holders = {c.pk: c for c in Customer.objects.filter(phone=e164).select_related("bereavement")}
    for customer in customers or ():
        holders.setdefault(customer.pk, customer)
    notified = _own_list(result, list(holders.values()))
    _tps(result, tps.e164_to_key(e164), context, notified)
    result.reasons.sort(key=lambda r: r.code not in TPS_CODES)  # the TPS's answer first
    return result


def _latest(customer: Customer, purpose: str, channel: str) -> PreferenceChange | None:
    return (
        PreferenceChange.objects.filter(customer=customer, purpose=purpose, channel=channel)
        .order_by("-received_at", "-id")
        .first()
    )


def _bereavement(customer: Customer) -> Bereavement | None:
    try:
        return customer.bereavement
    except Bereavement.DoesNotExist:
        return None


def _own_list(result: Screening, holders: list[Customer]) -> datetime.datetime | None:
    """Our do-not-call list; returns when a holder told us they do not object despite the TPS."""
    add = result.reasons.append
    if is_suppressed(channel=Channel.PHONE, identifier=result.number):
        add(Reason("suppressed", MSG_SUPPRESSED))
    notified = None
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
        calls = _latest(customer, Purpose.DIRECT_MARKETING, Channel.PHONE)
        if calls is None:
            add(Reason("no_consent", MSG_NO_CONSENT.format(ref=ref)))
        elif not calls.granted:
            add(Reason("opted_out", MSG_OPTED_OUT.format(ref=ref, when=timezone.localtime(calls.received_at))))
        else:
            add(Reason("opted_in", MSG_OPTED_IN.format(ref=ref, when=timezone.localtime(calls.received_at)), False))
        despite = _latest(customer, Purpose.CALLS_DESPITE_TPS, "")
        if despite is not None and despite.granted:
            notified = despite.received_at
    return notified


def _tps(result: Screening, key: int, context: ScreeningContext, notified) -> None:
    add = result.reasons.append
    for register in TpsRegister.values:
        loaded = context.files.get(register)
        label = TpsRegister(register).label
        if loaded is None:
            add(Reason("no_file", ERR_NO_FILE.format(register=label)))
        elif (context.today - loaded.file_date).days > legal.TPS_FILE_MAX_AGE_DAYS:
            add(Reason("stale_file", ERR_STALE_FILE.format(register=label, date=loaded.file_date,
                                                           days=legal.TPS_FILE_MAX_AGE_DAYS)))  # fmt: skip
    listings = tps.listing(key)
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
        baseline = [context.baselines.get(register) for register, since in listings if since is None]
        baseline = [day for day in baseline if day is not None]
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
    from ..subject import Identifiers

    numbers = [customer.phone] if customer.phone else []
    numbers += sorted(p for p in Identifiers.of(customer).phones if p not in numbers)
    return numbers


def screen_customer(customer: Customer, *, context: ScreeningContext | None = None) -> list[Screening]:
    """The desk's answer: each of the customer's numbers, screened for a call to this customer."""
    context = context or ScreeningContext.now()
    return [screen_number(number, customers=[customer], context=context) for number in customer_numbers(customer)]
