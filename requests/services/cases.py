"""The life of a rights request: intake, identity, the clock, assignment, sign-off, outcome.

Every move is checked here against TRANSITIONS, so a page that forgets to hide a button
still cannot make an illegal move.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.services.normalise import normalise_phone
from privacy_portal import legal

from ..deadlines import next_working_day
from ..models import Case, CaseNote, ClockStop
from .grants import grant_case, revoke_case
from .locking import transition
from .references import next_reference

S = Case.Status

TRANSITIONS: dict[str, set[str]] = {
    S.RECEIVED: {S.AWAITING_IDENTITY, S.IN_PROGRESS, S.AWAITING_SIGNOFF, S.WITHDRAWN},
    S.AWAITING_IDENTITY: {S.IN_PROGRESS, S.AWAITING_SIGNOFF, S.WITHDRAWN},
    S.IN_PROGRESS: {S.AWAITING_CLARIFICATION, S.AWAITING_SIGNOFF, S.COMPLETED, S.WITHDRAWN},
    S.AWAITING_CLARIFICATION: {S.IN_PROGRESS, S.WITHDRAWN},
    S.AWAITING_SIGNOFF: {S.IN_PROGRESS, S.COMPLETED, S.REFUSED},
    S.COMPLETED: set(),
    S.REFUSED: set(),
    S.WITHDRAWN: set(),
}

ERR_MOVE = "A case that is “{current}” cannot be moved to “{target}”."
# The second of two identical steps (a double click, two tabs): it finds the first one's result.
ERR_ALREADY = "Already done: this case is now “{current}”."
ERR_NO_RIGHTS = "Choose at least one right the requester is exercising."
ERR_RIGHT = "Unknown right: {right}."
ERR_RECEIVED_FUTURE = "The date received cannot be in the future."
ERR_WHO = "Find the customer, or enter the requester's name."
ERR_ERASED = "This customer has been erased: log the request with the requester's details instead."
ERR_RELATIONSHIP = "Say how the person acting for the customer is related (solicitor, relative…)."
ERR_ALREADY_LINKED = "This request is already linked to a customer."
ERR_NOT_HANDLER = "Only the assigned handler or the DPO can work this case."
ERR_HANDLER_ROLE = "Cases can be assigned only to privacy case handlers or the DPO."
ERR_SELF_SIGNOFF = "The handler of a case cannot sign off its own refusal, erasure or extension."
ERR_SIGNOFF_PERMISSION = "Only the DPO can sign off."
ERR_NOTHING_PENDING = "Nothing on this case is waiting for sign-off: it may just have been signed off."
ERR_REASON = "Give a reason."
ERR_GROUND = "Choose the ground for refusing."
ERR_EXTENSION_TWICE = "This case has already been extended; the law allows one extension of up to two months."
ERR_EXTENSION_LATE = "An extension must be notified to the requester by the original due date ({due}); it is too late."
ERR_NOTIFIED_DATE = "Give the date the requester was told about the extension, no later than today."
ERR_REFUSAL_TOLD_DATE = (
    "Give the date the requester was told of the refusal and its reasons (UK GDPR Art 12(4)), "
    "no earlier than the request was received and no later than today."
)
ERR_ERASURE_ONLY = "Only an erasure request can be signed off for erasure."
ERR_ERASURE_SIGNOFF = "An erasure is completed by the DPO's sign-off, not directly."
ERR_CLOCK_NOT_STARTED = "The clock has not started: identity evidence is awaited."
ERR_DATE_BEFORE = "The date cannot be before the case was received."
ERR_DATE_FUTURE = "The date cannot be in the future."
ERR_CLOCK_STOP_RIGHT = (
    "The clock can be stopped only for an access request (UK GDPR Art 12A(5)). "
    "This is a request for {right}: ask the requester if you need to, but the clock keeps running "
    "and the case is still due {due}."
)

# Each right needs DPO sign-off before it is refused or (for erasure) carried out.
REFUSAL_TEXT = (
    "Your request has been refused: {ground}. {reason} "
    "You have the right to complain to the Information Commissioner's Office (ico.org.uk, 0303 123 1113) "
    "and to seek to enforce your rights through the courts."
)


def _move(case: Case, target: str) -> None:
    if case.status == target:
        raise ValidationError(ERR_ALREADY.format(current=case.get_status_display()))
    if target not in TRANSITIONS[case.status]:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target=S(target).label))
    case.status = target


def _save(case: Case, actor, reason: str) -> None:
    case._history_user = actor
    case._change_reason = reason
    case.save()


def _check_date(case: Case, day: datetime.date) -> None:
    if day > timezone.localdate():
        raise ValidationError(ERR_DATE_FUTURE)
    if day < case.received_on:
        raise ValidationError(ERR_DATE_BEFORE)


def may_work(user, case: Case) -> bool:
    return user.has_perm("requests.work_case", case) or user.has_perm("requests.assign_case")


def may_stop_clock(case: Case) -> bool:
    """Whether asking this requester for clarification stops the clock (UK GDPR Art 12A(5))."""
    return case.right in legal.CLOCK_STOP_RIGHTS


def _require_worker(user, case: Case) -> None:
    if not may_work(user, case):
        raise ValidationError(ERR_NOT_HANDLER)


def recompute_due(case: Case) -> None:
    """Due date = clock start + 1 month (3 if extended) + days stopped, then the next working day."""
    if case.clock_started_on is None:
        case.due_on = case.original_due_on = None
        return
    stopped = datetime.timedelta(days=case.stopped_days)
    start = case.clock_started_on
    case.original_due_on = next_working_day(start + relativedelta(months=legal.DSAR_RESPONSE_MONTHS) + stopped)
    months = legal.DSAR_RESPONSE_MONTHS + (legal.DSAR_EXTENSION_MONTHS if case.extended else 0)
    case.due_on = next_working_day(start + relativedelta(months=months) + stopped)


@transaction.atomic
def case_log(
    *,
    actor,
    rights: list[str],
    channel: str,
    received_on: datetime.date,
    customer=None,
    requester_name: str = "",
    requester_email: str = "",
    requester_phone: str = "",
    requester_address: str = "",
    acting_for_other: bool = False,
    representative_relationship: str = "",
    authority_note: str = "",
    description: str = "",
) -> list[Case]:
    """Log a request: one case per right asked for, linked by one letter id. The clock
    starts on the day of receipt."""
    errors: dict[str, str] = {}
    if not rights:
        errors["rights"] = ERR_NO_RIGHTS
    for right in rights:
        if right not in Case.Right.values:
            errors["rights"] = ERR_RIGHT.format(right=right)
    if received_on > timezone.localdate():
        errors["received_on"] = ERR_RECEIVED_FUTURE
    if customer is None and not requester_name.strip():
        errors["requester_name"] = ERR_WHO
    if customer is not None and customer.is_erased:
        errors["customer"] = ERR_ERASED
    if acting_for_other and not representative_relationship.strip():
        errors["representative_relationship"] = ERR_RELATIONSHIP
    if channel not in Case.Channel.values:
        errors["channel"] = "Choose how the request arrived."
    try:  # the one phone rule, whichever form (or import) the number came from
        requester_phone = normalise_phone(requester_phone)
    except ValidationError as exc:
        errors["requester_phone"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    letter = uuid.uuid4()
    cases = []
    for right in dict.fromkeys(rights):  # keep order, drop repeats
        case = Case(
            reference=next_reference("R"),
            right=right,
            channel=channel,
            received_on=received_on,
            letter_id=letter,
            customer=customer,
            requester_name=requester_name.strip(),
            requester_email=requester_email.strip().lower(),
            requester_phone=requester_phone,
            requester_address=requester_address.strip(),
            acting_for_other=acting_for_other,
            representative_relationship=representative_relationship.strip(),
            authority_note=authority_note.strip(),
            description=description.strip(),
            logged_by=actor,
            clock_started_on=received_on,
        )
        recompute_due(case)
        _save(case, actor, f"Logged from {Case.Channel(channel).label.lower()}")
        cases.append(case)
    return cases


@transition("case")
def case_assign(*, actor, case: Case, handler) -> Case:
    """The DPO assigns a handler, who gets object permissions on the case and its customer;
    a previous handler loses them."""
    from privacy_portal.models import User

    if handler.role not in (User.Role.HANDLER, User.Role.DPO) or not handler.is_active:
        raise ValidationError({"handler": ERR_HANDLER_ROLE})
    if not case.is_open:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target="reassigned"))
    previous = case.handler
    case.handler = handler
    case.assigned_at = timezone.now()
    _save(case, actor, f"Assigned to {handler.get_full_name() or handler.username}")
    if previous is not None and previous.pk != handler.pk:
        revoke_case(previous, case)
    grant_case(handler, case)
    return case


@transition("case")
def case_start(*, actor, case: Case) -> Case:
    """Start work without asking for identity (the requester is known, e.g. a verified account)."""
    _require_worker(actor, case)
    _move(case, S.IN_PROGRESS)
    _save(case, actor, "Work started; identity not needed")
    return case


@transition("case")
def case_request_identity(*, actor, case: Case, on: datetime.date | None = None) -> Case:
    """Ask for identity evidence. Asked promptly, the clock waits for the evidence."""
    _require_worker(actor, case)
    on = on or timezone.localdate()
    _check_date(case, on)
    _move(case, S.AWAITING_IDENTITY)
    case.identity = Case.Identity.REQUESTED
    case.identity_requested_on = on
    if (on - case.received_on).days <= legal.IDENTITY_REQUEST_PROMPT_DAYS and case.identity_received_on is None:
        case.clock_started_on = None
    recompute_due(case)
    _save(case, actor, "Identity evidence requested")
    _tell_online_requester(case, "identity_request", {})
    return case


@transition("case")
def case_identity_received(*, actor, case: Case, on: datetime.date | None = None) -> Case:
    """Evidence arrived: the clock starts now if it was waiting for it."""
    _require_worker(actor, case)
    return _identity_received(
        actor=actor, case=case, on=on or timezone.localdate(), reason="Identity evidence received"
    )


def _identity_received(*, actor, case: Case, on: datetime.date, reason: str) -> Case:
    """The step itself, for a case already locked by its caller: the handler's
    (case_identity_received) or the requester's upload on the secure page (actor None)."""
    _check_date(case, on)
    if case.status != S.AWAITING_IDENTITY:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target="identity received"))
    case.identity = Case.Identity.RECEIVED
    case.identity_received_on = on
    if case.clock_started_on is None:
        case.clock_started_on = on
    recompute_due(case)
    _save(case, actor, reason)
    return case


