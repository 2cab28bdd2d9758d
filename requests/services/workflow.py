"""The workflow core of rights requests (cases), complaints and breaches: their state tables,
the one transition helper, the check that the actor may work the object, and the messages these share.

Every step of `cases`, `complaints`, `fulfilment` and `erasure` moves its object through
`move()`, so a page that forgets to hide a button still cannot make an illegal move; the pages
ask `case_actions()` / `complaint_actions()` which action forms to show this user: the steps
the state table allows now, to whoever the access predicates let take them. The row lock each step takes
is `locking.transition`. This module sits below the step modules and imports none of them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from privacy_portal import legal

from ..access import (
    SIGNOFF_NOT_DPO,
    SIGNOFF_OWN_CASE,
    may_assess_breaches,
    may_assign_cases,
    may_download_bundle,
    may_escalate_complaints,
    may_manage_complaints,
    may_signoff_case,
    may_work_case,
    may_work_complaint,
    signoff_refusal,
)
from ..models import Breach, Case, Complaint, IcoCase

CS = Case.Status
KS = Complaint.Status
BS = Breach.Status

CASE_TRANSITIONS: dict[str, set[str]] = {
    CS.RECEIVED: {CS.AWAITING_IDENTITY, CS.IN_PROGRESS, CS.AWAITING_SIGNOFF, CS.WITHDRAWN},
    CS.AWAITING_IDENTITY: {CS.IN_PROGRESS, CS.AWAITING_SIGNOFF, CS.WITHDRAWN},
    CS.IN_PROGRESS: {CS.AWAITING_CLARIFICATION, CS.AWAITING_SIGNOFF, CS.COMPLETED, CS.WITHDRAWN},
    CS.AWAITING_CLARIFICATION: {CS.IN_PROGRESS, CS.WITHDRAWN},
    CS.AWAITING_SIGNOFF: {CS.IN_PROGRESS, CS.COMPLETED, CS.REFUSED},
    CS.COMPLETED: set(),
    CS.REFUSED: set(),
    CS.WITHDRAWN: set(),
}

# The lawful paths of a complaint, and why, are in the docstring of requests.services.complaints.
COMPLAINT_TRANSITIONS: dict[str, set[str]] = {
    KS.RECEIVED: {KS.ACKNOWLEDGED},
    KS.ACKNOWLEDGED: {KS.INVESTIGATING, KS.RESPONDED, KS.ESCALATED},
    KS.INVESTIGATING: {KS.RESPONDED, KS.ESCALATED},
    KS.RESPONDED: {KS.REVIEW_REQUESTED, KS.ESCALATED, KS.CLOSED},
    KS.REVIEW_REQUESTED: {KS.REVIEW_CONCLUDED, KS.ESCALATED},
    KS.REVIEW_CONCLUDED: {KS.ESCALATED, KS.CLOSED},
    KS.ESCALATED: {KS.CLOSED},
    KS.CLOSED: set(),
}

# The one move back, taken by no page: an acknowledgement email that bounced never reached the
# complainant (s164A(4)), so the complaint it acknowledged is received again
# (requests.services.complaints.complaint_acknowledgement_bounced, `move(..., withdraw=True)`).
# Kept out of COMPLAINT_TRANSITIONS: no member of staff moves a complaint back to received.
COMPLAINT_WITHDRAWALS: dict[str, set[str]] = {KS.ACKNOWLEDGED: {KS.RECEIVED}}

# A breach is assessed by the DPO (and may be reassessed while open, staying assessed), then
# closed; the rules of each step are in the docstring of requests.services.breaches.
BREACH_TRANSITIONS: dict[str, set[str]] = {
    BS.SUSPECTED: {BS.ASSESSED},
    BS.ASSESSED: {BS.CLOSED},
    BS.CLOSED: set(),
}

ERR_CASE_MOVE = "A case that is “{current}” cannot be moved to “{target}”."
ERR_COMPLAINT_MOVE = "A complaint that is “{current}” cannot be moved to “{target}”."
# The second of two identical steps (a double click, two tabs): it finds the first one's result.
ERR_CASE_ALREADY = "Already done: this case is now “{current}”."
ERR_COMPLAINT_ALREADY = "Already done: this complaint is now “{current}”."
ERR_BREACH_MOVE = "A breach that is “{current}” cannot be moved to “{target}”."
ERR_BREACH_ALREADY = "Already done: this breach is now “{current}”."
ERR_BREACH_DPO_ONLY = "Only the DPO can do this."
ERR_BREACH_CLOSED = "This breach is closed."
ERR_NOT_HANDLER = "Only the assigned handler or the DPO can work this case."
ERR_NOT_WORKER = "Only the assigned handler or the DPO can work this complaint."
ERR_CLOSED = "This complaint is closed."
ERR_REASON = "Give a reason."
# Sign-off, asked by the case steps and checked again by the erasure it carries out.
ERR_SELF_SIGNOFF = "The handler of a case cannot sign off its own refusal, erasure or extension."
ERR_SIGNOFF_PERMISSION = "Only the DPO can sign off."
ERR_ERASURE_ONLY = "Only an erasure request can be signed off for erasure."

# Per kind of object: (state table, its status choices, "cannot move" message, "already done" message).
_TABLES: dict[type, tuple[dict[str, set[str]], type, str, str]] = {
    Case: (CASE_TRANSITIONS, CS, ERR_CASE_MOVE, ERR_CASE_ALREADY),
    Complaint: (COMPLAINT_TRANSITIONS, KS, ERR_COMPLAINT_MOVE, ERR_COMPLAINT_ALREADY),
    Breach: (BREACH_TRANSITIONS, BS, ERR_BREACH_MOVE, ERR_BREACH_ALREADY),
}
_WITHDRAWALS: dict[type, dict[str, set[str]]] = {Case: {}, Complaint: COMPLAINT_WITHDRAWALS, Breach: {}}


# The steps a page offers, each as (the statuses it is taken from, or None for any open status;
# the status it moves to, or None for a step that leaves the status as it is). A step is offered
# when the object is in one of its statuses and the state table allows its move; who may take it
# is the access module's (case_actions / complaint_actions below ask both).
CASE_STEPS: dict[str, tuple[frozenset[str] | None, str | None]] = {
    "start": (frozenset({CS.RECEIVED}), CS.IN_PROGRESS),
    "request_identity": (frozenset({CS.RECEIVED}), CS.AWAITING_IDENTITY),
    "upload_identity": (frozenset({CS.AWAITING_IDENTITY}), None),  # the decision moves it on
    "decide_identity": (frozenset({CS.AWAITING_IDENTITY}), CS.IN_PROGRESS),
    "build_export": (frozenset({CS.IN_PROGRESS}), None),
    "fulfil": (frozenset({CS.IN_PROGRESS}), None),
    "complete": (frozenset({CS.IN_PROGRESS}), CS.COMPLETED),
    "request_clarification": (frozenset({CS.IN_PROGRESS}), CS.AWAITING_CLARIFICATION),
    "request_signoff": (frozenset({CS.IN_PROGRESS}), CS.AWAITING_SIGNOFF),
    "clarification_received": (frozenset({CS.AWAITING_CLARIFICATION}), CS.IN_PROGRESS),
    "note": (None, None),
    "withdraw": (None, CS.WITHDRAWN),
}
COMPLAINT_STEPS: dict[str, tuple[frozenset[str] | None, str | None]] = {
    "acknowledge": (frozenset({KS.RECEIVED}), KS.ACKNOWLEDGED),
    "investigate": (frozenset({KS.ACKNOWLEDGED}), KS.INVESTIGATING),
    "respond": (frozenset({KS.ACKNOWLEDGED, KS.INVESTIGATING}), KS.RESPONDED),
    # The ICO took it up before we responded: our response is still owed, and recorded on the
    # escalated complaint without leaving that status (offered until it is recorded).
    "respond_escalated": (frozenset({KS.ESCALATED}), None),
    "request_review": (frozenset({KS.RESPONDED}), KS.REVIEW_REQUESTED),
    "close": (frozenset({KS.RESPONDED, KS.REVIEW_CONCLUDED}), KS.CLOSED),
    "close_escalated": (frozenset({KS.ESCALATED}), KS.CLOSED),  # once the ICO's outcome is recorded
    "conclude_review": (frozenset({KS.REVIEW_REQUESTED}), KS.REVIEW_CONCLUDED),
    "escalate": (None, KS.ESCALATED),
    "link_case": (None, None),
}
# The DPO manages an open breach (its details, links, tasks, the people told); it is assessed
# (again while open), reported to the ICO once assessed, and closed.
BREACH_STEPS: dict[str, tuple[frozenset[str] | None, str | None]] = {
    "manage": (None, None),
    "assess": (frozenset({BS.SUSPECTED}), BS.ASSESSED),
    "reassess": (frozenset({BS.ASSESSED}), None),
    "notify_ico": (frozenset({BS.ASSESSED}), None),
    "close": (frozenset({BS.ASSESSED}), BS.CLOSED),
}
# The requester's own steps on the secure page (requests.services.public): a message while the
# request is open, which is the answer while we wait for one (and moves it on), and identity
# evidence while we wait for that.
REQUESTER_STEPS: dict[str, tuple[frozenset[str] | None, str | None]] = {
    "reply": (None, None),
    "answer": (frozenset({CS.AWAITING_CLARIFICATION}), CS.IN_PROGRESS),
    "upload_identity": (frozenset({CS.AWAITING_IDENTITY}), None),
}
_STEPS: dict[type, dict[str, tuple[frozenset[str] | None, str | None]]] = {
    Case: CASE_STEPS,
    Complaint: COMPLAINT_STEPS,
    Breach: BREACH_STEPS,
}


def steps_offered(
    obj: Case | Complaint | Breach, steps: dict[str, tuple[frozenset[str] | None, str | None]] | None = None
) -> set[str]:
    """The steps of `steps` (by default CASE_STEPS / COMPLAINT_STEPS / BREACH_STEPS, by the
    kind of `obj`) that `obj`'s status allows now."""
    table = _TABLES[type(obj)][0]
    if not table[obj.status]:
        return set()  # closed: nothing more happens to it
    return {
        name
        for name, (sources, target) in (_STEPS[type(obj)] if steps is None else steps).items()
        if (sources is None or obj.status in sources) and (target is None or can_move(obj, target))
    }


