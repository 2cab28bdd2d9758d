"""Complaints (DPA 2018 s164A): logging, acknowledgement, investigation, response, internal
review, the ICO's involvement, and closing.

Every move is checked against the state table of the workflow core
(requests.services.workflow.COMPLAINT_TRANSITIONS), so a page that forgets to hide a button
still cannot make an illegal move. The lawful paths, and why:

- received -> acknowledged: s164A(4) requires an acknowledgement within 30 days; nothing
  else may happen first (not even closing: a withdrawn complaint is still acknowledged).
- acknowledged -> investigating -> responded; or acknowledged -> responded directly, when
  the answer needs no investigation (s164A(5): "appropriate steps" without undue delay).
- responded -> closed when the complainant asks for no review; -> review requested.
- review requested -> review concluded -> closed.
- escalated (the ICO takes the complaint up): from any acknowledged, open state. The
  complainant may go to the ICO at any time (DPA 2018 s165); the ICO usually waits for our
  response (or the review), but takes up complaints we are slow to answer. We record it
  whenever it happens. An escalated complaint closes only once the ICO's outcome is recorded.
  If the ICO took it up before we responded, we still owe the complainant our response
  (s164A(5)): it is recorded on the escalated complaint without leaving that status.
- closed is final.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from customers.models import Customer
from customers.services.normalise import email_key, normalise_phone
from customers.subject import Identifiers, same_person
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked, track

from ..access import may_be_given_cases, may_escalate_complaints, may_link_case, may_manage_complaints
from ..deadlines import complaint_acknowledge_by
from ..models import Case, Complaint, IcoCase, IcoDeadline
from .grants import CUSTOMER_PERMS
from .locking import transition
from .references import ERR_CASE_UNKNOWN, find_by_reference, next_reference
from .workflow import ERR_CLOSED, ERR_COMPLAINT_MOVE, can_move, move, require_worker

S = Complaint.Status

COMPLAINT_PERMS = ("requests.view_complaint", "requests.work_complaint")

ERR_RESPONDED = "Our response was already recorded on {day}."
ERR_ICO_OUTCOME_RECORDED = (
    "The ICO's outcome was already recorded on {day}. If it was recorded wrongly, correct it (with the reason)."
)
ERR_ICO_OUTCOME_NONE = "No ICO outcome is recorded yet: record it instead."
ERR_ICO_CORRECTION_REASON = "Say why the recorded outcome is wrong (kept in the history)."
ERR_ICO_CORRECTION_SAME = "The ICO's outcome is already recorded as that: nothing to correct."
ICO_CORRECTION_REASON_MAX_LENGTH = 500
ERR_WHO = "Find the customer, or enter the complainant's name."
ERR_ERASED = "This customer has been erased: log the complaint with the complainant's details instead."
ERR_RECEIVED_FUTURE = "The date received cannot be in the future."
ERR_DESCRIPTION = "Say what the complaint is about."
ERR_CHANNEL = "Choose how the complaint arrived."
ERR_CATEGORY = "Choose what the complaint is about."
ERR_CASE_OTHER_CUSTOMER = "Request {reference} belongs to another customer."
ERR_CASE_OTHER_PERSON = (
    "Request {reference} was made by someone else: its requester's details do not match the person this complaint "
    "is about."
)
ERR_CASE_LINKED = "Request {reference} is already linked to this complaint."
ERR_DPO_ONLY = "Only the DPO can do this."
ERR_ICO_ONLY = "Only the DPO can record the ICO's involvement."
ERR_HANDLER_ROLE = "Complaints can be assigned only to privacy case handlers or the DPO."
ERR_DATE_FUTURE = "The date cannot be in the future."
ERR_ACK_BEFORE_RECEIPT = "The acknowledgement cannot be dated before the complaint was received ({received})."
ERR_DATE_BEFORE = "The date cannot be before {what} ({day})."
ERR_TARGET_PAST = "The response target cannot be in the past."
ERR_TARGET_BEFORE_RECEIPT = "The response target cannot be before the complaint was received."
ERR_SUMMARY = "Say what we told the complainant."
ERR_OUTCOME = "Say what the outcome was."
ERR_ICO_REFERENCE = "Enter the ICO's case reference."
ERR_ICO_REQUESTED = "Say what the ICO asked for."
ERR_ICO_METHOD = "Choose how the ICO contacted us."
ERR_ICO_DEADLINE_PAST = "An ICO deadline cannot be in the past when it is recorded."
ERR_ICO_DEADLINE_WHAT = "Say what the ICO wants by this date."
ERR_ICO_ANSWERED = "This ICO deadline was already answered on {day}."
ERR_ICO_OUTCOME = "Choose the ICO's outcome."
ERR_ICO_OUTCOME_MISSING = "Record the ICO's outcome before closing an escalated complaint."
ERR_NO_ICO_CASE = "This complaint has not been escalated to the ICO."

# The history reasons of an acknowledgement: the handler's (on time or late) and the email the
# public complaint form sends at once; a bounce of that email withdraws only the latter.
ACK_REASON = "Acknowledged"
ACK_LATE_REASON = "Acknowledged late"
ACK_BY_EMAIL_REASON = "Acknowledged at once by email (public complaint form)"
ACK_BOUNCED_REASON = "Acknowledgement email bounced: not acknowledged (acknowledge another way)"


# --- helpers ---------------------------------------------------------------------------


def _require_manager(user, complaint: Complaint) -> None:
    if not may_manage_complaints(user):
        raise ValidationError(ERR_DPO_ONLY)
    if complaint.status == S.CLOSED:
        raise ValidationError(ERR_CLOSED)


def _require_escalator(user, complaint: Complaint) -> None:
    if not may_escalate_complaints(user):
        raise ValidationError(ERR_ICO_ONLY)
    if complaint.status == S.CLOSED:
        raise ValidationError(ERR_CLOSED)


def _not_future(day: datetime.date, field: str) -> None:
    if day > timezone.localdate():
        raise ValidationError({field: ERR_DATE_FUTURE})


def _not_before(day: datetime.date, earliest: datetime.date | None, what: str, field: str) -> None:
    if earliest is not None and day < earliest:
        raise ValidationError({field: ERR_DATE_BEFORE.format(what=what, day=f"{earliest:%-d %B %Y}")})


# --- object grants ---------------------------------------------------------------------


def grant_complaint(user, complaint: Complaint) -> None:
    """The handler sees and works the complaint, and reads its customer's case file."""
    for perm in COMPLAINT_PERMS:
        assign_perm(perm, user, complaint)
    if complaint.customer_id:
        for perm in CUSTOMER_PERMS:
            assign_perm(perm, user, complaint.customer)


