"""The life of a rights request: intake, identity, the clock, assignment, sign-off, outcome.

Every move is checked against the state table of the workflow core
(requests.services.workflow.CASE_TRANSITIONS), so a page that forgets to hide a button still
cannot make an illegal move.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from customers.services.normalise import email_key, normalise_phone
from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..access import may_be_given_cases
from ..deadlines import next_working_day
from ..models import Case, CaseDocument, CaseNote, ClockStop
from ..selectors.cases import case_customer_matches
from . import messages
from .documents import document_store, documents_delete_identity
from .erasure import customer_erase
from .grants import grant_case, revoke_case
from .links import complaint_url, link_url
from .locking import transition
from .references import next_reference
from .workflow import (
    ERR_CASE_MOVE,
    ERR_ERASURE_ONLY,
    ERR_REASON,
    may_stop_clock,
    move,
    require_signoff,
    require_worker,
)
from .workflow import ERR_SELF_SIGNOFF as ERR_SELF_SIGNOFF  # the sign-off messages, as the case steps give them
from .workflow import ERR_SIGNOFF_PERMISSION as ERR_SIGNOFF_PERMISSION

S = Case.Status

ERR_NO_RIGHTS = "Choose at least one right the requester is exercising."
ERR_RIGHT = "Unknown right: {right}."
ERR_RECEIVED_FUTURE = "The date received cannot be in the future."
ERR_WHO = "Find the customer, or enter the requester's name."
ERR_ERASED = "This customer has been erased: log the request with the requester's details instead."
ERR_RELATIONSHIP = "Say how the person acting for the customer is related (solicitor, relative…)."
ERR_ALREADY_LINKED = "This request is already linked to a customer."
ERR_NOT_A_MATCH = "Choose one of the matching customer records shown on the case."
ERR_HANDLER_ROLE = "Cases can be assigned only to privacy case handlers or the DPO."
ERR_NOTHING_PENDING = "Nothing on this case is waiting for sign-off: it may just have been signed off."
ERR_GROUND = "Choose the ground for refusing."
ERR_EXTENSION_TWICE = (
    f"This case has already been extended; the law allows one extension of up to {legal.DSAR_EXTENSION_MONTHS} months."
)
ERR_EXTENSION_LATE = "An extension must be notified to the requester by the original due date ({due}); it is too late."
ERR_NOTIFIED_DATE = "Give the date the requester was told about the extension, no later than today."
ERR_REFUSAL_TOLD_DATE = (
    "Give the date the requester was told of the refusal and its reasons (UK GDPR Art 12(4)), "
    "no earlier than the request was received and no later than today."
)
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


def _check_date(case: Case, day: datetime.date) -> None:
    if day > timezone.localdate():
        raise ValidationError(ERR_DATE_FUTURE)
    if day < case.received_on:
        raise ValidationError(ERR_DATE_BEFORE)


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
    actor: User | None,
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
            reference=next_reference("R", actor=actor),
            right=right,
            channel=channel,
            received_on=received_on,
            letter_id=letter,
            customer=customer,
            requester_name=requester_name.strip(),
            requester_email=email_key(requester_email),
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
        save_tracked(case, actor=actor, reason=f"Logged from {Case.Channel(channel).label.lower()}")
        cases.append(case)
    return cases


@transition("case")
def case_assign(*, actor: User, case: Case, handler) -> Case:
    """The DPO assigns a handler, who gets object permissions on the case and its customer;
    a previous handler loses them."""
    if not may_be_given_cases(handler):
        raise ValidationError({"handler": ERR_HANDLER_ROLE})
    if not case.is_open:
        raise ValidationError(ERR_CASE_MOVE.format(current=case.get_status_display(), target="reassigned"))
    previous = case.handler
    case.handler = handler
    case.assigned_at = timezone.now()
    save_tracked(case, actor=actor, reason=f"Assigned to {handler.get_full_name() or handler.username}")
    if previous is not None and previous.pk != handler.pk:
        revoke_case(previous, case)
    grant_case(handler, case)
    return case


@transition("case")
def case_start(*, actor: User, case: Case) -> Case:
    """Start work without asking for identity (the requester is known, e.g. a verified account)."""
    require_worker(actor, case)
    move(case, S.IN_PROGRESS)
    save_tracked(case, actor=actor, reason="Work started; identity not needed")
    return case


@transition("case")
def case_request_identity(*, actor: User, case: Case, on: datetime.date | None = None) -> Case:
    """Ask for identity evidence. Asked promptly, the clock waits for the evidence."""
    require_worker(actor, case)
    on = on or timezone.localdate()
    _check_date(case, on)
    move(case, S.AWAITING_IDENTITY)
    case.identity = Case.Identity.REQUESTED
    case.identity_requested_on = on
    if (on - case.received_on).days <= legal.IDENTITY_REQUEST_PROMPT_DAYS and case.identity_received_on is None:
        case.clock_started_on = None
    recompute_due(case)
    save_tracked(case, actor=actor, reason="Identity evidence requested")
    _tell_online_requester(case, "identity_request", {}, actor)
    return case


@transition("case")
def case_identity_received(*, actor: User, case: Case, on: datetime.date | None = None) -> Case:
    """Evidence arrived: the clock starts now if it was waiting for it."""
    require_worker(actor, case)
    return identity_received_record(
        actor=actor, case=case, on=on or timezone.localdate(), reason="Identity evidence received"
    )


def identity_received_record(*, actor: User | None, case: Case, on: datetime.date, reason: str) -> Case:
    """The step itself, for a case already locked by its caller: the handler's
    (case_identity_received) or the requester's upload on the secure page (actor None)."""
    _check_date(case, on)
    if case.status != S.AWAITING_IDENTITY:
        raise ValidationError(ERR_CASE_MOVE.format(current=case.get_status_display(), target="identity received"))
    case.identity = Case.Identity.RECEIVED
    case.identity_received_on = on
    if case.clock_started_on is None:
        case.clock_started_on = on
    recompute_due(case)
    save_tracked(case, actor=actor, reason=reason)
    return case


