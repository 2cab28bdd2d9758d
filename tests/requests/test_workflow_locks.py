"""Every workflow step under its row lock: the same step sent twice at the same moment is done once.

Each race runs on real PostgreSQL with two threads, each with its own connection and its own
copy of the case or complaint (two browser tabs), released together by a barrier. The first
to finish keeps its transaction open until the other is seen waiting on a lock (or is done),
so the two always overlap: without the lock both would pass their checks on the state they
read and both succeed (test_the_race_catches_a_step_without_its_lock shows it does).

Then: exactly one succeeds; the other gets the same clear message as someone trying the step
again a moment later; and exactly one history row records the step.

The races are generated from the state tables (requests.services.workflow.CASE_TRANSITIONS and
COMPLAINT_TRANSITIONS: every edge must have a race) and the registry of
locked services (every @transition service is raced or says why a repeat is legitimate).
"""

from __future__ import annotations

import datetime
import functools
import importlib
import inspect
import pkgutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.test import RequestFactory
from django.utils import timezone

import requests.services
from customers.models import Customer
from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.roles import sync_role_groups
from requests.models import (
    Case,
    CaseCorrespondence,
    CaseDocument,
    CaseNote,
    CaseTask,
    Complaint,
    ExportRequest,
    IcoCase,
    IcoDeadline,
)
from requests.services import cases as case_svc
from requests.services import complaints as complaint_svc
from requests.services import public as public_svc
from requests.services import workflow
from requests.services.export import export_request
from requests.services.fulfilment import art19_task_done
from requests.services.informed import case_inform
from requests.services.locking import REGISTRY
from requests.services.objection import case_object
from requests.services.rectification import case_rectify
from requests.services.restriction import case_lift_restriction, case_restrict
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory, DisclosureFactory, UserFactory

CS = Case.Status
PS = Complaint.Status


def today(_=None) -> datetime.date:
    return timezone.localdate()


@dataclass(frozen=True)
class Step:
    """One service call: `actor` is "handler" or "dpo"; each value in `args` may be a function
    of the object (read in the calling thread, like a view reading its form)."""

    service: Callable
    actor: str = "handler"
    args: dict = field(default_factory=dict)

    def run(self, people: dict[str, User], obj) -> None:
        kind = "case" if isinstance(obj, Case) else "complaint"
        values = {k: (v(obj) if callable(v) else v) for k, v in self.args.items()}
        self.service(actor=people[self.actor], **{kind: obj}, **values)


@dataclass(frozen=True)
class Race:
    name: str
    model: type  # Case or Complaint
    path: tuple[Step, ...]  # from a new, assigned case or complaint to the source state
    step: Step  # the step sent twice at once
    edge: tuple[str, str] | None = None  # the state-table edge it takes
    right: str = Case.Right.ACCESS
    # What records the step, as a number of rows that must grow by exactly one (edges: the
    # history rows in the target state).
    recorded: Callable[[object], int] | None = None

    def count_recorded(self, obj) -> int:
        if self.recorded is not None:
            return self.recorded(obj)
        return self.model.history.filter(id=obj.pk, status=self.edge[1]).count()


# --- the steps -------------------------------------------------------------------------------

START = Step(case_svc.case_start)
ASK_ID = Step(case_svc.case_request_identity)
VERIFY = Step(case_svc.case_decide_identity, args={"verified": True})
CLARIFY = Step(case_svc.case_request_clarification, args={"question": "Which account?"})
ANSWERED = Step(case_svc.case_clarification_received)
REFUSE_ASK = Step(
    case_svc.case_request_signoff,
    args={"kind": Case.Signoff.REFUSAL, "reason": "Third request this week", "refusal_ground": "excessive"},
)
EXTEND_ASK = Step(case_svc.case_request_signoff, args={"kind": Case.Signoff.EXTENSION, "reason": "Complex"})
ERASE_ASK = Step(case_svc.case_request_signoff, args={"kind": Case.Signoff.ERASURE, "reason": "Art 17(1)(a)"})
APPROVE = Step(case_svc.case_signoff, actor="dpo", args={"approve": True, "notified_on": today})
DECLINE = Step(case_svc.case_signoff, actor="dpo", args={"approve": False, "note": "Not excessive"})
COMPLETE = Step(case_svc.case_complete, args={"outcome": "Sent the copy by email"})
WITHDRAW = Step(case_svc.case_withdraw, args={"reason": "Requester no longer needs it"})
RESTRICT = Step(case_restrict, args={"reason": "Accuracy contested"})
LIFT = Step(case_lift_restriction, args={"reason": "Accuracy checked; requester told"})
TASK_DONE = Step(art19_task_done, args={"task_id": lambda case: case.tasks.order_by("pk").first().pk})

