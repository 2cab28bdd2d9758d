"""The Mailing Preference Service's Personal file, and bereavements.

The MPS Personal file (mpsonline.org.uk, "MPS Personal file specification"), fixed format, one
record of 415 characters per line:

    1       flag: P = remove this person from your mailings, X = deceased
    2-9     date of request, DDMMCCYY
    10-25   inclusion categories (blank, kept for the Original layout's field count)
    26-45   prefix            46-95   forename (initials only on X records)
    96-145  surname           146-155 suffix
    156-205, 206-255, 256-305 address lines 1-3
    306-355 town              356-405 county
    406-413 postcode          414-415 DPS (delivery point suffix)

and its CSV variant: the same fields in the same order, each in double quotes. Records are
matched against customers by normalised surname, forename (or its initial), first address line
and postcode. A match is kept on the customer (MpsMatch). An X (deceased) match records a
bereavement, as an agent does when the family tells us: every marketing purpose on every channel
is withdrawn at once through the preference service (with history) and every identifier
suppressed, and the record is marked with the source and date.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from privacy_portal.models import User
from privacy_portal.private_storage import UploadTooBig, upload_bytes
from privacy_portal.tracked import save_tracked

from ..access import may_review_mps_matches
from ..models import Bereavement, Channel, Customer, MpsFile, MpsMatch, PreferenceChange, SuppressionEntry
from .imports import ImportRejected, RowError
from .normalise import address_key
from .preferences import WITHDRAWN_BY_OBJECTION, preference_keys, preference_record
from .suppression import suppression_add_customer

# (name, first position, last position), 1-based and inclusive, as the specification gives them.
LAYOUT = (
    ("flag", 1, 1),
    ("request_date", 2, 9),
    ("inclusions", 10, 17),
    ("future", 18, 25),
    ("prefix", 26, 45),
    ("forename", 46, 95),
    ("surname", 96, 145),
    ("suffix", 146, 155),
    ("address_line1", 156, 205),
    ("address_line2", 206, 255),
    ("address_line3", 256, 305),
    ("town", 306, 355),
    ("county", 356, 405),
    ("postcode", 406, 413),
    ("dps", 414, 415),
)
RECORD_LENGTH = LAYOUT[-1][2]
FIELDS = tuple(name for name, _, _ in LAYOUT)
MAX_MPS_BYTES = 200 * 1024 * 1024

ERR_SHORT = "The record is {length} characters; the MPS Personal layout has {expected}."
ERR_FIELDS = "The record has {found} fields; the MPS Personal CSV layout has {expected}."
ERR_FLAG = "The flag (position 1) must be P (remove) or X (deceased), not {flag!r}."
ERR_DATE = "The request date (positions 2-9) must be a date as DDMMCCYY, not {value!r}."
ERR_TEXT = "The file is not text in the MPS layout (line {line})."
ERR_ALREADY = "This MPS file was already loaded on {when}. Nothing was loaded."
ERR_EMPTY = "The file holds no records."
ERR_FUTURE = "The date cannot be in the future."
DECEASED_EVIDENCE = "Deceased: never market again"


@dataclass(frozen=True)
class MpsRecord:
    line: int
    flag: str
    requested_on: datetime.date
    forename: str
    surname: str
    address_line1: str
    postcode: str


def _date(value: str, line: int, errors: list[RowError]) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(value, "%d%m%Y").date()
    except ValueError:
        errors.append(RowError(line, "request_date", ERR_DATE.format(value=value)))
        return None


def _record(line: int, values: dict[str, str], errors: list[RowError]) -> MpsRecord | None:
    flag = values["flag"].strip().upper()
    if flag not in MpsMatch.Flag.values:
        errors.append(RowError(line, "flag", ERR_FLAG.format(flag=values["flag"])))
        return None
    requested_on = _date(values["request_date"].strip(), line, errors)
    if requested_on is None:
        return None
    return MpsRecord(line, flag, requested_on, values["forename"].strip(), values["surname"].strip(),
                     values["address_line1"].strip(), values["postcode"].strip())  # fmt: skip


def parse_fixed(text: str) -> list[MpsRecord]:
    errors: list[RowError] = []
    records = []
    for line, raw in enumerate(text.split("\n"), start=1):
        record = raw.removesuffix("\r")
        if not record.strip():
            continue
        if len(record) < RECORD_LENGTH:
            errors.append(RowError(line, "", ERR_SHORT.format(length=len(record), expected=RECORD_LENGTH)))
            continue
        values = {name: record[start - 1 : end] for name, start, end in LAYOUT}
        parsed = _record(line, values, errors)
        if parsed is not None:
            records.append(parsed)
    if errors:
        raise ImportRejected(errors)
    return records


def parse_csv(text: str) -> list[MpsRecord]:
    errors: list[RowError] = []
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(FIELDS):
                errors.append(RowError(line, "", ERR_FIELDS.format(found=len(cells), expected=len(FIELDS))))
                continue
            parsed = _record(line, dict(zip(FIELDS, cells, strict=True)), errors)
            if parsed is not None:
                records.append(parsed)
    except csv.Error:
        raise ImportRejected.file(ERR_TEXT.format(line=reader.line_num)) from None
    if errors:
        raise ImportRejected(errors)
    return records


def _words(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", value.upper()).strip()


def _forename_matches(mps: str, ours: str) -> bool:
    """Equal, or an initial (X records carry initials only) matching our forename's."""
    mps, ours = _words(mps), _words(ours)
    if not mps or not ours:
        return False
    if mps == ours:
        return True
    initials = mps.replace(" ", "")
    # Initials ("M", "M A", "MA") match by the first one only, never whatever our forename is.
    return (len(mps.split()) == len(initials) or len(initials) <= 3) and initials[0] == ours[0]