@transition("case")
def identity_evidence_receive(*, actor: User, case: Case, upload, on) -> CaseDocument:
    """Identity evidence arrived with its file. The step is checked first (the case must be
    awaiting identity, the date sane): refused, nothing is stored; the file itself refused,
    the step is undone with it (one transaction), and the file is written only on commit."""
    case_identity_received(actor=actor, case=case, on=on)
    return document_store(actor=actor, case=case, upload=upload, kind=CaseDocument.Kind.IDENTITY)


@transition("case")
def case_decide_identity(*, actor: User, case: Case, verified: bool, note: str = "") -> Case:
    """Verify or reject the identity evidence; either way the documents are deleted at once."""
    require_worker(actor, case)
    if case.identity not in (Case.Identity.RECEIVED, Case.Identity.REQUESTED) or case.status != S.AWAITING_IDENTITY:
        raise ValidationError(ERR_CASE_MOVE.format(current=case.get_status_display(), target="identity decided"))
    case.identity = Case.Identity.VERIFIED if verified else Case.Identity.REJECTED
    case.identity_decided_at = timezone.now()
    case.identity_decided_by = actor
    if case.clock_started_on is None:
        case.clock_started_on = case.identity_received_on or timezone.localdate()
        recompute_due(case)
    if verified:
        move(case, S.IN_PROGRESS)
    save_tracked(
        case,
        actor=actor,
        reason=("Identity verified" if verified else "Identity rejected") + (f": {note}" if note else ""),
    )
    documents_delete_identity(actor=actor, case=case, reason="Identity decided")
    return case


@transition("case")
def case_request_clarification(*, actor: User, case: Case, question: str, on: datetime.date | None = None) -> Case:
    """Ask the requester what an access request relates to: the clock stops (Art 12A(5)).

    Refused for every other right: the law lets only an access request's clock be paused."""
    require_worker(actor, case)
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
    move(case, S.AWAITING_CLARIFICATION)
    save_tracked(ClockStop(case=case, started_on=on, question=question.strip()), actor=actor, reason=None)
    save_tracked(case, actor=actor, reason="Clarification requested; clock stopped")
    _tell_online_requester(case, "clarification_request", {"question": question.strip()}, actor)
    return case


@transition("case")
def case_clarification_received(*, actor: User, case: Case, on: datetime.date | None = None) -> Case:
    """The answer restarts the clock; the due date moves later by the days not counted,
    the day asked and the day answered both included (legal.clock_paused_days)."""
    require_worker(actor, case)
    return clarification_received_record(actor=actor, case=case, on=on or timezone.localdate(), by="")