def _customer_still_needed(user, customer_id: int, *, except_complaint: int) -> bool:
    """Another open case or complaint of the same customer still needs the customer grants."""
    return (
        Complaint.objects.filter(customer_id=customer_id, handler=user)
        .exclude(status=S.CLOSED)
        .exclude(pk=except_complaint)
        .exists()
        or Case.objects.filter(customer_id=customer_id, handler=user, closed_on__isnull=True).exists()
    )


def revoke_complaint(user, complaint: Complaint, *, keep_view: bool = False) -> None:
    """Take the grants back (reassignment, or closing with `keep_view`: the handler may still
    read the complaint it worked, but no longer works it or reads the customer's case file)."""
    for perm in COMPLAINT_PERMS:
        if not (keep_view and perm == "requests.view_complaint"):
            remove_perm(perm, user, complaint)
    if complaint.customer_id and not _customer_still_needed(user, complaint.customer_id, except_complaint=complaint.pk):
        for perm in CUSTOMER_PERMS:
            remove_perm(perm, user, complaint.customer)


# --- services --------------------------------------------------------------------------


def complaint_cases_find(*, actor: User, references: list[str], customer_id: int | None, field: str) -> list[Case]:
    """The requests `references` name, for a complaint of customer `customer_id`. A reference
    that names no request and one naming a request `actor` may not link get the same answer,
    one message listing both under `field`, so no one learns from it that a request exists."""
    cases, unknown = find_by_reference(
        Case, references, hidden=lambda case: not may_link_case(actor, customer_id, case)
    )
    if unknown:
        raise ValidationError({field: unknown})
    return cases


