"""The statutory clock, as pure functions.

UK GDPR Art 12(3) and the ICO's guidance ("Time limits for responding to data protection
rights requests"): a request is due one calendar month after the day it is received, the
day of receipt counting as day one (received 3 March, due 3 April). Where the following
month has no corresponding day, the last day of that month. Where the due day falls on a
weekend or a bank holiday, the next working day. Bank holidays are England and Wales's,
from the maintained `holidays` package.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta

from privacy_portal.legal import COMPLAINT_ACKNOWLEDGE_DAYS, DSAR_RESPONSE_MONTHS

# England and Wales share their bank holidays; the package calls the subdivision "ENG".
BANK_HOLIDAY_COUNTRY = "GB"
BANK_HOLIDAY_SUBDIVISION = "ENG"


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(BANK_HOLIDAY_COUNTRY, subdiv=BANK_HOLIDAY_SUBDIVISION, years=year)


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def next_working_day(day: datetime.date) -> datetime.date:
    """`day` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def due_date(start: datetime.date, months: int = DSAR_RESPONSE_MONTHS) -> datetime.date:
    """The corresponding day `months` calendar months after `start` (its last day if the month
    is shorter), moved to the next working day in England and Wales."""
    if months < 0:
        raise ValueError("months must not be negative")
    return next_working_day(start + relativedelta(months=months))


def complaint_acknowledge_by(received: datetime.date) -> datetime.date:
    """DPA 2018 s164A(4): acknowledge "within the period of 30 days beginning with the day on
    which the complaint is received". Counting the day of receipt as day one (the cautious
    reading), the last day is received + 29 days. Not moved for weekends: the statute counts days."""
    return received + datetime.timedelta(days=COMPLAINT_ACKNOWLEDGE_DAYS - 1)
