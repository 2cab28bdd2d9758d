"""Deadline reminders: the handler before a case is due, the DPO once it is overdue.

Run daily (privacy_portal.schedule). Each reminder is sent once per case per threshold,
through the one reminder engine (requests.services.remind.remind_once).

The key carries the due date ("case:7:before7:2026-04-03", "case:7:overdue:2026-04-03"): when
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
from django.utils import timezone

from privacy_portal import legal

from ..models import Case
from .remind import days_text, remind_once, reminder_threshold

KEY = "case:{pk}:{threshold}:{due}"

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


def _message(case: Case, kind: str, left: int) -> tuple[str, str, list[str]]:
    due = f"{case.due_on:%A %-d %B %Y}"
    common = {
        "reference": case.reference,
        "right": case.get_right_display(),
        "status": case.get_status_display(),
        "due": due,
    }
    if kind == "overdue":
        handler = case.handler.get_username() if case.handler else "unassigned"
        subject = SUBJECT_OVERDUE.format(**common)
        body = BODY_OVERDUE.format(**common, late=days_text(-left), handler=handler)
        return subject, body, [settings.DPO_EMAIL]
    handler_email = case.handler.email if case.handler else ""
    subject = SUBJECT_BEFORE.format(**common, left=days_text(left))
    body = BODY_BEFORE.format(**common, left=days_text(left))
    return subject, body, [handler_email or settings.DPO_EMAIL]


def _send_once(case: Case, kind: str, left: int) -> bool:
    assert case.due_on is not None  # only cases with a due date are reminded
    subject, body, to = _message(case, kind, left)
    key = KEY.format(pk=case.pk, threshold=kind, due=case.due_on.isoformat())
    return remind_once(key, subject=subject, body=body, to=to, case=case)


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
        assert case.due_on is not None  # the candidates are open cases, which have a due date
        left = (case.due_on - today).days
        kind = reminder_threshold(left, legal.CASE_REMINDER_DAYS_BEFORE)
        if kind is None or not _send_once(case, kind, left):
            continue
        report["overdue_alerts" if kind == "overdue" else "handler_reminders"] += 1
    return report