# Street words written short on one side and long on the other ("12 High St." and "12 HIGH STREET").
ABBREVIATIONS = {"ST": "STREET", "RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE", "DR": "DRIVE",
                 "CL": "CLOSE", "CT": "COURT", "CRES": "CRESCENT", "GDNS": "GARDENS", "PL": "PLACE", "SQ": "SQUARE",
                 "TER": "TERRACE", "TERR": "TERRACE", "PK": "PARK", "GRN": "GREEN", "FLT": "FLAT"}  # fmt: skip


def _line(line1: str) -> str:
    return " ".join(ABBREVIATIONS.get(word, word) for word in _words(line1).split())


def match_key(line1: str, postcode: str, surname: str) -> tuple[str, str]:
    """(first address line and postcode, surname), normalised: upper case, punctuation and spacing
    squashed, street abbreviations written out."""
    return address_key(_line(line1), postcode), _words(surname)


def _postcodes(records: list[MpsRecord]) -> list[str]:
    postcodes = set()
    for r in records:
        compact = re.sub(r"\s+", "", r.postcode).upper()
        if len(compact) >= 5:
            postcodes.add(f"{compact[:-3]} {compact[-3:]}")
    return sorted(postcodes)


@dataclass(frozen=True)
class Candidate:
    customer: Customer
    first_name: str
    # The history version whose (former) address this is; None for the customer's current address.
    former_version: int | None = None