@transition("case")
def case_decide_identity(*, actor, case: Case, verified: bool, note: str = "") -> Case:
    """Verify or reject the identity evidence; either way the documents are deleted at once."""
    from .documents import documents_delete_identity

    _require_worker(actor, case)
    if case.identity not in (Case.Identity.RECEIVED, Case.Identity.REQUESTED) or case.status != S.AWAITING_IDENTITY:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target="identity decided"))
    case.identity = Case.Identity.VERIFIED if verified else Case.Identity.REJECTED
    case.identity_decided_at = timezone.now()
    case.identity_decided_by = actor
    if case.clock_started_on is None:
        case.clock_started_on = case.identity_received_on or timezone.localdate()
        recompute_due(case)
    if verified:
        _move(case, S.IN_PROGRESS)
    _save(case, actor, ("Identity verified" if verified else "Identity rejected") + (f": {note}" if note else ""))
    documents_delete_identity(actor=actor, case=case, reason="Identity decided")
    return case


@transition("case")
def case_request_clarification(*, actor, case: Case, question: str, on: datetime.date | None = None) -> Case:
    """Ask the requester what an access request relates to: the clock stops (Art 12A(5)).

    Refused for every other right: the law lets only an access request's clock be paused."""
    _require_worker(actor, case)
    if not question.strip():
        raise ValidationError({"question": ERR_REASON})
    on = on or timezone.localdate()
    _check_date(case, on)
    if case.clock_started_on is None:
        raise ValidationError(ERR_CLOCK_NOT_STARTED)
    if not may_stop_clock(case):
        raise ValidationError(
            ERR_CLOCK_STOP_RIGHT.format(right=case.get_right_display(), due=f"{case.due_on:%-d %B %Y}")
        )
    _move(case, S.AWAITING_CLARIFICATION)
    stop = ClockStop(case=case, started_on=on, question=question.strip())
    stop._history_user = actor
    stop.save()
    _save(case, actor, "Clarification requested; clock stopped")
    _tell_online_requester(case, "clarification_request", {"question": question.strip()})
    return case