ACK = Step(complaint_svc.complaint_acknowledge, args={"on": today})
INVESTIGATE = Step(complaint_svc.complaint_investigate)
RESPOND = Step(complaint_svc.complaint_respond, args={"on": today, "summary": "We have stopped the catalogues."})
REVIEW_ASK = Step(complaint_svc.complaint_request_review, args={"on": today})
REVIEW_DONE = Step(
    complaint_svc.complaint_conclude_review, actor="dpo", args={"on": today, "outcome": "First answer upheld"}
)
CLOSE = Step(complaint_svc.complaint_close, args={"outcome": "Complainant satisfied"})
CLOSE_ESCALATED = Step(complaint_svc.complaint_close, actor="dpo", args={"outcome": "ICO took no further action"})
ESCALATE = Step(
    complaint_svc.complaint_escalate,
    actor="dpo",
    args={
        "ico_reference": "IC-123456-A1B2",
        "contacted_on": today,
        "contact_method": IcoCase.Method.EMAIL,
        "requested": "Our records of the opt-out",
        "deadlines": lambda c: [("Send the opt-out records", today() + datetime.timedelta(days=14))],
    },
)
ICO_OUTCOME = Step(complaint_svc.ico_outcome_record, actor="dpo", args={"outcome": "nfa", "on": today})
ICO_CORRECT = Step(
    complaint_svc.ico_outcome_correct,
    actor="dpo",
    args={"outcome": "reprimand", "on": today, "reason": "Misread the ICO's letter"},
)
ICO_ANSWER = Step(
    complaint_svc.ico_deadline_answer,
    actor="dpo",
    args={"deadline_id": lambda c: IcoDeadline.objects.get(ico_case__complaint=c).pk, "on": today},
)
LINK = Step(
    complaint_svc.complaint_link_case,
    args={"case": lambda c: Case.objects.filter(customer_id=c.customer_id).order_by("pk").first()},
)


# The requester's steps (the public secure page) take no member of staff: the requester acts.
def _as_requester(service):
    @functools.wraps(service)
    def step(*, actor, **kwargs):
        return service(**kwargs)

    return step


def _unlink(*, actor, case) -> None:
    """Set-up: a request from the public form, its customer not yet confirmed by the handler."""
    # The requester gave the customer's email, so the customer is the match the handler confirms.
    case.requester_name, case.requester_email = "Rita Request", case.customer.email
    case.customer, case.channel = None, Case.Channel.WEB_FORM
    case._change_reason = "Test set-up: as received from the public form"
    case.save()


def _export_with_one_download_left(*, actor, case) -> None:
    CaseDocument.objects.create(
        case=case, kind=CaseDocument.Kind.EXPORT, path=f"cases/{case.pk}/export/race.zip",
        content_type="application/zip", size=22, public_downloads=legal.EXPORT_PUBLIC_DOWNLOADS - 1,
    )  # fmt: skip


def _first_customer(case) -> Customer:
    """The customer the set-up unlinked (the case's first history row names it)."""
    return Customer.objects.get(pk=Case.history.filter(id=case.pk).earliest("history_date").customer_id)


# The mail server's answers about the public form's acknowledgement take no member of staff either.
ACK_BY_EMAIL = Step(_as_requester(complaint_svc.complaint_acknowledged_by_email))
ACK_BOUNCED = Step(_as_requester(complaint_svc.complaint_acknowledgement_bounced))
UNLINK = Step(_unlink)
LINK_CUSTOMER = Step(case_svc.case_link_customer, args={"customer_id": lambda case: _first_customer(case).pk})
EXPORT_READY = Step(_export_with_one_download_left)
DOWNLOAD = Step(
    _as_requester(public_svc.requester_export_download), args={"request": lambda case: RequestFactory().post("/")}
)


