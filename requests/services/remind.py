"""The one reminder engine: every reminder the portal sends to staff (a rights request's due
date, a complaint's acknowledgement and response target, an ICO deadline, a breach's 72 hours)
goes through `remind_once`, over one idempotency record (requests.ReminderKey).

Each reminder goes once per key, however often its job runs or however many copies run at
once: the key's row (unique) is written first, in the same transaction as the email is sent,
so a second run skips it and a failed send leaves no row (the next run tries again). A key
carries the date it is about ("case:7:before2:2026-04-03"), so when that date moves the
reminder goes again, once, about the new date.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from privacy_portal.mail import email_staff
from privacy_portal.tracked import save_tracked

from ..models import Case, ReminderKey

REASON_SENT = "Reminder sent"


def remind_once(key: str, *, subject: str, body: str, to: list[str], case: Case | None = None) -> bool:
    """Send the reminder `key` unless it was sent already; True if this call sent it.

    `case`: the rights request the reminder is about, so that it is part of the case's file."""
    with transaction.atomic():
        try:
            # actor None: the reminder job sends it, not whoever might be signed in.
            save_tracked(ReminderKey(key=key, case=case), actor=None, reason=REASON_SENT, savepoint=True)
        except IntegrityError:
            return False  # already sent (by an earlier run, or one running now)
        email_staff(to=to, subject=subject, body=body, kind=f"reminder:{key}", case_id=case.pk if case else None)
    return True


def reminder_threshold(left: int, days_before: tuple[int, ...], *, on_the_day: bool = False) -> str | None:
    """The most urgent reminder due with `left` days to go: "overdue" once the date has passed,
    "today" on the day (if `on_the_day`), else "before2" when 1 day is left of (7, 2); None
    before the first. A run that missed a day so sends the most urgent one, never the ones it
    has overtaken."""
    if left < 0:
        return "overdue"
    if on_the_day and left == 0:
        return "today"
    reached = [days for days in days_before if left <= days]
    return f"before{min(reached)}" if reached else None


def days_text(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"
