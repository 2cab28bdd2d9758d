"""The promise report: the privacy notice's promises, and the law's duties, as live checks."""

from .base import BROKEN, KEPT, NOT_MEASURABLE, Check, Measurement, Outcome, Period, PromiseException
from .register import BY_KEY, REGISTER

__all__ = [
    "BROKEN",
    "BY_KEY",
    "KEPT",
    "NOT_MEASURABLE",
    "REGISTER",
    "Check",
    "Measurement",
    "Outcome",
    "Period",
    "PromiseException",
]