def _case_races() -> list[Race]:
    def r(name, edge, path, step, **kw):
        return Race(name, Case, path, step, edge=edge, **kw)

    return [
        r("start", (CS.RECEIVED, CS.IN_PROGRESS), (), START),
        r("request identity", (CS.RECEIVED, CS.AWAITING_IDENTITY), (), ASK_ID),
        r("refusal sent for sign-off", (CS.RECEIVED, CS.AWAITING_SIGNOFF), (), REFUSE_ASK),
        r("withdraw a new case", (CS.RECEIVED, CS.WITHDRAWN), (), WITHDRAW),
        r("identity verified", (CS.AWAITING_IDENTITY, CS.IN_PROGRESS), (ASK_ID,), VERIFY),
        r("refusal sent awaiting identity", (CS.AWAITING_IDENTITY, CS.AWAITING_SIGNOFF), (ASK_ID,), REFUSE_ASK),
        r("withdraw awaiting identity", (CS.AWAITING_IDENTITY, CS.WITHDRAWN), (ASK_ID,), WITHDRAW),
        r("ask to clarify", (CS.IN_PROGRESS, CS.AWAITING_CLARIFICATION), (START,), CLARIFY),
        r("extension sent for sign-off", (CS.IN_PROGRESS, CS.AWAITING_SIGNOFF), (START,), EXTEND_ASK),
        r("complete", (CS.IN_PROGRESS, CS.COMPLETED), (START,), COMPLETE),
        r("withdraw in progress", (CS.IN_PROGRESS, CS.WITHDRAWN), (START,), WITHDRAW),
        r("clarification received", (CS.AWAITING_CLARIFICATION, CS.IN_PROGRESS), (START, CLARIFY), ANSWERED),
        r("withdraw awaiting clarification", (CS.AWAITING_CLARIFICATION, CS.WITHDRAWN), (START, CLARIFY), WITHDRAW),
        r("extension approved", (CS.AWAITING_SIGNOFF, CS.IN_PROGRESS), (START, EXTEND_ASK), APPROVE),
        r("refusal declined", (CS.AWAITING_SIGNOFF, CS.IN_PROGRESS), (START, REFUSE_ASK), DECLINE),
        r("refusal approved", (CS.AWAITING_SIGNOFF, CS.REFUSED), (START, REFUSE_ASK), APPROVE),
        r(
            "erasure approved and carried out",
            (CS.AWAITING_SIGNOFF, CS.COMPLETED),
            (START, ERASE_ASK),
            APPROVE,
            right=Case.Right.ERASURE,
        ),
        r(
            "restrict processing",
            None,
            (START,),
            RESTRICT,
            right=Case.Right.RESTRICTION,
            recorded=lambda case: Customer.history.filter(id=case.customer_id, processing_restricted=True).count(),
        ),
        r(
            "lift the restriction",
            None,
            (START, RESTRICT),
            LIFT,
            right=Case.Right.RESTRICTION,
            recorded=lambda case: Customer.history.filter(id=case.customer_id, processing_restricted=False).count(),
        ),
        r(
            "Art 19 task done",
            None,
            (START, RESTRICT),
            TASK_DONE,
            right=Case.Right.RESTRICTION,
            recorded=lambda case: CaseTask.history.filter(case_id=case.pk, done_at__isnull=False).count(),
        ),
        r(
            "link the matched customer",
            None,
            (START, UNLINK),
            LINK_CUSTOMER,
            recorded=lambda case: Case.history.filter(id=case.pk, customer_id__isnull=False).count(),
        ),
        r(  # two downloads at once must not exceed the download limit
            "the export's last download",
            None,
            (START, EXPORT_READY),
            DOWNLOAD,
            recorded=lambda case: CaseDocument.history.filter(
                case_id=case.pk, kind=CaseDocument.Kind.EXPORT, public_downloads=legal.EXPORT_PUBLIC_DOWNLOADS
            ).count(),
        ),
    ]