def can_move(obj: Case | Complaint | Breach, target: str, *, withdraw: bool = False) -> bool:
    """Whether the state table (with `withdraw`, the table of moves back) lets `obj` move from
    its status to `target` now."""
    table = _WITHDRAWALS[type(obj)] if withdraw else _TABLES[type(obj)][0]
    return target in table.get(obj.status, set())


def move(obj: Case | Complaint | Breach, target: str, *, withdraw: bool = False) -> None:
    """Set `obj`'s status to `target` (not saved), or refuse with the message saying why:
    already there (a repeated step), or not a move the state table allows (with `withdraw`,
    the table of moves back, COMPLAINT_WITHDRAWALS)."""
    table, statuses, err_move, err_already = _TABLES[type(obj)]
    if withdraw:
        table = _WITHDRAWALS[type(obj)]
    if obj.status == target:
        raise ValidationError(err_already.format(current=obj.get_status_display()))
    if target not in table.get(obj.status, set()):
        raise ValidationError(err_move.format(current=obj.get_status_display(), target=statuses(target).label))
    obj.status = target


def require_worker(user, obj: Case | Complaint) -> None:
    """Refuse anyone but the object's handler or the DPO (defence in depth: the views' fetch
    helpers ask the same predicates); a closed complaint is worked by nobody."""
    if isinstance(obj, Case):
        if not may_work_case(user, obj):
            raise ValidationError(ERR_NOT_HANDLER)
        return
    if not may_work_complaint(user, obj):
        raise ValidationError(ERR_NOT_WORKER)
    if obj.status == KS.CLOSED:
        raise ValidationError(ERR_CLOSED)


