"""The statutory clock: one calendar month, last day of short months, next working day."""

from __future__ import annotations

import datetime

import pytest

from requests.deadlines import due_date, is_working_day

D = datetime.date


@pytest.mark.parametrize(
    ("received", "months", "due", "why"),
    [
        (D(2025, 3, 3), 1, D(2025, 4, 3), "the ICO's example: 3 March is due 3 April (a Thursday in 2025)"),
        (D(2025, 1, 31), 1, D(2025, 2, 28), "no 31 February: the last day of February (a Friday in 2025)"),
        (D(2026, 1, 31), 1, D(2026, 3, 2), "28 February 2026 is a Saturday -> Monday 2 March"),
        (D(2027, 1, 29), 1, D(2027, 3, 1), "no 29 February 2027: 28 February, a Sunday -> Monday 1 March"),
        (D(2028, 1, 31), 1, D(2028, 2, 29), "leap year: 29 February 2028 (a Tuesday)"),
        (D(2028, 1, 29), 1, D(2028, 2, 29), "leap year: the 29th exists"),
        (D(2026, 8, 31), 1, D(2026, 9, 30), "30-day month: last day of September (a Wednesday)"),
        (D(2026, 10, 31), 1, D(2026, 11, 30), "30 November 2026 is a Monday"),
        (D(2026, 2, 28), 1, D(2026, 3, 30), "28 March 2026 is a Saturday -> Monday 30 March"),
        (D(2026, 3, 3), 3, D(2026, 6, 3), "extension: three months from the start (a Wednesday)"),
        (D(2026, 11, 30), 3, D(2027, 3, 1), "28 Feb 2027 is a Sunday -> Monday 1 March"),
        (D(2026, 3, 5), 0, D(2026, 3, 5), "zero months: the same working day"),
    ],
)
def test_due_dates(received, months, due, why):
    assert due_date(received, months) == due, why


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
        (D(2026, 3, 6), D(2026, 4, 7), "6 April is Easter Monday -> Tuesday 7 April"),
        (D(2026, 3, 3), D(2026, 4, 7), "3 April 2026 is Good Friday, 6 April Easter Monday -> Tuesday 7"),
        # Christmas 2027: 25 Dec is a Saturday, 26 Dec a Sunday: substitutes Mon 27 and Tue 28.
        (D(2027, 11, 25), D(2027, 12, 29), "Christmas 2027 substitutes -> Wednesday 29 December"),
        (D(2027, 11, 27), D(2027, 12, 29), "27 Dec 2027 is the Christmas substitute"),
        # Christmas 2026: Fri 25, Sat 26 -> Boxing Day substitute Monday 28.
        (D(2026, 11, 25), D(2026, 12, 29), "25 Dec Friday, 28 Dec substitute Boxing Day -> Tuesday 29"),
        # New Year 2028 falls on a Saturday: substitute Monday 3 January.
        (D(2027, 12, 1), D(2028, 1, 4), "1 Jan 2028 Saturday, substitute Mon 3 Jan -> Tuesday 4"),
        # Early May bank holiday 2026: Monday 4 May.
        (D(2026, 4, 4), D(2026, 5, 5), "4 April -> 4 May is a bank holiday -> 5 May"),
        # Summer bank holiday in England and Wales (not Scotland's): Monday 31 August 2026.
        (D(2026, 7, 31), D(2026, 9, 1), "31 August 2026 is the summer bank holiday in England and Wales"),
    ],
)
def test_bank_holidays_in_england_and_wales_move_the_due_date(received, due, why):
    assert due_date(received) == due, why


def test_good_friday_is_not_a_working_day():
    assert not is_working_day(D(2026, 4, 3))


def test_scottish_only_holidays_do_not_count():
    # 2 January and St Andrew's Day are Scottish bank holidays, not English.
    assert is_working_day(D(2026, 1, 2))
    assert is_working_day(D(2026, 11, 30))


def test_negative_months_are_refused():
    with pytest.raises(ValueError):
        due_date(D(2026, 3, 3), -1)


def test_a_complaint_is_acknowledged_within_30_days_beginning_with_the_day_of_receipt():
    from requests.deadlines import complaint_acknowledge_by

    assert complaint_acknowledge_by(D(2026, 3, 3)) == D(2026, 4, 1)
    assert complaint_acknowledge_by(D(2026, 12, 20)) == D(2027, 1, 18)