def _complaint_races() -> list[Race]:
    def r(name, edge, path, step, **kw):
        return Race(name, Complaint, path, step, edge=edge, **kw)

    responded = (ACK, RESPOND)
    review = (*responded, REVIEW_ASK)
    return [
        r("acknowledge", (PS.RECEIVED, PS.ACKNOWLEDGED), (), ACK),
        r("investigate", (PS.ACKNOWLEDGED, PS.INVESTIGATING), (ACK,), INVESTIGATE),
        r("respond at once", (PS.ACKNOWLEDGED, PS.RESPONDED), (ACK,), RESPOND),
        r("escalate acknowledged", (PS.ACKNOWLEDGED, PS.ESCALATED), (ACK,), ESCALATE),
        r("respond after investigating", (PS.INVESTIGATING, PS.RESPONDED), (ACK, INVESTIGATE), RESPOND),
        r("escalate while investigating", (PS.INVESTIGATING, PS.ESCALATED), (ACK, INVESTIGATE), ESCALATE),
        r("review requested", (PS.RESPONDED, PS.REVIEW_REQUESTED), responded, REVIEW_ASK),
        r("escalate responded", (PS.RESPONDED, PS.ESCALATED), responded, ESCALATE),
        r("close responded", (PS.RESPONDED, PS.CLOSED), responded, CLOSE),
        r("review concluded", (PS.REVIEW_REQUESTED, PS.REVIEW_CONCLUDED), review, REVIEW_DONE),
        r("escalate under review", (PS.REVIEW_REQUESTED, PS.ESCALATED), review, ESCALATE),
        r("escalate after review", (PS.REVIEW_CONCLUDED, PS.ESCALATED), (*review, REVIEW_DONE), ESCALATE),
        r("close after review", (PS.REVIEW_CONCLUDED, PS.CLOSED), (*review, REVIEW_DONE), CLOSE),
        r("close escalated", (PS.ESCALATED, PS.CLOSED), (ACK, ESCALATE, ICO_OUTCOME), CLOSE_ESCALATED),
        r(
            "respond while escalated",
            None,
            (ACK, ESCALATE),
            RESPOND,
            recorded=lambda c: Complaint.history.filter(id=c.pk, responded_on__isnull=False).count(),
        ),
        r(
            "ICO outcome",
            None,
            (ACK, ESCALATE),
            ICO_OUTCOME,
            recorded=lambda c: IcoCase.history.filter(complaint_id=c.pk).exclude(outcome="").count(),
        ),
        r(
            "ICO outcome corrected",
            None,
            (ACK, ESCALATE, ICO_OUTCOME),
            ICO_CORRECT,
            recorded=lambda c: IcoCase.history.filter(complaint_id=c.pk, outcome="reprimand").count(),
        ),
        r(
            "ICO deadline answered",
            None,
            (ACK, ESCALATE),
            ICO_ANSWER,
            recorded=lambda c: IcoDeadline.history.filter(answered_on__isnull=False).count(),
        ),
        r(
            "link a request",
            None,
            (ACK,),
            LINK,
            recorded=lambda c: Complaint.cases.through.objects.filter(complaint_id=c.pk).count(),
        ),
    ]


RACES = _case_races() + _complaint_races()

