"""What the seeding commands' arguments share."""

from __future__ import annotations


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1 (a count, a batch size, a span of days)."""
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number
