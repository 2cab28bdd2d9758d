"""The 72-hour clock's reminders: the DPO at 24, 48 and 66 hours after awareness, and an alert
once the 72 hours have passed with no initial report to the ICO (UK GDPR Art 33(1)).

Run every few minutes (privacy_portal.schedule): the thresholds are hours, not days. Each goes
once per breach per threshold through the one reminder engine
(requests.services.remind.remind_once). The key carries the awareness time, so
when the DPO corrects it the reminders follow the new clock. A breach the DPO decided not to
report, or already reported, or closed, is not reminded of. A run that missed a threshold sends
only the latest one reached. Emails hold the reference and the times only.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from privacy_portal import legal

from ..models import Breach, BreachNotification
from .remind import remind_once

KEY = "breach:{pk}:{threshold}:{aware}"
SUBJECT = {
    "before": "Breach {reference}: {left} left to report to the ICO (by {due})",
    "overdue": "Overdue: breach {reference} was due to be reported to the ICO by {due}",
}
BODY = (
    "Personal-data breach {reference} ({status}) was known to the company from {aware}.\n"
    "The ICO must have the initial report by {due} "
    f"({legal.BREACH_REPORT_HOURS} hours, UK GDPR Art 33(1)): {{when}}.\n"
    "{decision}\n\n"
    "Open it from the breach register in the Privacy Portal. "
    f"A report after {legal.BREACH_REPORT_HOURS} hours must give the "
    "reasons for the delay. This reminder is sent once; it holds no personal data.\n"
)


def _hours(hours: float) -> str:
    whole = int(hours)
    return f"{whole} hour" if whole == 1 else f"{whole} hours"


def breach_reminders_send(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send the breach reminders due at `now`. Counts only, for the job's record."""
    now = now or timezone.now()
    report = {"reminders": 0, "overdue": 0}
    first = datetime.timedelta(hours=min(legal.BREACH_REMINDER_HOURS))
    waiting = (
        Breach.objects.filter(closed_at__isnull=True, aware_at__lte=now - first)
        .exclude(report_to_ico=False)
        .exclude(notifications__phase=BreachNotification.Phase.INITIAL)
        .only("id", "reference", "status", "aware_at", "due_at", "report_to_ico")
        .order_by("due_at", "id")
    )
    for breach in waiting.iterator(chunk_size=500):
        threshold = legal.breach_reminder_due(breach.aware_at, now)
        if threshold is None:
            continue
        left = legal.breach_hours_left(breach.aware_at, now)
        due = f"{timezone.localtime(breach.due_at):%A %-d %B %Y, %H:%M %Z}"
        kind = "overdue" if threshold == "overdue" else "before"
        subject = SUBJECT[kind].format(reference=breach.reference, left=_hours(left), due=due)
        body = BODY.format(
            reference=breach.reference,
            status=breach.get_status_display(),
            aware=f"{timezone.localtime(breach.aware_at):%A %-d %B %Y, %H:%M %Z}",
            due=due,
            when=f"{_hours(-left)} overdue" if kind == "overdue" else f"{_hours(left)} left",
            decision="The DPO decided to report it." if breach.report_to_ico else "Not yet assessed.",
        )
        key = KEY.format(pk=breach.pk, threshold=threshold, aware=breach.aware_at.isoformat())
        if remind_once(key, subject=subject, body=body, to=[settings.DPO_EMAIL]):
            report[kind if kind == "overdue" else "reminders"] += 1
    return report