# Locked services whose repeat is a legitimate second action, not a duplicate: they are not raced.
REPEATABLE = {
    case_svc.case_assign: "reassigning to the same handler changes nothing harmful",
    case_svc.case_add_note: "two notes are two notes",
    case_svc.case_identity_received: "more evidence may arrive; the clock starts once",
    "identity_evidence_receive": "more evidence may arrive (it takes case_identity_received's step and lock)",
    complaint_svc.complaint_assign: "reassigning to the same handler changes nothing harmful",
    complaint_svc.complaint_set_target: "the DPO may move the target",
    complaint_svc.ico_deadline_add: "the ICO sets many deadlines",
    "export_request": "each request builds one export; the build itself is idempotent under the case lock",
    "case_inform": "sending the information again is a second sending, recorded as such",
    "case_object": "the second objection finds everything withdrawn and records no preference change",
    "case_rectify": "the customer's version check refuses a correction made from a stale form",
    "customer_erase": "raced through the DPO's sign-off ('erasure approved and carried out')",
    "requester_reply": "two messages from the requester are two messages (the clock resumes once: the first "
    "finds it stopped, under the lock)",
    "requester_identity_upload": "more evidence may arrive (it takes case_identity_received's step under the lock)",
    complaint_svc.complaint_acknowledged_by_email: "the mail server's answer, told twice, acknowledges once",
    complaint_svc.complaint_acknowledgement_bounced: "a bounce reported twice withdraws the acknowledgement once",
}
# Public services taking a case or complaint that are helpers of a locked step, not steps.
NOT_STEPS = {
    "art19_tasks_create": "called by rectification, restriction and erasure under their lock",
    "documents_delete_identity": "called by case_decide_identity under its lock",
    "identity_received_record": "the step of case_identity_received and of the page's upload, under its lock",
    "clarification_received_record": "the step of case_clarification_received and of the page's answer, under its lock",
    "document_store": "stores a file; the identity step it belongs to (case_identity_received) is locked",
    "document_create": "makes one document (row, and its file after the commit) for a step that holds its lock",
    "export_build": "locks the case itself (select_for_update) and is idempotent per request",
    "correspondence_add": "records a letter or call: each is its own record",
    "message_send": "sends and records one message: each is its own record",
    "message_queue": "records one message to send, in the step's own transaction (under the step's lock)",
    "requester_access": "records a read in the access log: each read is its own entry",
    "remind_once": "sends one reminder about a case, once (its unique key): no step of the case",
}


def _name(func) -> str:
    return func if isinstance(func, str) else func.__name__


# The legitimately repeatable steps are fired twice at once too: under the lock the two run one
# after the other, so neither fails with anything but a clear message, and each success is
# recorded (no lost update, no deadlock). Every REPEATABLE entry has one, or says who races it.
WEEK = datetime.timedelta(days=7)


def _handler_of(obj) -> User:
    return User.objects.get(pk=obj.handler_id)


