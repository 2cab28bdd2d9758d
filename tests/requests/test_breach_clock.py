"""The 72-hour clock of UK GDPR Art 33(1) as a pure function: elapsed hours, shown in UK time,
so across the clock changes 72 hours are not three days of wall-clock hours."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from privacy_portal import legal

LONDON = ZoneInfo("Europe/London")


def uk(*args, fold: int = 0) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LONDON).replace(fold=fold)


@pytest.mark.parametrize(
    ("aware", "due_wall_clock", "due_utc_offset_hours"),
    [
        # An ordinary week in winter and in summer: three days later, same wall-clock time.
        (uk(2026, 1, 12, 9, 30), (2026, 1, 15, 9, 30), 0),
        (uk(2026, 7, 6, 16, 0), (2026, 7, 9, 16, 0), 1),
        # March: clocks go forward at 01:00 GMT on Sunday 29 March 2026; the wall clock reads
        # one hour later than three days on.
        (uk(2026, 3, 27, 10, 0), (2026, 3, 30, 11, 0), 1),
        (uk(2026, 3, 29, 0, 30), (2026, 4, 1, 1, 30), 1),
        # Aware just after the change: no hour lost.
        (uk(2026, 3, 29, 3, 0), (2026, 4, 1, 3, 0), 1),
        # October: clocks go back at 02:00 BST on Sunday 25 October 2026; one hour earlier.
        (uk(2026, 10, 23, 10, 0), (2026, 10, 26, 9, 0), 0),
        # Aware in the hour that happens twice: its first (BST) and second (GMT) occurrence.
        (uk(2026, 10, 25, 1, 30, fold=0), (2026, 10, 28, 0, 30), 0),
        (uk(2026, 10, 25, 1, 30, fold=1), (2026, 10, 28, 1, 30), 0),
        # The 72 hours end in the hour that happens twice: at its first 01:15 (BST), not the second.
        (uk(2026, 10, 22, 1, 15), (2026, 10, 25, 1, 15), 1),
        # Aware the evening before the March change, due across it.
        (uk(2026, 3, 28, 23, 59), (2026, 4, 1, 0, 59), 1),
    ],
)
def test_the_ico_report_is_due_72_elapsed_hours_after_awareness(aware, due_wall_clock, due_utc_offset_hours):
    due = legal.breach_report_due(aware)
    assert due.tzinfo is not None
    # Compared in UTC: Python subtracts two times of one zone by their wall clocks.
    elapsed = due.astimezone(datetime.UTC) - aware.astimezone(datetime.UTC)
    assert elapsed == datetime.timedelta(hours=legal.BREACH_REPORT_HOURS)
    assert due.astimezone(LONDON).replace(tzinfo=None, fold=0) == datetime.datetime(*due_wall_clock)
    assert due.utcoffset() == datetime.timedelta(hours=due_utc_offset_hours)


def test_across_the_march_change_the_wall_clock_span_is_73_hours_and_across_october_71():
    march = uk(2026, 3, 27, 10, 0)
    october = uk(2026, 10, 23, 10, 0)
    wall = lambda a, b: (b.replace(tzinfo=None) - a.replace(tzinfo=None)).total_seconds() / 3600  # noqa: E731
    assert wall(march, legal.breach_report_due(march)) == 73
    assert wall(october, legal.breach_report_due(october)) == 71


def test_an_awareness_time_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        legal.breach_report_due(datetime.datetime(2026, 10, 25, 1, 30))


def test_a_utc_awareness_time_gives_the_same_instant():
    aware = datetime.datetime(2026, 3, 28, 12, 0, tzinfo=datetime.UTC)
    assert legal.breach_report_due(aware) == aware + datetime.timedelta(hours=72)


@pytest.mark.parametrize(
    ("hours_after", "expected"),
    [
        (0, None),
        (23.99, None),
        (24, "24h"),
        (47.5, "24h"),
        (48, "48h"),
        (65.9, "48h"),
        (66, "66h"),
        (71.99, "66h"),
        (72, "overdue"),
        (500, "overdue"),
    ],
)
def test_the_reminder_due_is_the_latest_threshold_reached(hours_after, expected):
    # Aware the day before the October change: thresholds count elapsed hours, not the wall clock.
    aware = uk(2026, 10, 24, 8, 0)
    now = (aware.astimezone(datetime.UTC) + datetime.timedelta(hours=hours_after)).astimezone(LONDON)
    assert legal.breach_reminder_due(aware, now) == expected


def test_hours_left_count_down_to_zero_at_the_deadline_and_below_after():
    aware = uk(2026, 3, 28, 9, 0)
    assert legal.breach_hours_left(aware, aware) == 72
    assert legal.breach_hours_left(aware, legal.breach_report_due(aware)) == 0
    later = aware.astimezone(datetime.UTC) + datetime.timedelta(hours=80)
    assert legal.breach_hours_left(aware, later) == -8
