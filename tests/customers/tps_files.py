"""Building TPS/CTPS files in the TPS's published layouts, for tests and benches."""

from __future__ import annotations

import datetime
import io

from customers.models import TpsRegister
from customers.services.tps import tps_load


def spaced(code: str, rest: str) -> bytes:
    """With spaces: dialling code 5 left-justified, remainder 7 right-justified."""
    return code.ljust(5).encode() + rest.rjust(7).encode()


def plain(national: str) -> bytes:
    """Without spaces: 12 characters left-justified."""
    return national.ljust(12).encode()


def tps_file(*records: bytes) -> io.BytesIO:
    return io.BytesIO(b"".join(r + b"\r\n" for r in records))


def load(actor, *records: bytes, register=TpsRegister.TPS, kind="full", on: datetime.date, name="tps.txt", **kw):
    return tps_load(actor=actor, register=register, kind=kind, file=tps_file(*records), name=name, file_date=on, **kw)