def clarification_received_record(*, actor: User | None, case: Case, on: datetime.date, by: str) -> Case:
    """The step itself, for a case already locked by its caller: the handler recording the
    answer (case_clarification_received), or the requester answering on the secure page
    (actor None, `by` says so in the history)."""
    _check_date(case, on)
    stop = case.stops.filter(ended_on__isnull=True).first()
    if stop is None or case.status != S.AWAITING_CLARIFICATION:
        raise ValidationError(ERR_CASE_MOVE.format(current=case.get_status_display(), target=S.IN_PROGRESS.label))
    if on < stop.started_on:
        raise ValidationError(ERR_DATE_BEFORE)
    stop.ended_on = on
    save_tracked(stop, actor=actor, reason=None)
    move(case, S.IN_PROGRESS)
    if may_stop_clock(case):
        assert stop.days is not None  # the stop has just been ended
        case.stopped_days += stop.days
        reason = f"Clarification received; clock restarted, {stop.days} days not counted (Art 12A(5))"
    else:
        # A pause opened before the rule was enforced, on a right the law does not let pause:
        # the clock ran all along, so the due date does not move.
        reason = "Clarification received; the clock kept running (Art 12A(5) pauses only access requests)"
    if by:
        reason = f"{reason} ({by})"
    recompute_due(case)
    save_tracked(case, actor=actor, reason=reason)
    return case


@transition("case")
def case_request_signoff(*, actor: User, case: Case, kind: str, reason: str, refusal_ground: str = "") -> Case:
    """Ask the DPO to sign off a refusal, an erasure or an extension."""
    require_worker(actor, case)
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
    move(case, S.AWAITING_SIGNOFF)
    case.pending_signoff = kind
    case.signoff_reason = reason.strip()
    case.signoff_requested_by = actor
    case.refusal_ground = refusal_ground if kind == Case.Signoff.REFUSAL else case.refusal_ground
    save_tracked(case, actor=actor, reason=f"{Case.Signoff(kind).label} sent for DPO sign-off")
    return case


@transition("case")
def case_signoff(
    *,
    actor: User,
    case: Case,
    approve: bool,
    note: str = "",
    notified_on: datetime.date | None = None,
    include: Iterable[str] = (),
) -> Case:
    """The DPO approves or declines what is pending. Never the case's own handler. For an
    erasure, `include`: the requests and complaints logged without choosing the customer that
    the preview offered and the DPO includes (requests.services.erasure.customer_erase)."""
    pending = case.status == S.AWAITING_SIGNOFF and bool(case.pending_signoff)
    require_signoff(actor, case, pending=pending, err_not_pending=ERR_NOTHING_PENDING)
    kind = case.pending_signoff
    if not approve:
        case.pending_signoff = ""
        if kind == Case.Signoff.REFUSAL:
            case.refusal_ground = ""
        move(case, S.IN_PROGRESS)
        save_tracked(
            case, actor=actor, reason=f"{Case.Signoff(kind).label} declined by the DPO" + (f": {note}" if note else "")
        )
        return case
    if kind == Case.Signoff.EXTENSION:
        if notified_on is None or notified_on > timezone.localdate():
            raise ValidationError({"notified_on": ERR_NOTIFIED_DATE})
        assert case.original_due_on is not None  # set when the case was logged
        if notified_on > case.original_due_on:
            raise ValidationError({"notified_on": ERR_EXTENSION_LATE.format(due=f"{case.original_due_on:%-d %B %Y}")})
        case.extended = True
        case.extension_reason = case.signoff_reason
        case.extension_notified_on = notified_on
        case.pending_signoff = ""
        recompute_due(case)
        move(case, S.IN_PROGRESS)
        save_tracked(case, actor=actor, reason="Extension approved by the DPO")
        _tell_extension(case, actor)
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
        move(case, S.REFUSED)
        reason = "Refusal approved by the DPO"
        if case.refused_late:
            reason += f" after the time limit (due {case.due_on:%-d %B %Y}; Art 12(4))"
        save_tracked(case, actor=actor, reason=reason)
        _tell_refusal(case, actor)
        _release(case)
        return case
    # Erasure: carried out now, under the DPO's sign-off.
    customer_erase(actor=actor, case=case, include=include)
    case.pending_signoff = ""
    case.outcome = case.outcome or "Erasure carried out after DPO sign-off."
    case.closed_on = timezone.localdate()
    move(case, S.COMPLETED)
    save_tracked(case, actor=actor, reason="Erasure approved by the DPO and carried out")
    _tell_completion(case, actor)
    _release(case)
    return case