@transition("case")
def case_clarification_received(*, actor, case: Case, on: datetime.date | None = None) -> Case:
    """The answer restarts the clock; the due date moves later by the days not counted,
    the day asked and the day answered both included (legal.clock_paused_days)."""
    _require_worker(actor, case)
    return _clarification_received(actor=actor, case=case, on=on or timezone.localdate(), by="")


def _clarification_received(*, actor, case: Case, on: datetime.date, by: str) -> Case:
    """The step itself, for a case already locked by its caller: the handler recording the
    answer (case_clarification_received), or the requester answering on the secure page
    (actor None, `by` says so in the history)."""
    _check_date(case, on)
    stop = case.stops.filter(ended_on__isnull=True).first()
    if stop is None or case.status != S.AWAITING_CLARIFICATION:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target=S.IN_PROGRESS.label))
    if on < stop.started_on:
        raise ValidationError(ERR_DATE_BEFORE)
    stop.ended_on = on
    stop._history_user = actor
    stop.save()
    _move(case, S.IN_PROGRESS)
    if may_stop_clock(case):
        case.stopped_days += stop.days
        reason = f"Clarification received; clock restarted, {stop.days} days not counted (Art 12A(5))"
    else:
        # A pause opened before the rule was enforced, on a right the law does not let pause:
        # the clock ran all along, so the due date does not move.
        reason = "Clarification received; the clock kept running (Art 12A(5) pauses only access requests)"
    if by:
        reason = f"{reason} ({by})"
    recompute_due(case)
    _save(case, actor, reason)
    return case


