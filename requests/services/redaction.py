"""Redaction: take a person's identifiers out of free text that must itself be kept.

Used by erasure (requests.services.erasure) on case notes, descriptions and change reasons:
every identifying value the person has ever had on record (customers.subject.Identifiers:
the live record and every version in its history) is replaced by REDACTED, however it was
written:

- names and surnames as whole words, also possessive ("Smith's"), but never inside a longer
  word ("Smithson" is not "Smith", "Ann" leaves "Annual"); a title with the surname
  ("Mrs Smith") goes as one;
- emails in any case; phone numbers in any UK writing ("+44 (0)7911 123456", "(07911)
  123456", "07911-123456", "0044 7911 123456"); postcodes with or without the space;
- address lines, town and county;
- the date of birth in every common UK spelling: 14/07/1961, 14-07-61, 14.07.1961, 14/7/61,
  14 July 1961, 14th July 1961, 14th of July 1961, 14 Jul 1961, July 14, 1961, 1961-07-14.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable, Iterable

import phonenumbers

from customers.models import Customer
from customers.subject import Identifiers

REDACTED = "[erased]"

Redact = Callable[[str], str]

# Between the digits of a phone number: nothing, a space, dot, dash or bracket (a few at most).
_SEP = r"[\s.\-()]{0,3}"
# A whole word: no letter or digit either side (an apostrophe after it is fine: "Smith's").
_BEFORE, _AFTER = r"(?<![^\W_])", r"(?![^\W_])"
MIN_NAME_LENGTH = 2
MIN_ADDRESS_LENGTH = 5


def _phone_pattern(value: str) -> str:
    """Any way of writing the number: +447911123456, +44 (0)7911 123456, 0044 7911-123 456, 07911123456."""
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return re.escape(value)
    body = _SEP.join(re.escape(d) for d in str(number.national_number))
    national = rf"(?:\(?0{_SEP})"
    international = rf"(?:(?:\+|00){number.country_code}{_SEP}(?:\(0\){_SEP})?)"
    return rf"(?<!\d)(?:{international}|{national}){body}(?!\d)"


def _postcode_pattern(value: str) -> str:
    compact = re.sub(r"\s+", "", value)
    if len(compact) <= 3:
        return _BEFORE + re.escape(value) + _AFTER
    return rf"{_BEFORE}{re.escape(compact[:-3])}\s*{re.escape(compact[-3:])}{_AFTER}"


def _word(value: str) -> str:
    # Spaces inside a value ("Lower Quibbleton") match any run of spaces.
    return _BEFORE + r"\s+".join(re.escape(part) for part in value.split()) + _AFTER


def _date_patterns(day: datetime.date) -> list[str]:
    d, m = day.day, day.month
    dd, mm = rf"0?{d}", rf"0?{m}"
    year = rf"(?:{day.year}|{day.year % 100:02d})"
    suffix = r"(?:st|nd|rd|th)?"
    month = rf"(?:{calendar.month_name[m]}|{calendar.month_abbr[m]}\.?)"
    sep = r"[/\-.\s]"
    return [
        rf"(?<!\d){dd}{sep}{mm}{sep}{year}(?!\d)",  # 14/07/1961, 14-07-61, 14.07.1961
        rf"(?<!\d){day.year}{sep}{mm}{sep}{dd}(?!\d)",  # 1961-07-14
        rf"(?<!\d){dd}{suffix}\s+(?:of\s+)?{month},?\s+{year}(?!\d)",  # 14 July 1961, 14th of July 61
        rf"{_BEFORE}{month}\s+{dd}{suffix},?\s+{year}(?!\d)",  # July 14, 1961
    ]


def redactor(ids: Identifiers) -> Redact:
    """A function replacing, in a text, every identifying value in `ids` by REDACTED."""
    patterns = set()
    names = {v for v in (*ids.first_names, *ids.last_names) if len(v) >= MIN_NAME_LENGTH}
    patterns |= {_word(v) for v in names}
    patterns |= {rf"{_word(t)}\.?\s+{_word(last)}" for t in ids.titles for last in ids.last_names}
    patterns |= {re.escape(v) for v in ids.emails}
    patterns |= {_phone_pattern(v) for v in ids.phones}
    patterns |= {_postcode_pattern(v) for v in ids.postcodes}
    patterns |= {_word(v) for v in ids.address_lines if len(v) >= MIN_ADDRESS_LENGTH}
    patterns |= {_word(v) for v in (*ids.towns, *ids.counties) if len(v) >= MIN_NAME_LENGTH}
    for day in ids.dates_of_birth:
        patterns |= set(_date_patterns(day))
    if not patterns:
        return lambda text: text
    regex = re.compile("|".join(sorted(patterns, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: regex.sub(REDACTED, text) if text else text


def redactor_for(customer: Customer, *, keep: Iterable[str] = ()) -> Redact:
    """The redactor of every identifier the customer has ever had on record. Values in `keep`
    (e.g. the placeholder name of an erased record) are not identifiers."""
    return redactor(Identifiers.of(customer, keep=keep))


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