def case_is_about_same_person(complaint_customer_id: int | None, party: dict[str, str], case: Case) -> bool:
    """Whether a request is about the person a complaint is about, where one of them (or both)
    has no customer record: the typed details of the one must share a contact identifier
    (email, phone, or postcode and address) with the other's, every value the customer ever
    had (customers.subject.same_person), and the names must be compatible. A name alone
    ("Mrs J Smith") never suffices: many people share one."""
    requester = {
        "name": case.requester_name,
        "email": case.requester_email,
        "phone": case.requester_phone,
        "address": case.requester_address,
    }
    if complaint_customer_id and not case.customer_id:
        ids = Identifiers.of(Customer.objects.get(pk=complaint_customer_id))
        return same_person(ids, **requester)
    if case.customer_id and not complaint_customer_id:
        assert case.customer is not None
        return same_person(Identifiers.of(case.customer), **party)
    # Neither has a customer record: the two sets of typed details, each as the other's identifiers.
    return _typed_same(party, requester) and _typed_same(requester, party)


def _typed_same(one: dict[str, str], other: dict[str, str]) -> bool:
    words = one["name"].split()
    ids = Identifiers(
        first_names=frozenset(words[:-1]),
        last_names=frozenset(words[-1:]),
        emails=frozenset({email_key(one["email"])} - {""}),
        phones=frozenset({_e164(one["phone"])} - {""}),
    )
    return same_person(ids, **other)


def _e164(phone: str) -> str:
    try:
        return normalise_phone(phone)
    except ValidationError:
        return ""


def _check_case_links(
    actor: User | None, complaint_customer_id: int | None, cases: list[Case], already: set[int], party: dict[str, str]
) -> dict[str, str]:
    """A complaint may be linked to requests of its own customer; any other link (the complaint
    or the request has no customer record) only by someone who may open that request, and only
    to a request of the same person (`party`: the complainant's details as typed). Those who
    may not open it are told nothing about it, not even that it exists."""
    for case in cases:
        if case.pk in already:
            return {"cases": ERR_CASE_LINKED.format(reference=case.reference)}
        if not may_link_case(actor, complaint_customer_id, case):
            return {"cases": ERR_CASE_UNKNOWN.format(reference=case.reference)}
        if complaint_customer_id and case.customer_id and case.customer_id != complaint_customer_id:
            return {"cases": ERR_CASE_OTHER_CUSTOMER.format(reference=case.reference)}
        same_customer = bool(complaint_customer_id) and case.customer_id == complaint_customer_id
        if not same_customer and not case_is_about_same_person(complaint_customer_id, party, case):
            return {"cases": ERR_CASE_OTHER_PERSON.format(reference=case.reference)}
    return {}