def require_signoff(user, case: Case, *, pending: bool, err_not_pending: str) -> None:
    """Refuse a sign-off the access rule refuses (requests.access.signoff_refusal), with its
    message; `pending` says whether the step has something to carry out, `err_not_pending`
    words its refusal."""
    refusal = signoff_refusal(user, case, pending=pending)
    if refusal == SIGNOFF_NOT_DPO:
        raise ValidationError(ERR_SIGNOFF_PERMISSION)
    if refusal == SIGNOFF_OWN_CASE:
        raise ValidationError(ERR_SELF_SIGNOFF)
    if refusal is not None:
        raise ValidationError(err_not_pending)


def require_breach_manager(user, breach: Breach | None = None) -> None:
    """Refuse anyone but the DPO (a new breach from the access log, any step of a breach), and
    any step of a closed breach."""
    if not may_assess_breaches(user):
        raise ValidationError(ERR_BREACH_DPO_ONLY)
    if breach is not None and breach.status == BS.CLOSED:
        raise ValidationError(ERR_BREACH_CLOSED)


def breach_actions(user, breach: Breach) -> dict[str, bool]:
    """The steps the breach pages offer `user` now, by name: those BREACH_STEPS allows from the
    breach's status, to the DPO, with a report to the ICO only once the DPO decided to make one
    (the services check all of it again). "manage" (the DPO's forms on an open breach: its
    details, links, tasks, the people affected) is what the pages ask most."""
    steps = steps_offered(breach)  # none once closed
    manager = may_assess_breaches(user)
    actions = {name: manager and name in steps for name in BREACH_STEPS}
    actions["notify_ico"] = actions["notify_ico"] and bool(breach.report_to_ico)
    return actions


