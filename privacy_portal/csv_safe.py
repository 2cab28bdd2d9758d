"""The one CSV writer for every CSV the portal produces (CSV injection, OWASP).

A spreadsheet runs a cell that starts with =, +, -, @, a tab or a carriage return as a formula
(=HYPERLINK(...), @SUM(...)). Such text gets a leading apostrophe, which spreadsheets show as
text and do not display. A signed number (+44 7911 123456, -12.50) is data, not a formula, and
stays as it is; a blank cell stays blank; numbers and dates are written as they are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-][\d .]*")


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet may read it: text that would run as a formula is quoted."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if value[0] in "+-" and _SIGNED_NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeWriter:
    """csv.writer with every cell passed through safe_cell; writerow returns what was written."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out, **kwargs) -> SafeWriter:
    return SafeWriter(out, **kwargs)


class _Echo:
    """A file whose write returns what it was given: the line csv.writer made."""

    def write(self, value: str) -> str:
        return value


def internal_writer(out, **kwargs):
    """A plain csv.writer for a file only the portal reads back, never opened in a spreadsheet
    (a queued call list's rows, read by the screening task): its cells must come back exactly as
    written, so they are not guarded. Anything a person downloads uses `writer`."""
    return csv.writer(out, **kwargs)


def line_writer(**kwargs) -> SafeWriter:
    """A writer whose writerow returns the CSV line instead of writing it: for streaming a
    download row by row (StreamingHttpResponse) without holding the file in memory."""
    return SafeWriter(_Echo(), **kwargs)