@transaction.atomic
def complaint_log(
    *,
    actor: User | None,
    received_on: datetime.date,
    channel: str,
    category: str,
    description: str,
    customer=None,
    complainant_name: str = "",
    complainant_email: str = "",
    complainant_phone: str = "",
    complainant_address: str = "",
    cases: list[Case] | tuple[Case, ...] = (),
) -> Complaint:
    """Log a complaint (often while the caller is on the phone). The acknowledgement is due
    within 30 days beginning with the day of receipt (s164A(4))."""
    errors: dict[str, str] = {}
    if received_on > timezone.localdate():
        errors["received_on"] = ERR_RECEIVED_FUTURE
    if customer is None and not complainant_name.strip():
        errors["complainant_name"] = ERR_WHO
    if customer is not None and customer.is_erased:
        errors["customer"] = ERR_ERASED
    if channel not in Case.Channel.values:
        errors["channel"] = ERR_CHANNEL
    if category not in Complaint.Category.values:
        errors["category"] = ERR_CATEGORY
    if not description.strip():
        errors["description"] = ERR_DESCRIPTION
    try:  # the one phone rule, whichever form the number came from
        complainant_phone = normalise_phone(complainant_phone)
    except ValidationError as exc:
        errors["complainant_phone"] = exc.messages[0]
    cases = list(dict.fromkeys(cases))
    party = {
        "name": complainant_name,
        "email": complainant_email,
        "phone": complainant_phone,
        "address": complainant_address,
    }
    errors.update(_check_case_links(actor, customer.pk if customer else None, cases, set(), party))
    if errors:
        raise ValidationError(errors)
    complaint = Complaint(
        reference=next_reference("CP", actor=actor),
        customer=customer,
        complainant_name=complainant_name.strip(),
        complainant_email=email_key(complainant_email),
        complainant_phone=complainant_phone,
        complainant_address=complainant_address.strip(),
        received_on=received_on,
        channel=channel,
        category=category,
        description=description.strip(),
        logged_by=actor,
        acknowledge_by=complaint_acknowledge_by(received_on),
    )
    save_tracked(complaint, actor=actor, reason=f"Logged from {Case.Channel(channel).label.lower()}")
    if cases:
        track(complaint, actor=actor, reason="Linked " + ", ".join(case.reference for case in cases))
        complaint.cases.add(*cases)
    return complaint


@transition("complaint")
def complaint_link_case(*, actor: User, complaint: Complaint, case: Case) -> Complaint:
    """Link a rights request the complaint is about (its summary goes into the bundle)."""
    require_worker(actor, complaint)
    party = {
        "name": complaint.complainant_name,
        "email": complaint.complainant_email,
        "phone": complaint.complainant_phone,
        "address": complaint.complainant_address,
    }
    linked = set(complaint.cases.values_list("pk", flat=True))
    errors = _check_case_links(actor, complaint.customer_id, [case], linked, party)
    if errors:
        raise ValidationError(errors)
    track(complaint, actor=actor, reason=f"Linked request {case.reference}")
    complaint.cases.add(case)
    return complaint


@transition("complaint")
def complaint_assign(*, actor: User, complaint: Complaint, handler) -> Complaint:
    """The DPO assigns a handler, who gets object permissions on the complaint and its
    customer; a previous handler loses them."""
    _require_manager(actor, complaint)
    if not may_be_given_cases(handler):
        raise ValidationError({"handler": ERR_HANDLER_ROLE})
    previous = complaint.handler
    complaint.handler = handler
    save_tracked(complaint, actor=actor, reason=f"Assigned to staff #{handler.pk}")
    if previous is not None and previous.pk != handler.pk:
        revoke_complaint(previous, complaint)
    grant_complaint(handler, complaint)
    return complaint


@transition("complaint")
def complaint_set_target(*, actor: User, complaint: Complaint, due_on: datetime.date) -> Complaint:
    """The DPO sets (or moves) the date by which the complainant should have our response."""
    _require_manager(actor, complaint)
    if due_on < complaint.received_on:
        raise ValidationError({"due_on": ERR_TARGET_BEFORE_RECEIPT})
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": ERR_TARGET_PAST})
    if complaint.responded_on is not None:
        raise ValidationError(ERR_COMPLAINT_MOVE.format(current=complaint.get_status_display(), target="a new target"))
    complaint.response_due_on = due_on
    save_tracked(complaint, actor=actor, reason=f"Response target set for {due_on:%-d %B %Y}")
    return complaint


@transition("complaint")
def complaint_acknowledge(*, actor: User, complaint: Complaint, on: datetime.date) -> Complaint:
    """Record that the complainant was told we have the complaint (s164A(4))."""
    require_worker(actor, complaint)
    if on < complaint.received_on:
        raise ValidationError({"on": ERR_ACK_BEFORE_RECEIPT.format(received=f"{complaint.received_on:%-d %B %Y}")})
    _not_future(on, "on")
    move(complaint, S.ACKNOWLEDGED)
    complaint.acknowledged_on = on
    late = on > complaint.acknowledge_by
    save_tracked(complaint, actor=actor, reason=ACK_LATE_REASON if late else ACK_REASON)
    return complaint