def _identity_upload(case) -> SimpleUploadedFile:
    return SimpleUploadedFile("id.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)


REPEATS = [
    Race(
        "reassign to the same handler", Case, (),
        Step(case_svc.case_assign, actor="dpo", args={"handler": _handler_of}),
        recorded=lambda case: Case.history.filter(id=case.pk, handler_id=case.handler_id).count(),
    ),
    Race(
        "two notes", Case, (START,), Step(case_svc.case_add_note, args={"text": "Rang the requester"}),
        recorded=lambda case: CaseNote.objects.filter(case_id=case.pk, text="Rang the requester").count(),
    ),
    Race(
        "identity evidence received twice", Case, (ASK_ID,), Step(case_svc.case_identity_received, args={"on": today}),
        recorded=lambda case: Case.history.filter(id=case.pk).count(),
    ),
    Race(
        "identity evidence uploaded twice", Case, (ASK_ID,),
        Step(case_svc.identity_evidence_receive, args={"upload": _identity_upload, "on": today}),
        recorded=lambda case: CaseDocument.objects.filter(case_id=case.pk, kind=CaseDocument.Kind.IDENTITY).count(),
    ),
    Race(
        "reassign a complaint to the same handler", Complaint, (),
        Step(complaint_svc.complaint_assign, actor="dpo", args={"handler": _handler_of}),
        recorded=lambda c: Complaint.history.filter(id=c.pk, handler_id=c.handler_id).count(),
    ),
    Race(
        "move the complaint's target", Complaint, (ACK,),
        Step(complaint_svc.complaint_set_target, actor="dpo", args={"due_on": lambda c: today() + WEEK}),
        recorded=lambda c: Complaint.history.filter(id=c.pk).count(),
    ),
    Race(
        "two ICO deadlines", Complaint, (ACK, ESCALATE),
        Step(complaint_svc.ico_deadline_add, actor="dpo",
             args={"what": "The call recording", "due_on": lambda c: today() + datetime.timedelta(days=7)}),
        recorded=lambda c: IcoDeadline.objects.filter(ico_case__complaint=c, what="The call recording").count(),
    ),
    Race(
        "export asked for twice", Case, (START,), Step(export_request),
        recorded=lambda case: ExportRequest.objects.filter(case_id=case.pk).count(),
    ),
    Race(
        "information sent twice", Case, (START,), Step(case_inform, args={"sent_by": "email"}),
        right=Case.Right.INFORMED,
        recorded=lambda case: CaseDocument.objects.filter(case_id=case.pk).count(),
    ),
    Race(
        "objection twice", Case, (START,), Step(case_object), right=Case.Right.OBJECTION,
        recorded=lambda case: Case.history.filter(id=case.pk).count(),
    ),
    Race(
        "rectification twice from the same form", Case, (START,),
        Step(case_rectify, args={
            "changes": {"town": "Leeds"}, "reason": "Moved house",
            "expected_version": lambda case: Customer.objects.get(pk=case.customer_id).version,
        }),
        right=Case.Right.RECTIFICATION,
        recorded=lambda case: Customer.history.filter(id=case.customer_id, town="Leeds").count(),
    ),
    Race(
        "identity evidence uploaded twice by the requester", Case, (ASK_ID,),
        Step(_as_requester(public_svc.requester_identity_upload), args={"upload": _identity_upload}),
        recorded=lambda case: CaseDocument.objects.filter(case_id=case.pk, kind=CaseDocument.Kind.IDENTITY).count(),
    ),
    Race(
        "two messages from the requester answering a clarification", Case, (START, CLARIFY),
        Step(_as_requester(public_svc.requester_reply), args={"text": "The account at my old address"}),
        recorded=lambda case: CaseCorrespondence.objects.filter(case_id=case.pk, from_requester=True).count(),
    ),
    Race(
        "the acknowledgement email handed over twice", Complaint, (), ACK_BY_EMAIL,
        recorded=lambda c: Complaint.history.filter(id=c.pk, status=PS.ACKNOWLEDGED).count(),
    ),
    Race(
        "the acknowledgement email's bounce reported twice", Complaint, (ACK_BY_EMAIL,), ACK_BOUNCED,
        recorded=lambda c: Complaint.history.filter(
            id=c.pk, history_change_reason=complaint_svc.ACK_BOUNCED_REASON
        ).count(),
    ),
]  # fmt: skip
RACED_BY = {"customer_erase": "erasure approved and carried out"}
# Repeats whose second success is served by the first (one record, both told it is done).
SERVED_ONCE = {
    export_request: "a second click is served by the request already queued",
    complaint_svc.complaint_acknowledged_by_email: "the second finds the complaint acknowledged",
    complaint_svc.complaint_acknowledgement_bounced: "the second finds the acknowledgement withdrawn",
}


# --- the harness ---------------------------------------------------------------------------------


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


def fire_twice(load: Callable[[], tuple[dict, object]], step: Callable[[dict, object], None]) -> list:
    """Run `step` in two threads at once; each loads its own objects first. Returns each
    thread's outcome: "ok", or the ValidationError it raised."""
    barrier = threading.Barrier(2, timeout=20)
    release = threading.Event()
    holding = threading.Event()
    first = threading.Lock()
    done: list[int] = []
    outcomes: list = [None, None]

    def worker(i: int) -> None:
        try:
            people, obj = load()
            barrier.wait()
            with transaction.atomic():
                try:
                    step(people, obj)
                    outcomes[i] = "ok"
                except ValidationError as exc:
                    outcomes[i] = exc
                except Exception as exc:
                    outcomes[i] = exc
                done.append(i)
                if first.acquire(blocking=False):
                    holding.set()
                    release.wait(20)  # keep the transaction (and its locks) open
        except Exception as exc:
            outcomes[i] = outcomes[i] or exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if holding.is_set() and (len(done) == 2 or _waiting_on_a_lock()):
            break
        time.sleep(0.01)
    release.set()
    for t in threads:
        t.join(30)
    return outcomes


def _cast() -> dict[str, int]:
    sync_role_groups(Group, Permission)  # a transactional test starts from a flushed database
    return {
        "handler": UserFactory(role=User.Role.HANDLER).pk,
        "dpo": UserFactory(role=User.Role.DPO).pk,
    }


def _load(cast: dict[str, int], model, pk: int):
    def load():
        people = {role: User.objects.get(pk=user_pk) for role, user_pk in cast.items()}
        return people, model.objects.get(pk=pk)

    return load


def _prepare(race: Race, cast: dict[str, int]):
    people = {role: User.objects.get(pk=user_pk) for role, user_pk in cast.items()}
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)  # a recipient to tell (Art 19)
    case = CaseFactory(customer=customer, right=race.right)
    if race.model is Case:
        case_svc.case_assign(actor=people["dpo"], case=case, handler=people["handler"])
        obj = case
    else:
        obj = ComplaintFactory(customer=customer)
        complaint_svc.complaint_assign(actor=people["dpo"], complaint=obj, handler=people["handler"])
    for step in race.path:
        step.run(people, race.model.objects.get(pk=obj.pk))
    return race.model.objects.get(pk=obj.pk)


