"""Complaint reminders: the acknowledgement (s164A), the DPO's response target, and each
deadline the ICO set.

Run daily (privacy_portal.schedule, after the rights-request reminders of
requests.services.reminders, which this follows). Each reminder goes once per threshold,
however often the job runs or however many copies run at once, through the one reminder
engine (requests.services.remind.remind_once).

Keys carry the date they are about ("complaint:12:ack:before7:2026-04-03"): when the DPO
moves a response target, the handler is reminded again about the new date, once.

Who hears: before the acknowledgement or the response target, the complaint's handler (the
DPO while it is unassigned); once either is missed, the DPO. ICO deadlines go to the DPO,
who answers the ICO: 7 and 2 days before, on the day, and once overdue. A run that missed a
day sends the most urgent reminder due, never the ones it has overtaken. Emails hold the
complaint's reference, status and dates only: never the complainant's personal data nor
what the complaint or the ICO's question is about.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from privacy_portal import legal

from ..models import Complaint, IcoDeadline
from .remind import days_text, remind_once, reminder_threshold

S = Complaint.Status

KEY = "complaint:{pk}:{what}:{threshold}:{due}"
ICO_KEY = "ico_deadline:{pk}:{threshold}:{due}"

WHAT = {
    "ack": f"acknowledgement (DPA 2018 s164A: within {legal.COMPLAINT_ACKNOWLEDGE_DAYS} days of receipt)",
    "response": "response (the target the DPO set)",
}

SUBJECT_BEFORE = "{reference}: {what_short} due in {left} (by {due})"
SUBJECT_OVERDUE = "Overdue: {reference} {what_short} was due {due}"
BODY_BEFORE = (
    "Complaint {reference} needs its {what} by {due}: {left} left.\n"
    "Status: {status}.\n\n"
    "Open it from the complaints list in the Privacy Portal. This reminder is sent once; "
    "it holds no personal data.\n"
)
BODY_OVERDUE = (
    "Complaint {reference} needed its {what} by {due} and is {late} overdue.\n"
    "Status: {status}. Handler: {handler}.\n\n"
    "Open it from the complaints list in the Privacy Portal. This alert is sent once; it holds no personal data.\n"
)
ICO_SUBJECT = {
    "before": "ICO deadline for {reference} in {left} (by {due})",
    "today": "ICO deadline for {reference} is today ({due})",
    "overdue": "Overdue: ICO deadline for {reference} was {due}",
}
ICO_BODY = (
    "The ICO's case {ico_reference} on complaint {reference} has a deadline on {due} ({when}).\n"
    "Complaint status: {status}.\n\n"
    "Record the answer on the complaint's ICO panel in the Privacy Portal. This reminder is sent "
    "once; it holds no personal data.\n"
)


def _complaint_reminder(complaint: Complaint, what: str, due: datetime.date, today: datetime.date) -> str | None:
    """Send the reminder due for one date of one complaint; returns its kind if sent."""
    left = (due - today).days
    threshold = reminder_threshold(left, legal.COMPLAINT_REMINDER_DAYS_BEFORE)
    if threshold is None:
        return None
    common = {
        "reference": complaint.reference,
        "what": WHAT[what],
        "what_short": "acknowledgement" if what == "ack" else "response",
        "status": complaint.get_status_display(),
        "due": f"{due:%A %-d %B %Y}",
    }
    if threshold == "overdue":
        handler = complaint.handler.get_username() if complaint.handler else "unassigned"
        subject = SUBJECT_OVERDUE.format(**common)
        body = BODY_OVERDUE.format(**common, late=days_text(-left), handler=handler)
        to = [settings.DPO_EMAIL]
    else:
        subject = SUBJECT_BEFORE.format(**common, left=days_text(left))
        body = BODY_BEFORE.format(**common, left=days_text(left))
        to = [(complaint.handler.email if complaint.handler else "") or settings.DPO_EMAIL]
    key = KEY.format(pk=complaint.pk, what=what, threshold=threshold, due=due.isoformat())
    return threshold if remind_once(key, subject=subject, body=body, to=to) else None


def _ico_reminder(deadline: IcoDeadline, today: datetime.date) -> str | None:
    left = (deadline.due_on - today).days
    threshold = reminder_threshold(left, legal.ICO_DEADLINE_REMINDER_DAYS_BEFORE, on_the_day=True)
    if threshold is None:
        return None
    complaint = deadline.ico_case.complaint
    due = f"{deadline.due_on:%A %-d %B %Y}"
    when = {"overdue": f"{days_text(-left)} ago, not answered", "today": "today"}.get(
        threshold, f"in {days_text(left)}"
    )
    subject = ICO_SUBJECT[threshold.rstrip("0123456789")].format(
        reference=complaint.reference, due=due, left=days_text(left)
    )
    body = ICO_BODY.format(
        ico_reference=deadline.ico_case.ico_reference,
        reference=complaint.reference,
        due=due,
        when=when,
        status=complaint.get_status_display(),
    )
    key = ICO_KEY.format(pk=deadline.pk, threshold=threshold, due=deadline.due_on.isoformat())
    return threshold if remind_once(key, subject=subject, body=body, to=[settings.DPO_EMAIL]) else None


def complaint_reminders_send(*, today: datetime.date | None = None) -> dict[str, int]:
    """Send the complaint and ICO reminders due today. Counts only, for the job's record."""
    today = today or timezone.localdate()
    report = {
        f"{what}_{kind}": 0
        for what in ("acknowledgement", "response", "ico_deadline")
        for kind in ("reminders", "overdue")
    }

    def count(sent: str | None, what: str) -> None:
        if sent is not None:
            report[f"{what}_{'overdue' if sent == 'overdue' else 'reminders'}"] += 1

    horizon = today + datetime.timedelta(days=max(legal.COMPLAINT_REMINDER_DAYS_BEFORE))
    fields = ("id", "reference", "status", "acknowledge_by", "response_due_on", "handler__email", "handler__username")
    unacknowledged = (
        Complaint.objects.filter(status=S.RECEIVED, acknowledged_on__isnull=True, acknowledge_by__lte=horizon)
        .select_related("handler")
        .only(*fields)
        .order_by("acknowledge_by", "id")
    )
    for complaint in unacknowledged.iterator(chunk_size=500):
        count(_complaint_reminder(complaint, "ack", complaint.acknowledge_by, today), "acknowledgement")
    awaiting_response = (
        Complaint.objects.filter(
            status__in=(S.RECEIVED, S.ACKNOWLEDGED, S.INVESTIGATING, S.ESCALATED),
            responded_on__isnull=True,
            response_due_on__lte=horizon,
        )
        .select_related("handler")
        .only(*fields)
        .order_by("response_due_on", "id")
    )
    for complaint in awaiting_response.iterator(chunk_size=500):
        assert complaint.response_due_on is not None  # filtered on it above
        count(_complaint_reminder(complaint, "response", complaint.response_due_on, today), "response")
    ico_horizon = today + datetime.timedelta(days=max(legal.ICO_DEADLINE_REMINDER_DAYS_BEFORE))
    deadlines = (
        IcoDeadline.objects.filter(answered_on__isnull=True, due_on__lte=ico_horizon)
        .exclude(ico_case__complaint__status=S.CLOSED)
        .select_related("ico_case__complaint")
        .order_by("due_on", "id")
    )
    for deadline in deadlines.iterator(chunk_size=500):
        count(_ico_reminder(deadline, today), "ico_deadline")
    return report