@transition("complaint")
def complaint_acknowledged_by_email(*, complaint: Complaint) -> Complaint:
    """The acknowledgement the public complaint form sends was handed to the mail server: the
    complaint is acknowledged today (s164A(4)), by no member of staff. A complaint already
    acknowledged is left as it is (the mail server's answer arrives once per message)."""
    if not can_move(complaint, S.ACKNOWLEDGED) or complaint.acknowledged_on is not None:
        return complaint
    move(complaint, S.ACKNOWLEDGED)
    complaint.acknowledged_on = timezone.localdate()
    save_tracked(complaint, actor=None, reason=ACK_BY_EMAIL_REASON)
    return complaint


@transition("complaint")
def complaint_acknowledgement_bounced(*, complaint: Complaint) -> bool:
    """An acknowledgement that bounced did not reach the complainant: s164A(4) is not met by it.
    The acknowledgement it recorded is withdrawn (back to received, no date), so the clock, the
    reminders and the promise check count the complaint as not yet acknowledged; the handler's
    page says to acknowledge another way. A complaint already moved on (investigating, a
    response), or acknowledged by the handler's own contact, is left as it is. True when the
    acknowledgement was withdrawn."""
    if not can_move(complaint, S.RECEIVED, withdraw=True) or not _acknowledged_by_email(complaint):
        return False
    move(complaint, S.RECEIVED, withdraw=True)
    complaint.acknowledged_on = None
    save_tracked(complaint, actor=None, reason=ACK_BOUNCED_REASON)
    return True


def _acknowledged_by_email(complaint: Complaint) -> bool:
    """Whether the complaint's last acknowledgement is the public form's email (not the handler's)."""
    last_ack = (
        complaint.history.filter(history_change_reason__in=(ACK_REASON, ACK_LATE_REASON, ACK_BY_EMAIL_REASON))
        .order_by("-history_date", "-history_id")
        .first()
    )
    return last_ack is not None and last_ack.history_change_reason == ACK_BY_EMAIL_REASON


@transition("complaint")
def complaint_investigate(*, actor: User, complaint: Complaint) -> Complaint:
    require_worker(actor, complaint)
    move(complaint, S.INVESTIGATING)
    save_tracked(complaint, actor=actor, reason="Investigation started")
    return complaint


@transition("complaint")
def complaint_respond(*, actor: User, complaint: Complaint, on: datetime.date, summary: str) -> Complaint:
    """Record the response sent to the complainant, and what it said (s164A(5))."""
    require_worker(actor, complaint)
    if not summary.strip():
        raise ValidationError({"summary": ERR_SUMMARY})
    _not_before(on, complaint.acknowledged_on, "the acknowledgement", "on")
    _not_future(on, "on")
    if complaint.status == S.ESCALATED and complaint.responded_on is not None:
        raise ValidationError(ERR_RESPONDED.format(day=f"{complaint.responded_on:%-d %B %Y}"))
    if complaint.status != S.ESCALATED:
        move(complaint, S.RESPONDED)
    complaint.responded_on = on
    complaint.response_summary = summary.strip()
    save_tracked(complaint, actor=actor, reason="Response sent")
    return complaint


@transition("complaint")
def complaint_request_review(*, actor: User, complaint: Complaint, on: datetime.date) -> Complaint:
    """The complainant, unhappy with our response, asked for an internal review."""
    require_worker(actor, complaint)
    _not_before(on, complaint.responded_on, "our response", "on")
    _not_future(on, "on")
    move(complaint, S.REVIEW_REQUESTED)
    complaint.review_requested_on = on
    save_tracked(complaint, actor=actor, reason="Internal review requested")
    return complaint


