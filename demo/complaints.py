"""The complaints' part of `seed_demo`: a complaint in every state, one escalated to the ICO.

Runs after the rights requests' step (demo.cases) and uses the demo customers and cases.
The demo agent logs each complaint, the DPO assigns it to the demo handler and sets a
response target, the handler works it, the DPO concludes reviews and records the ICO's case,
so every timeline is the real history of real service calls. Dates are relative to today:
one complaint's acknowledgement is overdue, one is fresh. Idempotent: when the demo agent has
logged any complaint, the step leaves everything as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from customers.models import Customer
from requests.models import Case, Complaint
from requests.services import complaints as svc
from requests.services.correspondence import correspondence_add

from .seeding import AGENT, DPO, HANDLER, seed_logged_once


@dataclass(frozen=True)
class DemoComplaint:
    category: str
    channel: str
    days_ago: int
    description: str
    email: str = ""  # the demo customer's email; blank for a complainant with no customer record
    complainant_name: str = ""
    link_right: str = ""  # link the customer's demo case of this right, if any
    work: Callable | None = None


def _day(complaint: Complaint, days_after_receipt: int) -> datetime.date:
    return min(complaint.received_on + datetime.timedelta(days=days_after_receipt), timezone.localdate())


def _acknowledged(complaint, cast):
    svc.complaint_assign(actor=cast[DPO], complaint=complaint, handler=cast[HANDLER])
    svc.complaint_acknowledge(actor=cast[HANDLER], complaint=complaint, on=_day(complaint, 1))
    svc.complaint_set_target(
        actor=cast[DPO], complaint=complaint, due_on=timezone.localdate() + datetime.timedelta(days=14)
    )
    correspondence_add(
        actor=cast[HANDLER], complaint=complaint, occurred_on=_day(complaint, 1), direction="outbound",
        medium="email", summary="Acknowledgement: we have your complaint and will answer within four weeks.",
    )  # fmt: skip
    return complaint


def _investigating(complaint, cast):
    _acknowledged(complaint, cast)
    return svc.complaint_investigate(actor=cast[HANDLER], complaint=complaint)


def _responded(complaint, cast):
    _investigating(complaint, cast)
    return svc.complaint_respond(
        actor=cast[HANDLER], complaint=complaint, on=_day(complaint, 12),
        summary="We found the cause, apologised and explained what we changed.",
    )  # fmt: skip


def _review_requested(complaint, cast):
    _responded(complaint, cast)
    return svc.complaint_request_review(actor=cast[HANDLER], complaint=complaint, on=_day(complaint, 16))


def _review_concluded(complaint, cast):
    _review_requested(complaint, cast)
    return svc.complaint_conclude_review(
        actor=cast[DPO], complaint=complaint, on=_day(complaint, 25),
        outcome="Review upheld the response; the complainant was offered a goodwill voucher.",
    )  # fmt: skip


def _escalated(complaint, cast):
    _review_concluded(complaint, cast)
    today = timezone.localdate()
    ico = svc.complaint_escalate(
        actor=cast[DPO], complaint=complaint, ico_reference="IC-310457-W2X9", contacted_on=_day(complaint, 30),
        contact_method="email", caseworker="Priya Anand (ICO casework)",
        requested="Our final response, the request's timeline and the identity checks we made.",
        deadlines=[("Final response and timeline", today + datetime.timedelta(days=5)),
                   ("Identity-check policy", today + datetime.timedelta(days=19))],
    )  # fmt: skip
    first = ico.deadlines.earliest("due_on")
    svc.ico_deadline_answer(actor=cast[DPO], complaint=complaint, deadline_id=first.pk, on=today)
    correspondence_add(
        actor=cast[DPO], complaint=complaint, occurred_on=_day(complaint, 30), direction="inbound", medium="email",
        summary="The ICO's letter opening its case and asking for our response.",
    )  # fmt: skip
    return complaint


def _closed(complaint, cast):
    _responded(complaint, cast)
    return svc.complaint_close(
        actor=cast[HANDLER], complaint=complaint, outcome="The complainant accepted our response; no review asked."
    )


DEMO_COMPLAINTS = (
    DemoComplaint("marketing", "phone", 1, "Was phoned with an offer the day after opting out.",
                  email="rajesh.patel@example.com"),
    DemoComplaint("other", "post", 33, "Says his name was sold to another company; no customer record matches.",
                  complainant_name="Keith Hollis"),
    DemoComplaint("call_recording", "phone", 10, "Was not told the call was recorded.",
                  email="siobhan.oneill@example.net", work=_acknowledged),
    DemoComplaint("accuracy", "email", 12, "Her address is still wrong after asking us to correct it.",
                  email="david.okafor@example.org", link_right="rectification", work=_investigating),
    DemoComplaint("request_handling", "email", 20, "The copy of his data had no call recordings.",
                  email="gareth.evans@example.co.uk", link_right="access", work=_responded),
    DemoComplaint("disclosure", "post", 30, "Thinks a courier was given more than her address.",
                  email="eilidh.macdonald@example.co.uk", work=_review_requested),
    DemoComplaint("security", "email", 45, "Received someone else's order confirmation.",
                  email="tomasz.nowak@example.com", work=_review_concluded),
    DemoComplaint("request_handling", "post", 50, "Her access request was refused for identity; she says she sent it.",
                  email="catherine.wright@example.co.uk", link_right="access", work=_escalated),
    DemoComplaint("marketing", "phone", 60, "Catalogues kept arriving after he objected.",
                  email="peter.clarke@example.net", work=_closed),
)  # fmt: skip


def seed_demo_complaints(stdout) -> None:
    """seed_demo step: the demo complaints, once."""
    seed_logged_once(stdout, label="complaints", model=Complaint, demos=DEMO_COMPLAINTS, log=_log_complaint)


def _log_complaint(demo: DemoComplaint, customer: Customer | None, cast: dict, today: datetime.date) -> Complaint:
    cases = []
    if demo.link_right and customer is not None:
        cases = list(Case.objects.filter(customer=customer, right=demo.link_right).order_by("pk")[:1])
    complaint = svc.complaint_log(
        actor=cast[AGENT], customer=customer, complainant_name=demo.complainant_name,
        received_on=today - datetime.timedelta(days=demo.days_ago), channel=demo.channel,
        category=demo.category, description=demo.description, cases=cases,
    )  # fmt: skip
    return demo.work(complaint, cast) if demo.work is not None else complaint
