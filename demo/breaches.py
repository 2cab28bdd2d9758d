"""The breaches' part of `seed_demo`: three breaches in different states, made through the
services so each history is real.

- a misdirected parcel (Parcelway, the logistics processor): assessed as a risk, reported to
  the ICO within the 72 hours with a follow-up carrying the ICO's reference, two customers told
  by letter, the remedial task done, closed with its lessons;
- a post bag of order forms found unopened the next morning: no risk likely, not reported,
  with the reasons (Art 33(5)), closed;
- the US transcription provider's incident, reported by the processor four days ago and not yet
  assessed: its 72 hours have passed, so it shows as overdue on the register and the dashboard.

Idempotent: when any breach exists, the step leaves everything as it is.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from customers.models import Customer, Recipient
from privacy_portal.models import User
from requests.models import Breach
from requests.services import breaches as svc

HOUR = datetime.timedelta(hours=1)

LETTER = (
    "Dear customer,\n\nOn {date} a parcel with your order and its delivery note was delivered to a neighbour's "
    "address by our courier. The note showed your name, address and what you ordered; no payment details. "
    "The neighbour returned it unopened the same day.\n\nWe have asked the courier to check every label "
    "against the house number before delivery. You do not need to do anything, but be wary of unexpected "
    "calls or letters mentioning your order.\n\nIf you have questions, contact our Data Protection Officer "
    "at dpo@example.org or 0161 496 0000.\n"
)


def seed_demo_breaches(stdout) -> None:
    """seed_demo step: the three demo breaches, once."""
    if Breach.objects.exists():
        stdout.write("Demo breaches: already present.")
        return
    agent, handler, dpo = (User.objects.get(username=name) for name in ("agent", "handler", "dpo"))
    now = timezone.now()
    customers = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk")[:2])

    # 1. Reported in time, people told, closed.
    aware = now - 10 * 24 * HOUR
    parcel = svc.breach_report(
        actor=agent, summary="Parcel delivered to the wrong house", how_discovered="The neighbour phoned us",
        what_happened="Parcelway delivered an order with its delivery note to number 14 instead of number 41.",
        aware_at=aware, happened_at=aware - 5 * HOUR, now=aware + HOUR,
    )  # fmt: skip
    parcelway = Recipient.objects.filter(code="parcelway").first()
    svc.breach_update(
        actor=dpo, breach=parcel, summary=parcel.summary, what_happened=parcel.what_happened,
        how_discovered=parcel.how_discovered, discovered_by="Customer care", aware_at=aware,
        happened_at=parcel.happened_at, cause=Breach.Cause.PROCESSOR, data_categories=["basic_identifiers"],
        people_categories=["customers"], people_count=len(customers), records_count=len(customers),
        containment="Parcel collected back unopened; Parcelway told to check house numbers.",
        staff_training="Customer-care staff trained on breach reporting in 2026.",
        others_told="Parcelway Logistics Ltd",
        letter=LETTER.format(date=f"{timezone.localtime(aware):%-d %B %Y}"),
    )  # fmt: skip
    if parcelway:
        svc.breach_link_records(actor=dpo, breach=parcel, recipients=[parcelway])
    svc.breach_assess(
        actor=dpo, breach=parcel, consequences="A neighbour saw a name, an address and an order.",
        likelihood="possible", severity="possible", report_to_ico=True, ico_decision_reason="A risk to the customer.",
        tell_people="yes", tell_people_reason="",
    )  # fmt: skip
    svc.breach_notify_ico(actor=dpo, breach=parcel, phase="initial", sent_at=aware + 30 * HOUR, now=now)
    svc.breach_notify_ico(
        actor=dpo, breach=parcel, phase="follow_up", sent_at=aware + 4 * 24 * HOUR, ico_reference="IC-318204-K8M2",
        notes="Told the ICO the customers have been written to.", now=now,
    )  # fmt: skip
    if customers:
        svc.breach_link_customers(actor=dpo, breach=parcel, customers=customers)
        svc.breach_record_told(
            actor=dpo, breach=parcel, told="told", method="letter", told_at=aware + 2 * 24 * HOUR, now=now
        )
    task = svc.breach_task_add(
        actor=dpo, breach=parcel, title="Confirm Parcelway's new label check", owner=handler,
        due_on=timezone.localdate() - datetime.timedelta(days=3),
    )  # fmt: skip
    svc.breach_task_done(actor=handler, task=task)
    svc.breach_close(actor=dpo, breach=parcel, lessons_learned="Couriers check the house number against the label.")

    # 2. Not reportable, with the reasons.
    aware = now - 20 * 24 * HOUR
    post = svc.breach_report(
        actor=agent, summary="Post bag of order forms left at the sorting office overnight",
        what_happened="A bag of 30 order forms was left at the sorting office and found sealed the next morning.",
        aware_at=aware, now=aware + HOUR,
    )  # fmt: skip
    svc.breach_assess(
        actor=dpo, breach=post, consequences="None: the bag stayed sealed in Royal Mail's custody.",
        likelihood="remote", severity="remote", report_to_ico=False,
        ico_decision_reason="The bag was sealed and in the postal service's custody throughout: unlikely to result "
        "in a risk to anyone (Art 33(1)).",
        tell_people="not_high", tell_people_reason="No risk to the customers, so nothing to tell them.",
    )  # fmt: skip
    svc.breach_close(actor=dpo, breach=post, lessons_learned="Order-form bags are signed for at collection.")

    # 3. A processor's report, overdue.
    verbatim = Recipient.objects.filter(code="verbatim-ai").first()
    aware = now - 4 * 24 * HOUR
    svc.breach_report(
        actor=dpo, summary="Transcription provider: call transcripts exposed by a misconfigured bucket",
        what_happened="Verbatim AI reported that a storage bucket of call transcripts was readable for 9 hours.",
        aware_at=aware, happened_at=aware - 30 * HOUR, processor=verbatim,
        processor_told_at=aware if verbatim else None, now=aware + HOUR,
        cause=Breach.Cause.PROCESSOR,
    )  # fmt: skip
    stdout.write("Demo breaches: 3 created (reported in time, not reportable, overdue).")