# --- the tests -----------------------------------------------------------------------------------


def _race_and_check(race: Race, cast: dict[str, int]) -> str | None:
    """Run one race; None if it held, else what went wrong."""
    obj = _prepare(race, cast)
    if race.edge is not None and obj.status != race.edge[0]:
        return f"set-up reached {obj.status}, not {race.edge[0]}"
    before = race.count_recorded(obj)

    outcomes = fire_twice(_load(cast, race.model, obj.pk), race.step.run)

    if sorted(o == "ok" for o in outcomes) != [False, True]:
        return f"outcomes {outcomes!r}, not one success and one refusal"
    (refused,) = [o for o in outcomes if o != "ok"]
    if not isinstance(refused, ValidationError):
        return f"the second got {refused!r}, not a message"
    # The same message as trying again a moment later: the second finds the first's result.
    people, fresh = _load(cast, race.model, obj.pk)()
    try:
        race.step.run(people, fresh)
    except ValidationError as again:
        if refused.messages != again.messages:
            return f"the second was told {refused.messages}, a repeat is told {again.messages}"
    else:
        return "a repeat a moment later succeeded"
    if (recorded := race.count_recorded(obj) - before) != 1:
        return f"{recorded} history rows record it, not 1"
    if race.edge is not None and fresh.status != race.edge[1]:
        return f"ended {fresh.status}, not {race.edge[1]}"
    return None