def may_stop_clock(case: Case) -> bool:
    """Whether asking this requester for clarification stops the clock (UK GDPR Art 12A(5)):
    only then is the "request_clarification" step taken (case_request_clarification refuses it
    for every other right)."""
    return case.right in legal.CLOCK_STOP_RIGHTS


# The "fulfil" step takes the form its right calls for, by the customer's state now
# (fulfilment_step): one of these actions, or, where there is none to take, the note saying why.
FULFILMENT_ACTIONS = ("rectify", "restrict", "lift_restriction", "object", "inform")
FULFILMENT_NOTES = ("objection_recorded", "erased_at_signoff")


def fulfilment_step(case: Case) -> str | None:
    """Which fulfilment action (FULFILMENT_ACTIONS) applies to `case`, or which note
    (FULFILMENT_NOTES) says why none does, by its right and its customer: a correction needs a
    customer not erased, a restriction or an objection a customer (a restriction in force is
    lifted, an objection recorded once), supplementary information is sent, an erasure is carried
    out at sign-off. None for a right with no step of its own (access, portability) or no customer."""
    R = Case.Right
    customer = case.customer if case.customer_id else None
    if case.right == R.RECTIFICATION:
        return "rectify" if customer is not None and not customer.is_erased else None
    if case.right == R.RESTRICTION and customer is not None:
        return "lift_restriction" if customer.processing_restricted else "restrict"
    if case.right == R.OBJECTION and customer is not None:
        return "objection_recorded" if customer.marketing_objected else "object"
    if case.right == R.INFORMED:
        return "inform"
    if case.right == R.ERASURE:
        return "erased_at_signoff"
    return None