@transition("case")
def case_request_signoff(*, actor, case: Case, kind: str, reason: str, refusal_ground: str = "") -> Case:
    """Ask the DPO to sign off a refusal, an erasure or an extension."""
    _require_worker(actor, case)
    if not reason.strip():
        raise ValidationError({"reason": ERR_REASON})
    if kind == Case.Signoff.REFUSAL and refusal_ground not in Case.RefusalGround.values:
        raise ValidationError({"refusal_ground": ERR_GROUND})
    if kind == Case.Signoff.ERASURE and case.right != Case.Right.ERASURE:
        raise ValidationError(ERR_ERASURE_ONLY)
    if kind == Case.Signoff.EXTENSION:
        if case.extended:
            raise ValidationError(ERR_EXTENSION_TWICE)
        if case.original_due_on is None:
            raise ValidationError(ERR_CLOCK_NOT_STARTED)
        if timezone.localdate() > case.original_due_on:
            raise ValidationError(ERR_EXTENSION_LATE.format(due=f"{case.original_due_on:%-d %B %Y}"))
    _move(case, S.AWAITING_SIGNOFF)
    case.pending_signoff = kind
    case.signoff_reason = reason.strip()
    case.signoff_requested_by = actor
    case.refusal_ground = refusal_ground if kind == Case.Signoff.REFUSAL else case.refusal_ground
    _save(case, actor, f"{Case.Signoff(kind).label} sent for DPO sign-off")
    return case


@transition("case")
def case_signoff(
    *,
    actor,
    case: Case,
    approve: bool,
    note: str = "",
    notified_on: datetime.date | None = None,
    include: Iterable[str] = (),
) -> Case:
    """The DPO approves or declines what is pending. Never the case's own handler. For an
    erasure, `include`: the requests and complaints logged without choosing the customer that
    the preview offered and the DPO includes (requests.services.erasure.customer_erase)."""
    if not actor.has_perm("requests.signoff_case"):
        raise ValidationError(ERR_SIGNOFF_PERMISSION)
    if case.status != S.AWAITING_SIGNOFF or not case.pending_signoff:
        raise ValidationError(ERR_NOTHING_PENDING)
    if actor.pk in (case.handler_id, case.signoff_requested_by_id):
        raise ValidationError(ERR_SELF_SIGNOFF)
    kind = case.pending_signoff
    if not approve:
        case.pending_signoff = ""
        if kind == Case.Signoff.REFUSAL:
            case.refusal_ground = ""
        _move(case, S.IN_PROGRESS)
        _save(case, actor, f"{Case.Signoff(kind).label} declined by the DPO" + (f": {note}" if note else ""))
        return case
    if kind == Case.Signoff.EXTENSION:
        if notified_on is None or notified_on > timezone.localdate():
            raise ValidationError({"notified_on": ERR_NOTIFIED_DATE})
        if notified_on > case.original_due_on:
            raise ValidationError({"notified_on": ERR_EXTENSION_LATE.format(due=f"{case.original_due_on:%-d %B %Y}")})
        case.extended = True
        case.extension_reason = case.signoff_reason
        case.extension_notified_on = notified_on
        case.pending_signoff = ""
        recompute_due(case)
        _move(case, S.IN_PROGRESS)
        _save(case, actor, "Extension approved by the DPO")
        return case
    if kind == Case.Signoff.REFUSAL:
        today = timezone.localdate()
        if notified_on is None or notified_on > today or notified_on < case.received_on:
            raise ValidationError({"notified_on": ERR_REFUSAL_TOLD_DATE})
        case.pending_signoff = ""
        case.outcome = REFUSAL_TEXT.format(
            ground=Case.RefusalGround(case.refusal_ground).label.lower(), reason=case.signoff_reason
        )
        case.closed_on = today
        case.refusal_told_on = notified_on
        case.refused_late = refusal_is_late(case)
        _move(case, S.REFUSED)
        reason = "Refusal approved by the DPO"
        if case.refused_late:
            reason += f" after the time limit (due {case.due_on:%-d %B %Y}; Art 12(4))"
        _save(case, actor, reason)
        _release(case)
        return case
    # Erasure: carried out now, under the DPO's sign-off.
    from .erasure import customer_erase

    customer_erase(actor=actor, case=case, include=include)
    case.pending_signoff = ""
    case.outcome = case.outcome or "Erasure carried out after DPO sign-off."
    case.closed_on = timezone.localdate()
    _move(case, S.COMPLETED)
    _save(case, actor, "Erasure approved by the DPO and carried out")
    _release(case)
    return case