@transition("complaint")
def complaint_conclude_review(*, actor: User, complaint: Complaint, on: datetime.date, outcome: str) -> Complaint:
    """The DPO concludes the internal review (someone senior to the first response)."""
    _require_manager(actor, complaint)
    if not outcome.strip():
        raise ValidationError({"outcome": ERR_OUTCOME})
    _not_before(on, complaint.review_requested_on, "the review was requested", "on")
    _not_future(on, "on")
    move(complaint, S.REVIEW_CONCLUDED)
    complaint.review_concluded_on = on
    complaint.review_outcome = outcome.strip()
    save_tracked(complaint, actor=actor, reason="Internal review concluded")
    return complaint


@transition("complaint")
def complaint_close(*, actor: User, complaint: Complaint, outcome: str) -> Complaint:
    """Close the complaint. An escalated one only by the DPO, once the ICO's outcome is in."""
    if complaint.status == S.ESCALATED:
        _require_escalator(actor, complaint)
        ico = IcoCase.objects.filter(complaint=complaint).first()
        if ico is None or not ico.outcome:
            raise ValidationError(ERR_ICO_OUTCOME_MISSING)
    else:
        require_worker(actor, complaint)
    if not outcome.strip():
        raise ValidationError({"outcome": ERR_OUTCOME})
    move(complaint, S.CLOSED)
    complaint.outcome = outcome.strip()
    complaint.closed_on = timezone.localdate()
    save_tracked(complaint, actor=actor, reason="Closed")
    if complaint.handler is not None:
        revoke_complaint(complaint.handler, complaint, keep_view=True)
    return complaint


# --- the ICO ---------------------------------------------------------------------------


def _check_deadline(what: str, due_on: datetime.date) -> None:
    if not what.strip():
        raise ValidationError({"what": ERR_ICO_DEADLINE_WHAT})
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": ERR_ICO_DEADLINE_PAST})


@transition("complaint")
def complaint_escalate(
    *,
    actor: User,
    complaint: Complaint,
    ico_reference: str,
    contacted_on: datetime.date,
    contact_method: str,
    requested: str,
    caseworker: str = "",
    deadlines: list[tuple[str, datetime.date]] | tuple = (),
) -> IcoCase:
    """The ICO has taken the complaint up: record its case, what it asked and by when."""
    _require_escalator(actor, complaint)
    errors: dict[str, str] = {}
    if not ico_reference.strip():
        errors["ico_reference"] = ERR_ICO_REFERENCE
    if not requested.strip():
        errors["requested"] = ERR_ICO_REQUESTED
    if contact_method not in IcoCase.Method.values:
        errors["contact_method"] = ERR_ICO_METHOD
    if contacted_on > timezone.localdate():
        errors["contacted_on"] = ERR_DATE_FUTURE
    elif contacted_on < complaint.received_on:
        errors["contacted_on"] = ERR_DATE_BEFORE.format(
            what="the complaint was received", day=f"{complaint.received_on:%-d %B %Y}"
        )
    if errors:
        raise ValidationError(errors)
    for what, due_on in deadlines:
        _check_deadline(what, due_on)
    move(complaint, S.ESCALATED)
    save_tracked(complaint, actor=actor, reason=f"Escalated to the ICO ({ico_reference.strip()})")
    ico = IcoCase(
        complaint=complaint,
        ico_reference=ico_reference.strip(),
        contacted_on=contacted_on,
        contact_method=contact_method,
        caseworker=caseworker.strip(),
        requested=requested.strip(),
    )
    save_tracked(ico, actor=actor, reason="ICO case recorded")
    for what, due_on in deadlines:
        save_tracked(
            IcoDeadline(ico_case=ico, what=what.strip(), due_on=due_on), actor=actor, reason="ICO deadline recorded"
        )
    return ico


def _ico_case(complaint: Complaint) -> IcoCase:
    ico = IcoCase.objects.filter(complaint=complaint).first()
    if ico is None:
        raise ValidationError(ERR_NO_ICO_CASE)
    return ico


