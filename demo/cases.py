"""The rights requests' part of `seed_demo`: a case in every state, each made through the services.

Runs after the customers' step (demo.customers; see seed_demo's DEMO_DATA_STEPS) and uses its named
customers. The demo agent logs each request, the DPO assigns it to the demo handler, the
handler works it and the DPO signs off, so every case's timeline is the real history of
real service calls. Dates are relative to today: one case is overdue, one is due within the
week, one has been extended, one waits for the requester to clarify. The completed access
request and the portability request carry real exports. Idempotent: when the demo agent
has logged any case, the step leaves everything as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from customers.models import Customer, PreferenceChange
from customers.services.preferences import customer_object_to_marketing
from privacy_portal.tracked import save_tracked
from requests.models import Case, CaseTask
from requests.services import cases as svc
from requests.services.export import export_build

from .seeding import AGENT, DPO, HANDLER, seed_logged_once


@dataclass(frozen=True)
class DemoCase:
    right: str
    channel: str
    days_ago: int
    email: str = ""  # the demo customer's email; blank for a requester with no customer record
    requester_name: str = ""
    description: str = ""
    # What happens next, given (case, today, the cast); None leaves it received and unassigned.
    work: Callable | None = None
    acting_for_other: bool = False
    relationship: str = ""
    authority: str = ""


def _ago(today: datetime.date, days: int) -> datetime.date:
    return today - datetime.timedelta(days=days)


def _assign(case, today, cast):
    return svc.case_assign(actor=cast[DPO], case=case, handler=cast[HANDLER])


def _start(case, today, cast):
    return svc.case_start(actor=cast[HANDLER], case=_assign(case, today, cast))


def _awaiting_identity(case, today, cast):
    case = _assign(case, today, cast)
    return svc.case_request_identity(actor=cast[HANDLER], case=case, on=case.received_on + datetime.timedelta(days=1))


def _note(text: str) -> Callable:
    def work(case, today, cast):
        case = _start(case, today, cast)
        svc.case_add_note(actor=cast[HANDLER], case=case, text=text)
        return case

    return work


def _clarifying(case, today, cast):
    case = _start(case, today, cast)
    return svc.case_request_clarification(
        actor=cast[HANDLER], case=case, on=_ago(today, 5),
        question="Which orders do you mean: all since 2019, or only the medal sets?",
    )  # fmt: skip


def _extension_asked(case, today, cast):
    return svc.case_request_signoff(
        actor=cast[HANDLER], case=_start(case, today, cast), kind=Case.Signoff.EXTENSION,
        reason="Twelve years of orders and over forty recorded calls to review and redact.",
    )  # fmt: skip


def _extended(case, today, cast):
    case = _extension_asked(case, today, cast)
    return svc.case_signoff(actor=cast[DPO], case=case, approve=True, notified_on=_ago(today, 1))


def _erasure_asked(case, today, cast):
    return svc.case_request_signoff(
        actor=cast[HANDLER], case=_start(case, today, cast), kind=Case.Signoff.ERASURE,
        reason="Identity confirmed on a recorded call; no open orders or finance agreements.",
    )  # fmt: skip


def _refusal_asked(case, today, cast):
    return svc.case_request_signoff(
        actor=cast[HANDLER], case=_start(case, today, cast), kind=Case.Signoff.REFUSAL,
        refusal_ground=Case.RefusalGround.EXCESSIVE,
        reason="The third identical request in five weeks; the last copy was sent on 2 of this month.",
    )  # fmt: skip


def _refused(case, today, cast):
    case = _awaiting_identity(case, today, cast)
    case = svc.case_request_signoff(
        actor=cast[HANDLER], case=case, kind=Case.Signoff.REFUSAL, refusal_ground=Case.RefusalGround.IDENTITY,
        reason="We asked twice for proof of identity and address; none arrived.",
    )  # fmt: skip
    return svc.case_signoff(actor=cast[DPO], case=case, approve=True, notified_on=today)


def _exported(complete: bool) -> Callable:
    def work(case, today, cast):
        case = _start(case, today, cast)
        export_build(actor=cast[HANDLER], case=case)
        if complete:
            case = svc.case_complete(
                actor=cast[HANDLER], case=case, outcome="Export sent by recorded delivery with a covering letter."
            )
        return case

    return work


def _objection_done(case, today, cast):
    case = _start(case, today, cast)
    customer_object_to_marketing(
        actor=cast[HANDLER], customer=case.customer, source=PreferenceChange.Source.RIGHTS_REQUEST,
        evidence=f"Objection to direct marketing (Art 21), {case.reference}",
    )  # fmt: skip
    return svc.case_complete(
        actor=cast[HANDLER], case=case, outcome="All marketing withdrawn on every channel; identifiers suppressed."
    )


def _withdrawn(case, today, cast):
    return svc.case_withdraw(actor=cast[HANDLER], case=_assign(case, today, cast), reason="Decided to keep the account")


def _rectification_overdue(case, today, cast):
    case = _start(case, today, cast)
    task = CaseTask(case=case, title="Correct the address and tell the logistics partner (Art 19)")
    save_tracked(task, actor=cast[HANDLER], reason=None)
    return case


DEMO_CASES = (
    DemoCase("access", "phone", 0, "rajesh.patel@example.com", description="A copy of everything held about him."),
    DemoCase("access", "email", 2, requester_name="Keith Hollis",
             description="Thinks he was sent a catalogue; no customer record matches."),
    DemoCase("access", "post", 3, "siobhan.oneill@example.net", work=_awaiting_identity,
             description="Letter asking for her data; signature differs from the account."),
    DemoCase("access", "post", 7, "robert.hughes@example.net", work=_awaiting_identity, acting_for_other=True,
             relationship="Daughter", authority="Lasting power of attorney (property and financial affairs) seen",
             requester_name="Jane Hughes", description="His daughter asks for his records."),
    DemoCase("access", "web_form", 26, "gareth.evans@example.co.uk", work=_note("Calls and letters gathered."),
             description="All data, including call recordings."),
    DemoCase("rectification", "phone", 40, "david.okafor@example.org", work=_rectification_overdue,
             description="Address wrong on the last two deliveries."),
    DemoCase("access", "email", 12, "eilidh.macdonald@example.co.uk", work=_clarifying,
             description="Copies of her orders."),
    DemoCase("access", "post", 20, "tomasz.nowak@example.com", work=_extension_asked,
             description="Everything since 2014, call recordings included."),
    DemoCase("access", "email", 25, "priya.sharma@example.co.uk", work=_extended,
             description="Everything, including every call."),
    DemoCase("erasure", "phone", 10, "fatima.hussain@example.co.uk", work=_erasure_asked,
             description="Close the account and delete her details."),
    DemoCase("access", "email", 6, "peter.clarke@example.net", work=_refusal_asked,
             description="Third request for the same copy this month."),
    DemoCase("access", "post", 35, "catherine.wright@example.co.uk", work=_refused,
             description="Copy of her data, sent to a new address."),
    DemoCase("access", "post", 18, "ann.leeming@example.co.uk", work=_exported(complete=True),
             description="A copy of her data, by post."),
    DemoCase("portability", "web_form", 9, "helen.davies@example.org", work=_exported(complete=False),
             description="Her details and orders in a file she can give to another dealer."),
    DemoCase("objection", "phone", 4, "george.mitchell@example.co.uk", work=_objection_done,
             description="No more marketing of any kind."),
    DemoCase("erasure", "email", 4, "james.wilson@example.com", work=_withdrawn,
             description="Delete everything."),
)  # fmt: skip


def seed_demo_cases(stdout) -> None:
    """seed_demo step: the demo cases, once."""
    seed_logged_once(stdout, label="cases", model=Case, demos=DEMO_CASES, log=_log_case)


def _log_case(demo: DemoCase, customer: Customer | None, cast: dict, today: datetime.date) -> Case:
    [case] = svc.case_log(
        actor=cast[AGENT], rights=[demo.right], channel=demo.channel, received_on=_ago(today, demo.days_ago),
        customer=customer, requester_name=demo.requester_name, acting_for_other=demo.acting_for_other,
        representative_relationship=demo.relationship, authority_note=demo.authority,
        description=demo.description,
    )  # fmt: skip
    return demo.work(case, today, cast) if demo.work is not None else case