@transition("case")
def case_complete(*, actor, case: Case, outcome: str) -> Case:
    _require_worker(actor, case)
    if case.right == Case.Right.ERASURE and case.customer_id is not None:
        # With no customer record there is nothing to erase: the case is answered directly.
        raise ValidationError(ERR_ERASURE_SIGNOFF)
    if not outcome.strip():
        raise ValidationError({"outcome": "Say what was done."})
    _move(case, S.COMPLETED)
    case.outcome = outcome.strip()
    case.closed_on = timezone.localdate()
    _save(case, actor, "Completed")
    _release(case)
    return case


@transition("case")
def case_withdraw(*, actor, case: Case, reason: str) -> Case:
    _require_worker(actor, case)
    if not reason.strip():
        raise ValidationError({"reason": ERR_REASON})
    _move(case, S.WITHDRAWN)
    case.outcome = f"Withdrawn by the requester: {reason.strip()}"
    case.closed_on = timezone.localdate()
    _save(case, actor, "Withdrawn")
    _release(case)
    return case


def _tell_online_requester(case: Case, key: str, context: dict) -> None:
    """A request filed on the public form: email the requester this step's message (the DPO's
    template, with the link to their secure page), once the step has committed; recorded in the
    case's correspondence with its delivery status (requests.services.messages)."""
    if case.email_verified_at is None or not case.requester_email:
        return
    from . import messages, public

    def send() -> None:
        context_all = {"reference": case.reference, "link": public.link_url(case), **context}
        messages.message_send(key=key, to=case.requester_email, context=context_all, case=case)

    transaction.on_commit(send)


def refusal_is_late(case: Case) -> bool:
    """UK GDPR Art 12(4): the reasons for not acting must reach the requester before the end of
    the time limit. Late when the refusal was approved, or the requester told, after the due
    date. With no due date (the clock never started: identity never came) nothing was late."""
    if case.due_on is None:
        return False
    last = max(d for d in (case.closed_on, case.refusal_told_on) if d is not None)
    return last > case.due_on


def _release(case: Case) -> None:
    """A closed case keeps its handler's view of the case but not of the customer."""
    if case.handler is not None:
        revoke_case(case.handler, case)
        from guardian.shortcuts import assign_perm

        assign_perm("requests.view_case", case.handler, case)


@transition("case")
def case_link_customer(*, actor, case: Case, customer) -> Case:
    """The handler confirms that the customer record matched on a request from the public form is
    the requester's (never done automatically: a match is a suggestion, not proof)."""
    _require_worker(actor, case)
    if not case.is_open:
        raise ValidationError(ERR_MOVE.format(current=case.get_status_display(), target="linked to a customer"))
    if case.customer_id is not None:
        raise ValidationError(ERR_ALREADY_LINKED)
    if customer.is_erased:
        raise ValidationError({"customer": ERR_ERASED})
    case.customer = customer
    _save(case, actor, f"Linked to customer {customer.reference} (match confirmed by the handler)")
    if case.handler is not None:
        grant_case(case.handler, case)
    return case


@transition("case")
def case_add_note(*, actor, case: Case, text: str) -> CaseNote:
    _require_worker(actor, case)
    if not text.strip():
        raise ValidationError({"text": "Write the note."})
    note = CaseNote(case=case, text=text.strip(), author=actor)
    note._history_user = actor
    note.save()
    return note