@transition("complaint")
def ico_deadline_add(*, actor: User, complaint: Complaint, what: str, due_on: datetime.date) -> IcoDeadline:
    """Another date the ICO set (each is tracked and reminded on its own)."""
    _require_escalator(actor, complaint)
    ico = _ico_case(complaint)
    _check_deadline(what, due_on)
    deadline = IcoDeadline(ico_case=ico, what=what.strip(), due_on=due_on)
    save_tracked(deadline, actor=actor, reason="ICO deadline recorded")
    return deadline


@transition("complaint")
def ico_deadline_answer(*, actor: User, complaint: Complaint, deadline_id: int, on: datetime.date) -> IcoDeadline:
    """We answered what the ICO asked by the deadline `deadline_id` of this complaint's ICO case
    (on time or not). The deadline is locked after its complaint, as every step locks."""
    _require_escalator(actor, complaint)
    ico = _ico_case(complaint)
    deadline = IcoDeadline.objects.select_for_update().filter(pk=deadline_id, ico_case=ico).first()
    if deadline is None:
        raise ValidationError(ERR_NO_ICO_CASE)
    if deadline.answered_on is not None:
        raise ValidationError(ERR_ICO_ANSWERED.format(day=f"{deadline.answered_on:%-d %B %Y}"))
    _not_before(on, ico.contacted_on, "the ICO contacted us", "on")
    _not_future(on, "on")
    deadline.answered_on = on
    save_tracked(deadline, actor=actor, reason="Answered" + (" late" if on > deadline.due_on else ""))
    return deadline


@transition("complaint")
def ico_outcome_record(
    *, actor: User, complaint: Complaint, outcome: str, on: datetime.date, notes: str = ""
) -> IcoCase:
    """The ICO's decision: no further action, recommendations, a reprimand or enforcement."""
    _require_escalator(actor, complaint)
    ico = _ico_case(complaint)
    if ico.outcome:
        raise ValidationError(ERR_ICO_OUTCOME_RECORDED.format(day=f"{ico.outcome_on:%-d %B %Y}"))
    if outcome not in IcoCase.Outcome.values:
        raise ValidationError({"outcome": ERR_ICO_OUTCOME})
    _not_before(on, ico.contacted_on, "the ICO contacted us", "on")
    _not_future(on, "on")
    ico.outcome = outcome
    ico.outcome_on = on
    ico.outcome_notes = notes.strip()
    save_tracked(ico, actor=actor, reason=f"ICO outcome: {IcoCase.Outcome(outcome).label}")
    return ico


@transition("complaint")
def ico_outcome_correct(
    *, actor: User, complaint: Complaint, outcome: str, on: datetime.date, reason: str, notes: str = ""
) -> IcoCase:
    """Correct an ICO outcome recorded wrongly (the wrong outcome chosen, the wrong date): the
    DPO only, with the reason, the old and new values kept in the history. A correction that
    changes nothing is refused, so the same correction sent twice is made once."""
    _require_escalator(actor, complaint)
    ico = _ico_case(complaint)
    if not ico.outcome:
        raise ValidationError(ERR_ICO_OUTCOME_NONE)
    errors: dict[str, str] = {}
    if outcome not in IcoCase.Outcome.values:
        errors["outcome"] = ERR_ICO_OUTCOME
    reason = reason.strip()
    if not reason or len(reason) > ICO_CORRECTION_REASON_MAX_LENGTH:
        errors["reason"] = ERR_ICO_CORRECTION_REASON
    if errors:
        raise ValidationError(errors)
    _not_before(on, ico.contacted_on, "the ICO contacted us", "on")
    _not_future(on, "on")
    notes = notes.strip()
    if (ico.outcome, ico.outcome_on, ico.outcome_notes) == (outcome, on, notes):
        raise ValidationError(ERR_ICO_CORRECTION_SAME)
    was = f"{IcoCase.Outcome(ico.outcome).label} on {ico.outcome_on:%-d %B %Y}"
    ico.outcome, ico.outcome_on, ico.outcome_notes = outcome, on, notes
    now = f"{IcoCase.Outcome(outcome).label} on {on:%-d %B %Y}"
    save_tracked(ico, actor=actor, reason=f"ICO outcome corrected from {was} to {now}: {reason}")
    return ico