def case_actions(user, case: Case, *, may_export: bool) -> dict[str, bool]:
    """What the case page offers `user` now, by name: the steps the state table allows from the
    case's status (steps_offered), to whoever the access rules let take them, and the notes that
    stand where a step cannot be taken. The services check both again (a page that offered too
    much still could not move it).

    Besides CASE_STEPS: "assign" and "signoff" (the DPO's); the fulfilment action or note that
    applies (FULFILMENT_ACTIONS, FULFILMENT_NOTES, under "fulfil"); "clock_cannot_stop" (the
    note in place of "request_clarification" for a right whose clock the law does not pause);
    "link_customer" (a suggested customer record) and "correspondence" (recording a letter,
    email or call), while open; "art19_done" (ticking off who was told, open or closed: an
    erasure closes its case at sign-off, its recipients are told afterwards); "nothing_to_do"."""
    steps = steps_offered(case)  # none once closed
    is_open = bool(steps)
    worker = may_work_case(user, case)
    actions = {name: worker and name in steps for name in CASE_STEPS}
    actions["build_export"] = actions["build_export"] and may_export
    clarify = actions["request_clarification"]
    actions["request_clarification"] = clarify and may_stop_clock(case)
    actions["clock_cannot_stop"] = clarify and not may_stop_clock(case)
    fulfil = fulfilment_step(case) if actions["fulfil"] else None
    for name in (*FULFILMENT_ACTIONS, *FULFILMENT_NOTES):
        actions[name] = fulfil == name
    actions["assign"] = may_assign_cases(user) and is_open
    actions["signoff"] = may_signoff_case(user, case)
    actions["link_customer"] = worker and is_open
    actions["correspondence"] = worker and is_open
    actions["art19_done"] = worker
    actions["nothing_to_do"] = not (worker and is_open) and not actions["assign"] and not actions["signoff"]
    return actions


def complaint_actions(user, complaint: Complaint, ico: IcoCase | None) -> dict[str, bool]:
    """What the complaint page offers `user` now, by name: the steps the state table allows from
    the complaint's status (steps_offered), to whoever the access rules let take them (its
    handler or the DPO works it; the DPO manages it and deals with the ICO).

    Besides the steps: "target" (the DPO sets the response target until we respond);
    "correspondence" (recording a letter, email or call, while open); the ICO's side once it has
    taken the complaint up ("ico_deadline", "ico_answer", "ico_outcome", "ico_outcome_correct");
    "bundle" (the case bundle for the ICO, open or closed); "nothing_to_do"."""
    steps = steps_offered(complaint)  # none once closed
    is_open = bool(steps)
    worker = may_work_complaint(user, complaint) and is_open
    manager = may_manage_complaints(user) and is_open
    escalator = may_escalate_complaints(user) and is_open
    ico_outcome = ico is not None and bool(ico.outcome)
    return {
        "nothing_to_do": not (worker or manager or escalator),
        "bundle": may_download_bundle(user),
        "correspondence": worker,
        "assign": manager,
        "target": manager and not complaint.responded_on,
        "acknowledge": worker and "acknowledge" in steps,
        "investigate": worker and "investigate" in steps,
        "respond": worker and ("respond" in steps or ("respond_escalated" in steps and not complaint.responded_on)),
        "request_review": worker and "request_review" in steps,
        "close": worker and "close" in steps,
        "link_case": worker and "link_case" in steps,
        "conclude_review": manager and "conclude_review" in steps,
        "escalate": escalator and ico is None and "escalate" in steps,
        "ico_deadline": escalator and ico is not None,
        "ico_answer": escalator and ico is not None,
        "ico_outcome": escalator and ico is not None and not ico_outcome,
        "ico_outcome_correct": escalator and ico_outcome,
        "close_escalated": escalator and ico_outcome and "close_escalated" in steps,
    }


def requester_actions(case: Case) -> dict[str, bool]:
    """What the secure page offers the verified requester now, by name: the REQUESTER_STEPS the
    case's status allows (the link itself is the requester's access; the public services check
    the status again)."""
    steps = steps_offered(case, REQUESTER_STEPS)  # none once closed
    return {name: name in steps for name in REQUESTER_STEPS}
