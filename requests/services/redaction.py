"""Redaction: take a person's identifiers out of free text that must itself be kept.

Used by erasure (requests.services.erasure) on case notes, descriptions and change reasons:
every form of the customer's names, emails, phone numbers, postcodes and address lines ever
held is replaced by REDACTED, however it was written ("+44 (0)7911 123456", "07911-123456",
"sw1a1aa"). Names match whole words only, so "Ann" leaves "Annual" alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import phonenumbers

from customers.models import Customer

REDACTED = "[erased]"

Redact = Callable[[str], str]

_SEP = r"[\s.\-]?"
IDENTIFYING_FIELDS = ("first_name", "last_name", "email", "phone", "postcode", "address_line1", "address_line2")


def _phone_pattern(value: str) -> str:
    """Any way of writing the number: +447911123456, +44 (0)7911 123456, 0044 7911-123 456, 07911123456."""
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return re.escape(value)
    body = _SEP.join(re.escape(d) for d in str(number.national_number))
    return rf"(?:(?:\+|00)?{number.country_code}{_SEP}(?:\(0\){_SEP})?|0){_SEP}{body}"


def _postcode_pattern(value: str) -> str:
    compact = re.sub(r"\s+", "", value)
    return rf"{re.escape(compact[:-3])}\s*{re.escape(compact[-3:])}" if len(compact) > 3 else re.escape(value)


def redactor_for(customer: Customer, *, keep: Iterable[str] = ()) -> Redact:
    """A function replacing, in a text, every name, email, phone number, postcode and address
    line the customer has ever had on record (the live row and all its history) by REDACTED.
    Values in `keep` (e.g. the placeholder name of an erased record) are not identifiers."""
    keep = set(keep)
    values: dict[str, set[str]] = {f: set() for f in IDENTIFYING_FIELDS}
    rows = [tuple(getattr(customer, f) for f in IDENTIFYING_FIELDS), *customer.history.values_list(*IDENTIFYING_FIELDS)]
    for row in rows:
        for name, value in zip(IDENTIFYING_FIELDS, row, strict=True):
            if value and value.strip() and value not in keep:
                values[name].add(value.strip())
    patterns = set()
    for name in ("first_name", "last_name"):
        patterns |= {rf"\b{re.escape(v)}\b" for v in values[name] if len(v) >= 2}
    patterns |= {re.escape(v) for v in values["email"]}
    patterns |= {_phone_pattern(v) for v in values["phone"]}
    patterns |= {_postcode_pattern(v) for v in values["postcode"]}
    patterns |= {re.escape(v) for f in ("address_line1", "address_line2") for v in values[f] if len(v) >= 5}
    if not patterns:
        return lambda text: text
    regex = re.compile("|".join(sorted(patterns, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: regex.sub(REDACTED, text) if text else text


def set_text(row, name: str, value: str) -> bool:
    """Set a text field, cut to its length ("[erased]" may be longer than a short name).
    True if the value changed."""
    limit = row._meta.get_field(name).max_length
    value = value[:limit] if limit and value else value
    if value == getattr(row, name):
        return False
    setattr(row, name, value)
    return True


def redact_rows(rows: Iterable, fields: Iterable[str], redact: Redact) -> list:
    """Redact `fields` on each row in memory; return the rows that changed."""
    changed = []
    for row in rows:
        dirty = False
        for name in fields:
            old = getattr(row, name)
            if old:
                dirty = set_text(row, name, redact(old)) or dirty
        if dirty:
            changed.append(row)
    return changed
