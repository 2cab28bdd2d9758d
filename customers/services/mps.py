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
ERR_ALREADY_DECEASED = "A bereavement is already recorded for this customer."
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
    return len(mps.split()) == len(initials) or (len(initials) <= 3 and initials[0] == ours[0])


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


def _candidates(records: list[MpsRecord]) -> dict[tuple[str, str], list[Customer]]:
    postcodes = set()
    for r in records:
        compact = re.sub(r"\s+", "", r.postcode).upper()
        if len(compact) >= 5:
            postcodes.add(f"{compact[:-3]} {compact[-3:]}")
    found: dict[tuple[str, str], list[Customer]] = {}
    customers = Customer.objects.filter(postcode__in=sorted(postcodes), erased_at__isnull=True)
    for customer in customers.select_related("bereavement").iterator(chunk_size=2000):
        key = match_key(customer.address_line1, customer.postcode, customer.last_name)
        found.setdefault(key, []).append(customer)
    return found


def matches(records: list[MpsRecord]) -> list[tuple[MpsRecord, Customer]]:
    """(record, customer) for every record matching a customer by name, first line and postcode."""
    candidates = _candidates(records)
    pairs = []
    for record in records:
        key = match_key(record.address_line1, record.postcode, record.surname)
        if not key[0] or not key[1]:
            continue
        for customer in candidates.get(key, ()):
            if _forename_matches(record.forename, customer.first_name):
                pairs.append((record, customer))
    return pairs


@transaction.atomic
def mps_load(*, actor, file, name: str) -> MpsFile:
    """Load an MPS Personal file (fixed width, or CSV by its .csv name), all or nothing."""
    data = file.read(MAX_MPS_BYTES + 1)
    if len(data) > MAX_MPS_BYTES:
        raise ImportRejected.file(f"The file is larger than {MAX_MPS_BYTES // (1024 * 1024)} MB.")
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
    pairs = matches(records)
    loaded = MpsFile(
        name=os.path.basename(name)[:255],
        sha256=digest,
        format=MpsFile.Format.CSV if is_csv else MpsFile.Format.FIXED,
        lines=len(records),
        removals=sum(r.flag == MpsMatch.Flag.REMOVE for r in records),
        deceased=sum(r.flag == MpsMatch.Flag.DECEASED for r in records),
        matched=len({r.line for r, _ in pairs}),
        loaded_by=actor,
    )
    loaded._history_user = actor
    loaded._change_reason = f"MPS file loaded: {len(records):,} record(s)"
    loaded.save()
    for record, customer in pairs:
        match = MpsMatch(customer=customer, mps_file=loaded, line=record.line, flag=record.flag,
                         requested_on=record.requested_on)  # fmt: skip
        match._history_user = actor
        match._change_reason = f"MPS file {loaded.pk}, line {record.line}"
        match.save()
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
    return loaded


def bereavement_of(customer: Customer) -> Bereavement | None:
    return Bereavement.objects.filter(customer=customer).first()


@transaction.atomic
def customer_record_bereavement(
    *,
    actor,
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
    record._history_user = actor
    record._change_reason = f"Bereavement recorded ({Bereavement.Source(source).label})"
    record.save()
    pref_source = PreferenceChange.Source.MPS_FILE if source == Bereavement.Source.MPS_FILE else (
        PreferenceChange.Source.BEREAVEMENT)  # fmt: skip
    received_at = timezone.now()
    for purpose, channel in preference_keys():
        if purpose in WITHDRAWN_BY_OBJECTION:
            preference_record(actor=actor, customer=customer, purpose=purpose, channel=channel, granted=False,
                              source=pref_source, received_at=received_at, evidence=DECEASED_EVIDENCE)  # fmt: skip
    suppression_add_customer(customer=customer, channels=Channel.values, reason=SuppressionEntry.Reason.DECEASED)
    return record
