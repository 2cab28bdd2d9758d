"""Deadline reminders: the handler before a case is due, the DPO once it is overdue.

Run daily (privacy_portal.schedule). Each reminder is sent once per case per threshold,
however often the job runs or however many copies run at once: a ReminderSent row is
written first (unique per case and threshold) in the same transaction as the email is
sent, so a second run skips it and a failed send leaves no row (the next run tries again).

The threshold's key carries the due date ("before7:2026-04-03", "overdue:2026-04-03"): when
the due date moves (an extension, a clarification answered), the handler is reminded again
about the new date, once.

Choices: a case whose clock is stopped (awaiting clarification) is not reminded of, since
its due date will move; an unassigned case's reminder goes to the DPO, who assigns; a run
that missed a day still sends the most urgent reminder due (2 days before, if 1 day is
left), never the ones it has overtaken. Emails hold the case reference, right, status and
due date only: never the customer's or the requester's personal data.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from privacy_portal import legal

from ..models import Case, ReminderSent

BEFORE_KEY = "before{days}:{due}"
OVERDUE_KEY = "overdue:{due}"

SUBJECT_BEFORE = "{reference} is due in {left} (by {due})"
SUBJECT_OVERDUE = "Overdue: {reference} was due {due}"
BODY_BEFORE = (
    "Rights request {reference} ({right}) is due by {due}: {left} left.\n"
    "Status: {status}.\n\n"
    "Open it from your case queue in the Privacy Portal. This reminder is sent once; "
    "it holds no personal data.\n"
)
BODY_OVERDUE = (
    "Rights request {reference} ({right}) was due by {due} and is {late} overdue.\n"
    "Status: {status}. Handler: {handler}.\n\n"
    "The requester may complain to the ICO about a late response. Open it from the case "
    "overview in the Privacy Portal. This alert is sent once; it holds no personal data.\n"
)


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _threshold(left: int) -> str | None:
    """The most urgent reminder due with `left` days to go: 'before2' when 1 day is left."""
    if left < 0:
        return "overdue"
    reached = [days for days in legal.CASE_REMINDER_DAYS_BEFORE if left <= days]
    return f"before{min(reached)}" if reached else None


def _message(case: Case, kind: str, left: int) -> tuple[str, str, list[str]]:
    due = f"{case.due_on:%A %-d %B %Y}"
    common = {
        "reference": case.reference,
        "right": case.get_right_display(),
        "status": case.get_status_display(),
        "due": due,
    }
    if kind == "overdue":
        handler = case.handler.get_username() if case.handler_id else "unassigned"
        subject = SUBJECT_OVERDUE.format(**common)
        body = BODY_OVERDUE.format(**common, late=_days(-left), handler=handler)
        return subject, body, [settings.DPO_EMAIL]
    handler_email = case.handler.email if case.handler_id else ""
    subject = SUBJECT_BEFORE.format(**common, left=_days(left))
    body = BODY_BEFORE.format(**common, left=_days(left))
    return subject, body, [handler_email or settings.DPO_EMAIL]


def _send_once(case: Case, kind: str, left: int) -> bool:
    key = (
        OVERDUE_KEY.format(due=case.due_on.isoformat())
        if kind == "overdue"
        else BEFORE_KEY.format(days=kind.removeprefix("before"), due=case.due_on.isoformat())
    )
    subject, body, to = _message(case, kind, left)
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReminderSent(case=case, threshold=key).save()
        except IntegrityError:
            return False  # already sent (by an earlier run, or one running now)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    return True


def reminders_send(*, today: datetime.date | None = None) -> dict:
    """Send the reminders due today. Returns counts for the job's record (no personal data)."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=max(legal.CASE_REMINDER_DAYS_BEFORE))
    candidates = (
        Case.objects.filter(closed_on__isnull=True, due_on__isnull=False, due_on__lte=horizon)
        .exclude(status=Case.Status.AWAITING_CLARIFICATION)
        .select_related("handler")
        .only("id", "reference", "right", "status", "due_on", "handler", "handler__email", "handler__username")
        .order_by("due_on", "id")
    )
    report = {"considered": 0, "handler_reminders": 0, "overdue_alerts": 0}
    for case in candidates.iterator(chunk_size=500):
        report["considered"] += 1
        left = (case.due_on - today).days
        kind = _threshold(left)
        if kind is None or not _send_once(case, kind, left):
            continue
        report["overdue_alerts" if kind == "overdue" else "handler_reminders"] += 1
    return report