def _candidates(records: list[MpsRecord]) -> dict[tuple[str, str], list[Candidate]]:
    """Every customer address in the file's postcodes, current and former, by match key.

    Three statements whatever the file's size: the live rows in those postcodes, every history
    version in those postcodes (the index on the history's postcode, migration 0020), and the
    live rows of the customers found only through their history."""
    postcodes = _postcodes(records)
    found: dict[tuple[str, str], list[Candidate]] = {}
    customers = Customer.objects.filter(postcode__in=postcodes, erased_at__isnull=True)
    for customer in customers.select_related("bereavement").iterator(chunk_size=2000):
        key = match_key(customer.address_line1, customer.postcode, customer.last_name)
        found.setdefault(key, []).append(Candidate(customer, customer.first_name))
    # Keep only the former versions whose key a record has (the surname compared first, as it is
    # cheap), so the third statement loads only the customers that match (bench/mps_bench.py:
    # 55,000 live rows loaded at 555 former addresses a postcode without this, 13-23 s at a
    # million customers). Every record's key: a former-address name match of any flag is at least
    # a match to review (matches_and_reviews).
    wanted = {match_key(r.address_line1, r.postcode, r.surname) for r in records}
    surnames = {surname for _, surname in wanted}
    former: dict[tuple[int, tuple[str, str]], tuple[int, str]] = {}  # (customer, key): (newest version, forename)
    versions = Customer.history.filter(postcode__in=postcodes).values_list(
        "id", "history_id", "first_name", "last_name", "address_line1", "postcode"
    )
    for customer_id, history_id, first, last, line1, postcode in versions.order_by().iterator(2000):
        if _words(last) not in surnames:
            continue
        key = match_key(line1, postcode, last)
        if key not in wanted:
            continue
        if (customer_id, key) not in former or history_id > former[(customer_id, key)][0]:
            former[(customer_id, key)] = (history_id, first)  # the newest version holding that address
    if former:
        live = Customer.objects.filter(pk__in={pk for pk, _ in former}, erased_at__isnull=True)
        by_pk = {c.pk: c for c in live.select_related("bereavement").iterator(chunk_size=2000)}
        for (customer_id, key), (history_id, first) in former.items():
            holder = by_pk.get(customer_id)
            if holder is None:
                continue  # erased: its history holds no address any more, nor may it be matched
            if key == match_key(holder.address_line1, holder.postcode, holder.last_name):
                continue  # the current address: matched through the live row
            found.setdefault(key, []).append(Candidate(holder, first, history_id))
    return found


Match = tuple[MpsRecord, Customer, int | None]


def matches(records: list[MpsRecord]) -> list[Match]:
    """The matches applied (matches_and_reviews' first list)."""
    return matches_and_reviews(records)[0]


def matches_and_reviews(records: list[MpsRecord]) -> tuple[list[Match], list[Match]]:
    """(record, customer, former version) for every customer a record matches by name, first
    address line and postcode, one per customer: those applied, and those only to review.

    An X (deceased) record is applied at an address the customer ever held (a former one through
    the history): the death is the person's wherever they now live, and a catalogue sent to the new
    address of someone who died is what the family must never receive; since a namesake who once
    lived there is as likely, the match says so for review (MpsMatch.Review.APPLIED). A P (remove)
    record is applied at the current address only: the MPS registers a name *at an address*, and a
    customer who has since moved is not at that address any more. A former-address name match
    that is not applied (a P record; an X record whose address someone matching lives at now, the
    one it names) is never dropped silently: it is recorded for review, with nothing applied
    (MpsMatch.Review.NOT_APPLIED).

    A customer matched by several records keeps one: a deceased record before a removal, the
    current address before a former one, then the earliest line (one match per customer and file);
    an applied match before one to review."""
    candidates = _candidates(records)
    best: dict[int, tuple[tuple, MpsRecord, Customer, int | None]] = {}
    review: dict[int, tuple[tuple, MpsRecord, Customer, int | None]] = {}
    for record in records:
        key = match_key(record.address_line1, record.postcode, record.surname)
        if not key[0] or not key[1]:
            continue
        named = [c for c in candidates.get(key, ()) if _forename_matches(record.forename, c.first_name)]
        # Someone living at the address is the one the record names: one death never also marks a
        # former resident of the same name (a former address counts only when nobody matching
        # lives there now).
        resident = any(c.former_version is None for c in named)
        for candidate in named:
            customer = candidate.customer
            rank = (record.flag != MpsMatch.Flag.DECEASED, candidate.former_version is not None, record.line)
            former = candidate.former_version is not None
            applied = not former or (record.flag == MpsMatch.Flag.DECEASED and not resident)
            chosen = best if applied else review
            if customer.pk not in chosen or rank < chosen[customer.pk][0]:
                chosen[customer.pk] = (rank, record, customer, candidate.former_version)

    def ordered(found: dict) -> list[Match]:
        items = sorted(found.values(), key=lambda item: (item[1].line, item[2].pk))
        return [(record, customer, version) for _, record, customer, version in items]

    return ordered(best), ordered({pk: item for pk, item in review.items() if pk not in best})


