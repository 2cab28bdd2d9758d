"""The layout of the month-by-month column charts (the DPO's on-time shares, the promise report's
broken promises): each column's geometry worked out here, in the chart's own units, so the
template that draws the SVG only places it and holds no arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass(kw_only=True)
class Column:
    """One month's column, as `monthly_columns` places it: its left edge and top (x, y), its
    height, where its label is centred (label_x) and where its value is printed (text_y)."""

    x: float = 0
    y: float = 0
    height: float = 0
    label_x: float = 0
    text_y: float = 0


C = TypeVar("C", bound=Column)


@dataclass
class MonthlyColumns(Generic[C]):
    months: list[C]
    width: int = 720
    height: int = 170
    top: int = 20  # where a column of top_value reaches
    bottom: int = 140  # the baseline
    slot: float = 0  # the room each month has
    bar_width: float = 0
    label_y: int = 156  # the months' labels, under the baseline
    top_value: float = 1


def monthly_columns(
    months: list[C], values: Sequence[float], *, top_value: float = 1, width: int = 720, height: int = 170
) -> MonthlyColumns[C]:
    """Place one column a month side by side across `width`, each `value / top_value` of the way
    from the baseline to the top line, its value printed just above it."""
    top, bottom = 20, height - 30
    slot = width / max(len(months), 1)
    bar_width = round(slot * 0.6, 1)
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        month.x = round(i * slot + (slot - bar_width) / 2, 1)
        month.label_x = round(i * slot + slot / 2, 1)
        month.height = round((bottom - top) * value / top_value, 1)
        month.y = round(bottom - month.height, 1)
        month.text_y = round(month.y - 4, 1)
    return MonthlyColumns(
        months, width=width, height=height, top=top, bottom=bottom, slot=round(slot, 1), bar_width=bar_width,
        label_y=bottom + 16, top_value=top_value,
    )  # fmt: skip