@transition("case")
def case_complete(*, actor: User, case: Case, outcome: str) -> Case:
    require_worker(actor, case)
    if case.right == Case.Right.ERASURE and case.customer_id is not None:
        # With no customer record there is nothing to erase: the case is answered directly.
        raise ValidationError(ERR_ERASURE_SIGNOFF)
    if not outcome.strip():
        raise ValidationError({"outcome": "Say what was done."})
    move(case, S.COMPLETED)
    case.outcome = outcome.strip()
    case.closed_on = timezone.localdate()
    save_tracked(case, actor=actor, reason="Completed")
    _tell_completion(case, actor)
    _release(case)
    return case


@transition("case")
def case_withdraw(*, actor: User, case: Case, reason: str) -> Case:
    require_worker(actor, case)
    if not reason.strip():
        raise ValidationError({"reason": ERR_REASON})
    move(case, S.WITHDRAWN)
    case.outcome = f"Withdrawn by the requester: {reason.strip()}"
    case.closed_on = timezone.localdate()
    save_tracked(case, actor=actor, reason="Withdrawn")
    _release(case)
    return case


def _tell_online_requester(case: Case, key: str, context: dict, actor: User | None = None) -> None:
    """A request filed on the public form: email the requester this step's message (the DPO's
    template, with the link to their secure page). Recorded in the step's own transaction as
    queued and sent once it commits (requests.services.messages.message_queue), so a step rolled
    back sends nothing; its delivery status is then recorded on the case's correspondence."""
    if case.email_verified_at is None or not case.requester_email:
        return
    context_all = {
        "reference": case.reference,
        "link": link_url(case),
        "complaint_url": complaint_url(),
        **context,
    }
    messages.message_queue(key=key, to=case.requester_email, context=context_all, case=case, actor=actor)


def _tell_extension(case: Case, actor: User) -> None:
    _tell_online_requester(
        case,
        "extension",
        {"reason": case.extension_reason, "due_on": f"{case.due_on:%-d %B %Y}"},
        actor,
    )


def _tell_refusal(case: Case, actor: User) -> None:
    reason = f"{Case.RefusalGround(case.refusal_ground).label}. {case.signoff_reason}".strip()
    _tell_online_requester(case, "refusal", {"reason": reason}, actor)


def _tell_completion(case: Case, actor: User) -> None:
    download = ""
    if case.right in (Case.Right.ACCESS, Case.Right.PORTABILITY):
        download = (
            f"Download the copy of your data from your secure page: {link_url(case)} "
            f"(for {legal.EXPORT_RETENTION_DAYS} days, up to {legal.EXPORT_PUBLIC_DOWNLOADS} downloads)."
        )
    _tell_online_requester(case, "completion", {"outcome": case.outcome, "download": download}, actor)


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
        assign_perm("requests.view_case", case.handler, case)


@transition("case")
def case_link_customer(*, actor: User, case: Case, customer_id: int) -> Case:
    """The handler confirms that a customer record matched on a request from the public form (one
    of case_customer_matches, the ones the case page shows) is the requester's (never done
    automatically: a match is a suggestion, not proof)."""
    require_worker(actor, case)
    if not case.is_open:
        raise ValidationError(ERR_CASE_MOVE.format(current=case.get_status_display(), target="linked to a customer"))
    if case.customer_id is not None:
        raise ValidationError(ERR_ALREADY_LINKED)
    customer = next((m.customer for m in case_customer_matches(case) if m.customer.pk == customer_id), None)
    if customer is None:
        raise ValidationError({"customer_id": ERR_NOT_A_MATCH})
    if customer.is_erased:
        raise ValidationError({"customer": ERR_ERASED})
    case.customer = customer
    save_tracked(case, actor=actor, reason=f"Linked to customer {customer.reference} (match confirmed by the handler)")
    if case.handler is not None:
        grant_case(case.handler, case)
    return case


@transition("case")
def case_add_note(*, actor: User, case: Case, text: str) -> CaseNote:
    require_worker(actor, case)
    if not text.strip():
        raise ValidationError({"text": "Write the note."})
    return save_tracked(CaseNote(case=case, text=text.strip(), author=actor), actor=actor, reason=None)