@transaction.atomic
def mps_load(*, actor: User, file, name: str) -> MpsFile:
    """Load an MPS Personal file (fixed width, or CSV by its .csv name), all or nothing."""
    try:
        data = upload_bytes(file, limit=MAX_MPS_BYTES)
    except UploadTooBig:
        raise ImportRejected.file(f"The file is larger than {MAX_MPS_BYTES // (1024 * 1024)} MB.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the MPS's files are plain 8-bit text
    if "\x00" in text:
        raise ImportRejected.file(ERR_TEXT.format(line=text[: text.index("\x00")].count("\n") + 1))
    is_csv = name.lower().endswith(".csv")
    records = parse_csv(text) if is_csv else parse_fixed(text)
    if not records:
        raise ImportRejected.file(ERR_EMPTY)
    digest = hashlib.sha256(data).hexdigest()
    earlier = MpsFile.objects.filter(sha256=digest).first()
    if earlier is not None:
        raise ImportRejected.file(ERR_ALREADY.format(when=f"{earlier.loaded_at:%Y-%m-%d %H:%M}"))
    pairs, to_review = matches_and_reviews(records)
    loaded = MpsFile(
        name=os.path.basename(name)[:255],
        sha256=digest,
        format=MpsFile.Format.CSV if is_csv else MpsFile.Format.FIXED,
        lines=len(records),
        removals=sum(r.flag == MpsMatch.Flag.REMOVE for r in records),
        deceased=sum(r.flag == MpsMatch.Flag.DECEASED for r in records),
        matched=len({r.line for r, _, _ in pairs}),
        loaded_by=actor,
    )
    save_tracked(loaded, actor=actor, reason=f"MPS file loaded: {len(records):,} record(s)")
    for record, customer, former_version in pairs:
        review = MpsMatch.Review.APPLIED if former_version is not None else MpsMatch.Review.NONE
        match = MpsMatch(customer=customer, mps_file=loaded, line=record.line, flag=record.flag,
                         requested_on=record.requested_on, on_former_address=former_version is not None,
                         address_version=former_version, review=review)  # fmt: skip
        save_tracked(match, actor=actor, reason=f"MPS file {loaded.pk}, line {record.line}")
        if record.flag == MpsMatch.Flag.DECEASED:
            evidence = f"MPS deceased record, file {loaded.pk} line {record.line}"
            customer_record_bereavement(
                actor=actor,
                customer=customer,
                source=Bereavement.Source.MPS_FILE,
                reported_on=record.requested_on,
                mps_match=match,
                evidence=evidence,
            )
    for record, customer, former_version in to_review:
        match = MpsMatch(customer=customer, mps_file=loaded, line=record.line, flag=record.flag,
                         requested_on=record.requested_on, on_former_address=True, address_version=former_version,
                         review=MpsMatch.Review.NOT_APPLIED)  # fmt: skip
        save_tracked(match, actor=actor, reason=f"MPS file {loaded.pk}, line {record.line}: to review, not applied")
    return loaded


def mps_to_review(mps_file: MpsFile) -> int:
    """How many of the file's matches an agent or the DPO is to check (a former address)."""
    return mps_file.matches.exclude(review=MpsMatch.Review.NONE).count()


def mps_matches_of(customer: Customer, *, limit: int = 5) -> list[tuple[MpsMatch, str]]:
    """The customer's newest MPS matches, each with the former address that matched ("" for the
    current address): two statements."""
    shown = list(customer.mps_matches.select_related("mps_file").order_by("-matched_at", "-pk")[:limit])
    versions = [m.address_version for m in shown if m.address_version is not None]
    addresses = {
        history_id: ", ".join(part for part in (line1, postcode) if part)
        for history_id, line1, postcode in Customer.history.filter(history_id__in=versions).values_list(
            "history_id", "address_line1", "postcode"
        )
    } if versions else {}  # fmt: skip
    return [(m, addresses.get(m.address_version, "") if m.on_former_address else "") for m in shown]


ERR_NOT_TO_REVIEW = "This MPS match is at the customer's current address: there is nothing to review."
ERR_ALREADY_DECIDED = "This MPS match was already reviewed ({decision}, {when:%-d %B %Y at %H:%M})."
ERR_DECISION = "Decision: choose whether to confirm or dismiss the match."
ERR_MAY_NOT_REVIEW = "Only the DPO reviews MPS matches."


@transaction.atomic
def mps_match_decide(*, actor: User, match_id: int, decision: str) -> MpsMatch:
    """The DPO's check of a match at a former address: confirmed (the record is this customer's)
    or dismissed (a namesake), recorded once with who and when (the history keeps it). Only the
    decision is recorded: a dismissed deceased match does not lift the bereavement it recorded,
    nor does a confirmed removal apply it; the customer page says what was applied."""
    if not may_review_mps_matches(actor):
        raise ValidationError(ERR_MAY_NOT_REVIEW)
    if decision not in MpsMatch.Decision.values:
        raise ValidationError({"decision": ERR_DECISION})
    match = MpsMatch.objects.select_for_update().get(pk=match_id)
    if match.review == MpsMatch.Review.NONE:
        raise ValidationError(ERR_NOT_TO_REVIEW)
    if match.decided_at is not None:
        when = timezone.localtime(match.decided_at)
        raise ValidationError(ERR_ALREADY_DECIDED.format(decision=match.get_decision_display(), when=when))
    match.decision, match.decided_at, match.decided_by = decision, timezone.now(), actor
    save_tracked(match, actor=actor, reason=f"MPS match reviewed: {decision}")
    return match


def bereavement_of(customer: Customer) -> Bereavement | None:
    return Bereavement.objects.filter(customer=customer).first()


@transaction.atomic
def customer_record_bereavement(
    *,
    actor: User,
    customer: Customer,
    source: str,
    reported_on: datetime.date,
    evidence: str = "",
    mps_match: MpsMatch | None = None,
) -> Bereavement:
    """The customer has died: mark the record and stop all marketing on every channel at once.

    Every marketing purpose (and the reg 21(4) notification) is withdrawn through the preference
    service, so each withdrawal has its history; every identifier is suppressed on every channel.
    Idempotent: a second report (the MPS after the family, or twice) keeps the first."""
    Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
    existing = bereavement_of(customer)
    if existing is not None:
        return existing
    if reported_on > timezone.localdate():
        raise ValidationError({"reported_on": ERR_FUTURE})
    record = Bereavement(customer=customer, source=source, reported_on=reported_on, evidence=evidence.strip()[:500],
                         mps_match=mps_match, recorded_by=actor)  # fmt: skip
    save_tracked(record, actor=actor, reason=f"Bereavement recorded ({Bereavement.Source(source).label})")
    pref_source = PreferenceChange.Source.MPS_FILE if source == Bereavement.Source.MPS_FILE else (
        PreferenceChange.Source.BEREAVEMENT)  # fmt: skip
    received_at = timezone.now()
    for purpose, channel in preference_keys():
        if purpose in WITHDRAWN_BY_OBJECTION:
            preference_record(actor=actor, customer=customer, purpose=purpose, channel=channel, granted=False,
                              source=pref_source, received_at=received_at, evidence=DECEASED_EVIDENCE)  # fmt: skip
    suppression_add_customer(
        actor=actor, customer=customer, channels=Channel.values, reason=SuppressionEntry.Reason.DECEASED
    )
    return record