# Each chunk is one transactional test: flushing the database after a transactional test costs
# seconds, a race a fraction of one. Chunks let xdist spread them; a failure names its race.
CHUNK = 10
CHUNKS = [RACES[i : i + CHUNK] for i in range(0, len(RACES), CHUNK)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("races", CHUNKS, ids=lambda chunk: f"{chunk[0].name} .. {chunk[-1].name}")
def test_a_step_sent_twice_at_once_is_done_once_and_the_second_is_told(races: list[Race]):
    cast = _cast()
    failures = {race.name: _race_and_check(race, cast) for race in races}
    assert {name: why for name, why in failures.items() if why} == {}


@pytest.mark.django_db(transaction=True)
def test_the_race_catches_a_step_without_its_lock():
    """The harness is not vacuous: the same "complete" without the row lock succeeds twice."""
    cast = _cast()
    obj = _prepare(Race("complete", Case, (START,), COMPLETE, edge=(CS.IN_PROGRESS, CS.COMPLETED)), cast)
    unlocked = inspect.unwrap(case_svc.case_complete)  # the body, without @transition's lock

    def complete_without_lock(people, case):
        with transaction.atomic():
            unlocked(actor=people["handler"], case=case, outcome="Sent the copy")

    outcomes = fire_twice(_load(cast, Case, obj.pk), complete_without_lock)

    assert outcomes == ["ok", "ok"]
    assert Case.history.filter(id=obj.pk, status=CS.COMPLETED).count() == 2


def _repeat_and_check(race: Race, cast: dict[str, int]) -> str | None:
    obj = _prepare(race, cast)
    before = race.count_recorded(obj)
    outcomes = fire_twice(_load(cast, race.model, obj.pk), race.step.run)
    wrong = [o for o in outcomes if o != "ok" and not isinstance(o, ValidationError)]
    if wrong:
        return f"failed with {wrong!r}, not a message"
    if "ok" not in outcomes:
        return f"neither succeeded: {outcomes!r}"
    grew = race.count_recorded(obj) - before
    if _name(race.step.service) in {_name(k) for k in SERVED_ONCE}:  # by name: a requester's step is wrapped
        if grew != 1:
            return f"{grew} recorded, not 1: the second should be served by the first"
    elif grew < outcomes.count("ok"):
        return f"{outcomes.count('ok')} succeeded, {grew} recorded: an update was lost"
    return None


@pytest.mark.django_db(transaction=True)
def test_a_repeatable_step_sent_twice_at_once_runs_one_after_the_other(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = str(tmp_path)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cast = _cast()
    failures = {race.name: _repeat_and_check(race, cast) for race in REPEATS}
    assert {name: why for name, why in failures.items() if why} == {}


def test_every_repeatable_step_is_fired_twice_too():
    _service_modules()
    repeated = {race.step.service.__name__ for race in REPEATS}
    assert {_name(k) for k in REPEATABLE} - repeated - set(RACED_BY) == set()
    assert set(RACED_BY.values()) <= {race.name for race in RACES}


# The view modules whose action tables run the workflow's steps (each breach step locks its row
# with locking.lock_row itself; tests/requests/test_breach_races.py sends them twice at once).
ACTION_TABLES = ("requests.views.case", "requests.views.complaints", "requests.views.fulfilment")


def _services_called(code, namespace: dict, seen: set) -> set:
    """The requests.services functions a handler's code calls, through helpers of its module."""
    found = set()
    modules = [v for v in namespace.values() if inspect.ismodule(v) and v.__name__.startswith("requests.services")]
    for name in code.co_names:
        candidates = [namespace.get(name)] + [getattr(m, name, None) for m in modules]
        for value in candidates:
            if not inspect.isfunction(value) or value in seen:
                continue
            seen.add(value)
            if value.__module__.startswith("requests.services"):
                found.add(value)
            elif value.__module__ == namespace["__name__"]:
                found |= _services_called(value.__code__, namespace, seen)
    for const in code.co_consts:
        if inspect.iscode(const):
            found |= _services_called(const, namespace, seen)
    return found


def test_every_service_the_action_tables_call_takes_its_row_lock():
    """Every step a page can fire (each entry of a case, complaint or fulfilment action table)
    calls a locked service: a new action calling an unlocked one fails here."""
    called = set()
    for name in ACTION_TABLES:
        module = importlib.import_module(name)
        for entry in module.ACTIONS.values():
            for handler in (e for e in entry if inspect.isfunction(e)):
                called |= _services_called(handler.__code__, vars(module), set())
    steps = {
        f for f in called
        if {"case", "complaint"} & set(inspect.signature(f).parameters) and f.__name__ not in NOT_STEPS
    }  # fmt: skip
    assert len(steps) > 20
    assert sorted(f.__name__ for f in steps if f not in REGISTRY) == []
    covered = {r.step.service for r in [*RACES, *REPEATS]}
    uncovered = [f.__name__ for f in steps if f not in covered and f.__name__ not in RACED_BY]
    assert sorted(uncovered) == []


def test_every_edge_of_the_state_tables_is_raced():
    tables = {Case: workflow.CASE_TRANSITIONS, Complaint: workflow.COMPLAINT_TRANSITIONS}
    wanted = {(model, a, b) for model, table in tables.items() for a, targets in table.items() for b in targets}
    raced = {(r.model, *r.edge) for r in RACES if r.edge is not None}
    assert wanted - raced == set(), "state-table edges with no race"


def _service_modules() -> list:
    """Every module of requests.services, imported (a module registers its steps when imported)."""
    names = [m.name for m in pkgutil.iter_modules(requests.services.__path__)]
    return [importlib.import_module(f"requests.services.{name}") for name in names]


def test_every_locked_step_is_raced_or_says_why_a_repeat_is_legitimate():
    _service_modules()
    raced = {r.step.service.__name__ for r in RACES}
    allowed = {_name(k) for k in REPEATABLE}
    assert [f.__name__ for f in REGISTRY if f.__name__ not in raced | allowed] == []


def test_every_service_taking_a_case_or_complaint_takes_its_row_lock():
    """A new step added to requests.services without @transition fails here."""
    missing = []
    for module in _service_modules():
        locked = {f.__name__ for f in REGISTRY}
        for name, func in vars(module).items():
            if not inspect.isfunction(func) or func.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = inspect.signature(func).parameters
            takes = {p for p, v in params.items() if v.kind == v.KEYWORD_ONLY} & {"case", "complaint"}
            if takes and name not in locked and name not in NOT_STEPS:
                missing.append(f"{module.__name__}.{name}")
    assert missing == []
