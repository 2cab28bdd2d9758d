"""What a date, a number or a piece of text may be, wherever it comes from.

One rule for every way in: form fields (the classes below, used by every form), query-string
filters (they are forms too), CSV imports and webhooks (the check_* functions). A value
outside the rule is refused with a message saying what is allowed, never passed on to a
database that would fail on it (a server error) or to date arithmetic that would overflow.

- Dates: from 1 January of legal.EARLIEST_RECORD_YEAR (nothing the company holds is older),
  dates of birth from legal.EARLIEST_BIRTH_YEAR, and at most legal.LATEST_DATE_YEARS_AHEAD
  years ahead. Whether a date may be in the future at all is each service's own rule.
- Integers: within the range of the database column they are compared with (a 64-bit id
  unless the field says otherwise).
- Text: no NUL character (PostgreSQL cannot store one; forms refuse it already, so the
  check is for JSON bodies and files).
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from . import legal

# PostgreSQL bigint, the type of every id (DEFAULT_AUTO_FIELD = BigAutoField).
BIGINT_MAX = 2**63 - 1
# PostgreSQL integer (PositiveIntegerField and IntegerField columns).
INTEGER_MAX = 2**31 - 1

EARLIEST_DATE = datetime.date(legal.EARLIEST_RECORD_YEAR, 1, 1)
EARLIEST_BIRTH_DATE = datetime.date(legal.EARLIEST_BIRTH_YEAR, 1, 1)

ERR_TOO_EARLY = "Enter a date on or after {earliest:%-d %B %Y}: {why}."
WHY_RECORDS = "the company holds no records from before then"
WHY_BIRTH = "a date of birth before then cannot be right"
ERR_TOO_LATE = "Enter a date no later than {latest:%-d %B %Y} ({years} years from today)."
ERR_NUL = "Remove the invisible NUL character (\\0): it cannot be stored."


def is_ascii_digits(value: str) -> bool:
    """True for 0-9 only. str.isdigit() is also true for "²" and other Unicode digits, which
    int() refuses (a server error) or reads as a different number."""
    return bool(value) and value.isascii() and value.isdigit()


def parse_id(value: str | None, *, high: int = BIGINT_MAX) -> int | None:
    """An id (or cursor) typed, pasted or tampered with: a number from 0 to `high` in ASCII
    digits, or None. Every parse of an id from text goes through this."""
    value = (value or "").strip()
    if not is_ascii_digits(value) or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if number <= high else None


def latest_date() -> datetime.date:
    return timezone.localdate() + relativedelta(years=legal.LATEST_DATE_YEARS_AHEAD)


def check_date(value: datetime.date | None, *, earliest: datetime.date = EARLIEST_DATE) -> None:
    """Raise a ValidationError (code "date_bounds") if `value` is outside the sane range."""
    if value is None:
        return
    if isinstance(value, datetime.datetime):
        # The calendar date as written, in its own zone: no conversion, which is what overflows
        # at year 1 or 9999.
        value = value.date()
    if value < earliest:
        why = WHY_BIRTH if earliest == EARLIEST_BIRTH_DATE else WHY_RECORDS
        raise ValidationError(ERR_TOO_EARLY.format(earliest=earliest, why=why), code="date_bounds")
    latest = latest_date()
    if value > latest:
        raise ValidationError(
            ERR_TOO_LATE.format(latest=latest, years=legal.LATEST_DATE_YEARS_AHEAD), code="date_bounds"
        )


def check_birth_date(value: datetime.date | None) -> None:
    check_date(value, earliest=EARLIEST_BIRTH_DATE)


def check_text(value: str) -> None:
    """Raise a ValidationError (code "null_characters_not_allowed") if `value` holds a NUL."""
    if "\x00" in value:
        raise ValidationError(ERR_NUL, code="null_characters_not_allowed")


def max_length(model: type[models.Model], name: str) -> int:
    """The column length of a text field of `model` (each service checks it before saving)."""
    limit = getattr(model._meta.get_field(name), "max_length", None)
    if not isinstance(limit, int):
        raise TypeError(f"{model._meta.label}.{name} has no max_length")
    return limit


# --- Form fields: every form uses these, never django.forms' own (tests/privacy_portal/test_bounds.py) ---


class DateField(forms.DateField):
    """A date within the sane range (a date of birth: `birth=True`)."""

    def __init__(self, *args, birth: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.append(check_birth_date if birth else check_date)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateTimeField(forms.DateTimeField):
    """A date and time within the sane range; checked before anything converts its zone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.append(check_date)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class IntegerField(forms.IntegerField):
    """A whole number that fits its column: bigint unless `max_value` says less."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_value", BIGINT_MAX)
        kwargs.setdefault("min_value", -BIGINT_MAX - 1)
        super().__init__(*args, **kwargs)
