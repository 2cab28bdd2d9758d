"""Personal-data breaches (UK GDPR Art 33 and 34).

The lifecycle:

- Anyone with `report_breach` (agents included) reports a suspected breach with a short form:
  that starts the 72-hour clock at the moment the company became aware (Art 33(1)) and emails
  the DPO at once. A processor's report (Art 33(2)) records the processor and when it told us.
- The DPO completes the record (categories, counts, recipients, links), assesses the risk
  (likelihood and severity on the ICO's scale give the level) and decides whether to report
  to the ICO and whether to tell the people affected, with reasons: Art 33(5) wants every
  breach documented, reported or not.
- Reports to the ICO in phases (Art 33(4)): one initial report, then follow-ups, each with its
  time and the ICO's case reference once given. An initial report after the 72 hours needs the
  reasons for the delay (Art 33(1)).
- Containment and remedial actions are tasks with owners and dates; a breach closes only once
  every task is done, the decisions are recorded and acted on.
- The people affected are linked (from search, or in bulk from a CSV of references) and each
  is recorded as told, not yet told, or undeliverable (Art 34).

Every change is saved through the model (history records who, when and why); messages are
module constants that tests assert on; no message or email carries a customer's personal data.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from customers.models import Customer, Recipient
from customers.services.imports import (
    BATCH_SIZE,
    ImportRejected,
    RowError,
    chunked,
    parse_reference,
    read_csv,
)
from privacy_portal import legal
from privacy_portal.mail import email_dpo
from privacy_portal.models import AccessEvent, User
from privacy_portal.tracked import save_tracked, track

from ..access import may_handle_breach_task, may_mark_breach_task_done
from ..models import (
    Breach,
    BreachAffected,
    BreachDataCategory,
    BreachNotification,
    BreachPeopleCategory,
    BreachTask,
    Case,
    Complaint,
)
from .locking import lock_row
from .references import find_by_reference, next_reference
from .workflow import ERR_BREACH_CLOSED, ERR_BREACH_DPO_ONLY, move, require_breach_manager

S = Breach.Status
REFERENCE_PREFIX = "B"
AFFECTED_HEADER = ("customer_reference",)

ERR_SUMMARY = "Say in a few words what happened (no customer's name)."
ERR_WHAT = "Describe what happened."
ERR_AWARE_FUTURE = "The time the company became aware cannot be in the future."
ERR_HAPPENED_FUTURE = "The time it happened cannot be in the future."
ERR_AWARE_BEFORE_HAPPENED = "The company cannot have become aware before the breach happened."
ERR_AWARE_AFTER_REPORT = "The company must have been aware before its first report to the ICO ({sent})."
ERR_PROCESSOR_NOT_PROCESSOR = "{name} is not a processor in the recipient register."
ERR_PROCESSOR_TOLD_FUTURE = "The time the processor told us cannot be in the future."
# UK GDPR Art 33(2): the processor tells the controller without undue delay; the controller is
# aware (and its 72 hours run) at the latest from that moment (EDPB Guidelines 9/2022, para 44).
ERR_AWARE_AFTER_PROCESSOR = (
    "We became aware when the processor told us at the latest: the awareness time cannot be after "
    "the time the processor told us."
)
ERR_PROCESSOR_TOLD_MISSING = "Say when the processor told us."
ERR_CAUSE = "Choose the cause."
ERR_DATA_CATEGORY = "Unknown data category: {value}."
ERR_PEOPLE_CATEGORY = "Unknown category of people: {value}."
ERR_COUNT = "Enter a number of 0 or more, or leave it blank for “not yet known”."
ERR_CLOSED = ERR_BREACH_CLOSED
ERR_DPO_ONLY = ERR_BREACH_DPO_ONLY
ERR_SCALE = "Choose the {what} on the ICO's scale."
ERR_CONSEQUENCES = "Describe the potential consequences for the people affected."
ERR_DECISION = "Decide whether to report the breach to the ICO."
ERR_NO_REPORT_REASON = "Give the reasons for not reporting to the ICO (Art 33(5))."
ERR_MUST_REPORT = "A breach likely to result in a risk to people must be reported to the ICO (Art 33(1))."
ERR_TELL = "Decide whether to tell the people affected (Art 34)."
ERR_TELL_REASON = "Give the reasons for not telling the people affected, or the Art 34(3) exception's facts."
ERR_MUST_TELL = "A high risk to people means telling them (Art 34(1)), unless an Art 34(3) exception applies."
ERR_NOT_ASSESSED = "Assess the breach first."
ERR_NOT_REPORTABLE = "The DPO decided this breach is not reported to the ICO."
ERR_PHASE = "Choose initial report or follow-up."
ERR_INITIAL_TWICE = "The initial report is already recorded; record a follow-up."
ERR_FOLLOW_UP_FIRST = "Record the initial report before a follow-up."
ERR_SENT_FUTURE = "The report cannot be dated in the future."
ERR_SENT_BEFORE_AWARE = "The report cannot be dated before the company became aware ({aware})."
ERR_LATE_REASON = (
    f"This report is after the {legal.BREACH_REPORT_HOURS} hours (due {{due}}): give the reasons for the delay "
    "(Art 33(1))."
)
ERR_TASK_TITLE = "Say what needs doing."
ERR_TASK_OWNER = "Choose who owns the task."
ERR_TASK_DONE = "This task is already done."
ERR_OPEN_TASKS = "Close the remedial tasks first: {n} still open."
ERR_CLOSE_REPORT = "Record the initial report to the ICO before closing (the DPO decided to report)."
ERR_CLOSE_TELL = "{n} of the people affected are not yet told (the DPO decided to tell them)."
ERR_LESSONS = "Record the lessons learned."
ERR_NO_CUSTOMERS = "Choose at least one customer."
ERR_ERASED_CUSTOMER = "Customer {reference} has been erased."
ERR_ALREADY_LINKED = "Customer {reference} is already linked to this breach."
ERR_CSV_ERASED = "This customer has been erased: there is no one left to tell."
ERR_CSV_DUPLICATE = "This reference is also on line {line}."
ERR_CSV_LINKED = "This customer is already linked to this breach."
ERR_CSV_UNKNOWN = "No customer has this reference."
ERR_TOLD = "Choose told, not yet told or undeliverable."
ERR_TOLD_METHOD = "Choose how they were told."
ERR_TOLD_FUTURE = "The time they were told cannot be in the future."
ERR_TOLD_BEFORE = "They cannot have been told before the company was aware of the breach."
ERR_NOT_AFFECTED = "Customer {reference} is not linked to this breach."
ERR_EVIDENCE_NONE = "Choose the access-log entries that show the breach."
ERR_EVIDENCE_UNKNOWN = "No access-log entry has the id {ids}."
ERR_EVIDENCE_TAKEN = "Access-log entry {ids} is already the evidence of breach {reference}."

ALERT_SUBJECT = "Suspected personal-data breach {reference}: report to the ICO due by {due}"
ALERT_BODY = (
    "A suspected personal-data breach, {reference}, was reported in the Privacy Portal.\n"
    "The company became aware on {aware}; if it is reportable the ICO must have the initial report "
    f"by {{due}} ({legal.BREACH_REPORT_HOURS} hours, UK GDPR Art 33(1)).\n\n"
    "Assess it from the breach register. This alert holds no personal data.\n"
)


# --- helpers ---------------------------------------------------------------------------


def _local(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%A %-d %B %Y, %H:%M %Z}"


def _check_times(
    errors: dict[str, str],
    *,
    aware_at: datetime.datetime | None,
    happened_at: datetime.datetime | None,
    first_report: datetime.datetime | None = None,
    now: datetime.datetime,
) -> None:
    if aware_at is not None and aware_at > now:
        errors["aware_at"] = ERR_AWARE_FUTURE
    if happened_at is not None and happened_at > now:
        errors["happened_at"] = ERR_HAPPENED_FUTURE
    elif happened_at is not None and aware_at is not None and aware_at < happened_at:
        errors["aware_at"] = ERR_AWARE_BEFORE_HAPPENED
    if aware_at is not None and first_report is not None and aware_at > first_report:
        errors.setdefault("aware_at", ERR_AWARE_AFTER_REPORT.format(sent=_local(first_report)))


def _check_categories(errors: dict[str, str], data_categories: Iterable[str], people_categories: Iterable[str]) -> None:
    for value in data_categories:
        if value not in BreachDataCategory.values:
            errors["data_categories"] = ERR_DATA_CATEGORY.format(value=value)
    for value in people_categories:
        if value not in BreachPeopleCategory.values:
            errors["people_categories"] = ERR_PEOPLE_CATEGORY.format(value=value)


def _check_processor(errors: dict[str, str], processor, told_at, now, aware_at=None) -> None:
    if processor is None:
        return
    if processor.role != Recipient.Role.PROCESSOR:
        errors["processor"] = ERR_PROCESSOR_NOT_PROCESSOR.format(name=processor.name)
    if told_at is None:
        errors["processor_told_at"] = ERR_PROCESSOR_TOLD_MISSING
    elif told_at > now:
        errors["processor_told_at"] = ERR_PROCESSOR_TOLD_FUTURE
    elif aware_at is not None and aware_at > told_at and "aware_at" not in errors:
        errors["aware_at"] = ERR_AWARE_AFTER_PROCESSOR


def _alert_dpo(breach: Breach) -> None:
    email_dpo(
        subject=ALERT_SUBJECT.format(reference=breach.reference, due=_local(breach.due_at)),
        body=ALERT_BODY.format(reference=breach.reference, aware=_local(breach.aware_at), due=_local(breach.due_at)),
        kind="breach_reported",
        breach_id=breach.pk,
    )


# --- reporting and recording -----------------------------------------------------------


@transaction.atomic
def breach_report(
    *,
    actor: User,
    summary: str,
    what_happened: str,
    aware_at: datetime.datetime,
    happened_at: datetime.datetime | None = None,
    how_discovered: str = "",
    discovered_by: str = "",
    cause: str = Breach.Cause.NOT_YET_KNOWN,
    processor: Recipient | None = None,
    processor_told_at: datetime.datetime | None = None,
    access_event_ids: Iterable[int] = (),
    now: datetime.datetime | None = None,
) -> Breach:
    """Report a suspected breach: the 72-hour clock starts at `aware_at` and the DPO is emailed
    once the record is committed. Agents use the short form (summary, what, when)."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not summary.strip():
        errors["summary"] = ERR_SUMMARY
    if not what_happened.strip():
        errors["what_happened"] = ERR_WHAT
    if cause not in Breach.Cause.values:
        errors["cause"] = ERR_CAUSE
    _check_times(errors, aware_at=aware_at, happened_at=happened_at, now=now)
    _check_processor(errors, processor, processor_told_at, now, aware_at)
    if errors:
        raise ValidationError(errors)
    breach = Breach(
        reference=next_reference(REFERENCE_PREFIX, actor=actor),
        summary=summary.strip(),
        what_happened=what_happened.strip(),
        how_discovered=how_discovered.strip(),
        discovered_by=discovered_by.strip(),
        reported_by=actor,
        aware_at=aware_at,
        happened_at=happened_at,
        cause=Breach.Cause.PROCESSOR if processor is not None else cause,
        processor=processor,
        processor_told_at=processor_told_at if processor is not None else None,
        access_event_ids=sorted(set(access_event_ids)),
    )
    save_tracked(
        breach, actor=actor, reason="Processor's report recorded" if processor else "Suspected breach reported"
    )
    transaction.on_commit(lambda: _alert_dpo(breach))
    return breach


@transaction.atomic
def breach_from_access_events(
    *,
    actor: User,
    event_ids: Iterable[int],
    summary: str,
    what_happened: str = "",
    now: datetime.datetime | None = None,
) -> Breach:
    """Turn access-log entries (a break-glass opening judged unjustified, a member of staff
    opening an unusual number of customers) into a breach record in one step: the entries are
    attached as evidence (ids), the affected customers they name are linked, and the clock
    starts now (the DPO's judgement is the company's awareness)."""
    require_breach_manager(actor)
    ids = sorted({int(i) for i in event_ids})
    if not ids:
        raise ValidationError({"event_ids": ERR_EVIDENCE_NONE})
    # The entries are locked (FOR SHARE is enough: they are never changed) so two DPOs turning
    # the same entries into a breach at once make one breach, not two clocks.
    events = list(AccessEvent.objects.filter(pk__in=ids).order_by("at", "pk").select_for_update(no_key=True))
    missing = sorted(set(ids) - {e.pk for e in events})
    if missing:
        raise ValidationError({"event_ids": ERR_EVIDENCE_UNKNOWN.format(ids=", ".join(map(str, missing)))})
    # Breaches are few; each names its evidence ids (a JSON list), checked here on every database.
    for reference, taken in Breach.objects.exclude(access_event_ids=[]).values_list("reference", "access_event_ids"):
        overlap = sorted(set(ids) & set(taken))
        if overlap:
            raise ValidationError(
                {"event_ids": ERR_EVIDENCE_TAKEN.format(ids=", ".join(map(str, overlap)), reference=reference)}
            )
    now = now or timezone.now()
    staff = sorted({e.user_id for e in events if e.user_id})
    breach = breach_report(
        actor=actor,
        summary=summary,
        what_happened=what_happened
        or (
            f"{len(events)} access-log entr{'y' if len(events) == 1 else 'ies'} of staff "
            f"#{', #'.join(map(str, staff))} judged unjustified by the DPO (entries {', '.join(map(str, ids))})."
        ),
        aware_at=now,
        happened_at=min(e.at for e in events),
        how_discovered="The DPO's review of the access log",
        discovered_by="Data protection officer",
        cause=Breach.Cause.UNAUTHORISED_ACCESS,
        access_event_ids=ids,
        now=now,
    )
    # The customers the entries opened (a search's results were listed, not opened: left out).
    customer_ids = {e.customer_id for e in events if e.customer_id}
    customers = list(Customer.objects.filter(pk__in=customer_ids, erased_at__isnull=True))
    if customers:
        affected_link(actor, breach, [c.pk for c in customers], reason="Linked from the access-log evidence")
    return breach


@transaction.atomic
def breach_update(
    *,
    actor: User,
    breach: Breach,
    summary: str,
    what_happened: str,
    how_discovered: str,
    discovered_by: str,
    aware_at: datetime.datetime,
    happened_at: datetime.datetime | None,
    cause: str,
    data_categories: list[str],
    people_categories: list[str],
    people_count: int | None,
    records_count: int | None,
    processor: Recipient | None = None,
    processor_told_at: datetime.datetime | None = None,
    containment: str = "",
    staff_training: str = "",
    others_told: str = "",
    letter: str = "",
    now: datetime.datetime | None = None,
) -> Breach:
    """The DPO completes or corrects the record. Moving `aware_at` moves the clock."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not summary.strip():
        errors["summary"] = ERR_SUMMARY
    if not what_happened.strip():
        errors["what_happened"] = ERR_WHAT
    if cause not in Breach.Cause.values:
        errors["cause"] = ERR_CAUSE
    for name, value in (("people_count", people_count), ("records_count", records_count)):
        if value is not None and value < 0:
            errors[name] = ERR_COUNT
    first = breach.notifications.order_by("sent_at").values_list("sent_at", flat=True).first()
    _check_times(errors, aware_at=aware_at, happened_at=happened_at, first_report=first, now=now)
    _check_categories(errors, data_categories, people_categories)
    _check_processor(errors, processor, processor_told_at, now, aware_at)
    if errors:
        raise ValidationError(errors)
    breach.summary = summary.strip()
    breach.what_happened = what_happened.strip()
    breach.how_discovered = how_discovered.strip()
    breach.discovered_by = discovered_by.strip()
    breach.aware_at = aware_at
    breach.happened_at = happened_at
    breach.cause = cause
    breach.data_categories = list(dict.fromkeys(data_categories))
    breach.people_categories = list(dict.fromkeys(people_categories))
    breach.people_count = people_count
    breach.records_count = records_count
    breach.processor = processor
    breach.processor_told_at = processor_told_at if processor is not None else None
    breach.containment = containment.strip()
    breach.staff_training = staff_training.strip()
    breach.others_told = others_told.strip()
    breach.letter = letter.strip()
    save_tracked(breach, actor=actor, reason="Details updated")
    return breach


@transaction.atomic
def breach_link_records(
    *,
    actor: User,
    breach: Breach,
    case_references: Iterable[str] = (),
    complaint_references: Iterable[str] = (),
    recipients: Iterable[Recipient] = (),
) -> Breach:
    """Link rights requests, complaints and recipients (processors involved) to the breach.
    A handler of a linked request then sees the breach."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    errors: dict[str, str] = {}
    case_refs = [r.strip().upper() for r in case_references if r.strip()]
    complaint_refs = [r.strip().upper() for r in complaint_references if r.strip()]
    cases, unknown = find_by_reference(Case, case_refs)
    if unknown:
        errors["case_references"] = unknown
    complaints, unknown = find_by_reference(Complaint, complaint_refs)
    if unknown:
        errors["complaint_references"] = unknown
    if errors:
        raise ValidationError(errors)
    track(breach, actor=actor, reason="Linked records")  # for the m2m rows the add()s below write
    if cases:
        breach.cases.add(*cases)
    if complaints:
        breach.complaints.add(*complaints)
    recipients = list(recipients)
    if recipients:
        breach.recipients.add(*recipients)
    return breach


# --- assessment and decision -----------------------------------------------------------

_SCALE = {value: i for i, value in enumerate(Breach.Scale.values)}


def breach_risk_level(likelihood: str, severity: str) -> str:
    """The ICO's matrix of likelihood against severity: both remote (or one remote and one
    possible) is no likely risk; a likely or severe consequence with at least a possible other
    is high; the rest is a risk."""
    score = _SCALE[likelihood] + _SCALE[severity]
    if score <= 1:
        return Breach.Risk.NONE
    if score >= 3:
        return Breach.Risk.HIGH
    return Breach.Risk.RISK


@transaction.atomic
def breach_assess(
    *,
    actor: User,
    breach: Breach,
    consequences: str,
    likelihood: str,
    severity: str,
    report_to_ico: bool | None,
    ico_decision_reason: str,
    tell_people: str,
    tell_people_reason: str,
) -> Breach:
    """The DPO's risk assessment and decisions (Art 33(5) evidence). May be revised while the
    breach is open; history keeps every version."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    errors: dict[str, str] = {}
    if not consequences.strip():
        errors["consequences"] = ERR_CONSEQUENCES
    if likelihood not in Breach.Scale.values:
        errors["likelihood"] = ERR_SCALE.format(what="likelihood")
    if severity not in Breach.Scale.values:
        errors["severity"] = ERR_SCALE.format(what="severity")
    risk = breach_risk_level(likelihood, severity) if not errors.keys() & {"likelihood", "severity"} else None
    if report_to_ico is None:
        errors["report_to_ico"] = ERR_DECISION
    elif report_to_ico is False and not ico_decision_reason.strip():
        errors["ico_decision_reason"] = ERR_NO_REPORT_REASON
    elif report_to_ico is False and risk in (Breach.Risk.RISK, Breach.Risk.HIGH):
        errors["report_to_ico"] = ERR_MUST_REPORT
    if tell_people not in Breach.TellPeople.values:
        errors["tell_people"] = ERR_TELL
    elif tell_people != Breach.TellPeople.YES and not tell_people_reason.strip():
        errors["tell_people_reason"] = ERR_TELL_REASON
    elif tell_people == Breach.TellPeople.NO_NOT_HIGH and risk == Breach.Risk.HIGH:
        errors["tell_people"] = ERR_MUST_TELL
    if report_to_ico is False and breach.notifications.exists():
        errors["report_to_ico"] = "The breach was already reported to the ICO."
    if errors:
        raise ValidationError(errors)
    breach.consequences = consequences.strip()
    breach.likelihood = likelihood
    breach.severity = severity
    assert risk is not None  # else the likelihood or the severity was refused above
    breach.risk = risk
    breach.report_to_ico = report_to_ico
    breach.ico_decision_reason = ico_decision_reason.strip()
    breach.tell_people = tell_people
    breach.tell_people_reason = tell_people_reason.strip()
    breach.assessed_at = timezone.now()
    breach.assessed_by = actor
    first = breach.status == S.SUSPECTED
    if first:
        move(breach, S.ASSESSED)  # a reassessment leaves it assessed
    decision = "report to the ICO" if report_to_ico else "not reportable"
    save_tracked(
        breach,
        actor=actor,
        reason=f"{'Assessed' if first else 'Reassessed'}: {Breach.Risk(risk).label.lower()}, {decision}",
    )
    return breach


@transaction.atomic
def breach_notify_ico(
    *,
    actor: User,
    breach: Breach,
    phase: str,
    sent_at: datetime.datetime,
    ico_reference: str = "",
    notes: str = "",
    late_reason: str = "",
    now: datetime.datetime | None = None,
) -> BreachNotification:
    """Record a report sent to the ICO: the initial one (late ones with the reasons for the
    delay), then follow-ups. The ICO's reference, once given, is kept on the report."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if breach.status == S.SUSPECTED:
        raise ValidationError(ERR_NOT_ASSESSED)
    if breach.report_to_ico is False:
        raise ValidationError(ERR_NOT_REPORTABLE)
    has_initial = breach.notifications.filter(phase=BreachNotification.Phase.INITIAL).exists()
    if phase not in BreachNotification.Phase.values:
        errors["phase"] = ERR_PHASE
    elif phase == BreachNotification.Phase.INITIAL and has_initial:
        errors["phase"] = ERR_INITIAL_TWICE
    elif phase == BreachNotification.Phase.FOLLOW_UP and not has_initial:
        errors["phase"] = ERR_FOLLOW_UP_FIRST
    if sent_at > now:
        errors["sent_at"] = ERR_SENT_FUTURE
    elif sent_at < breach.aware_at:
        errors["sent_at"] = ERR_SENT_BEFORE_AWARE.format(aware=_local(breach.aware_at))
    late = phase == BreachNotification.Phase.INITIAL and sent_at > breach.due_at
    if late and not (late_reason.strip() or breach.late_reason):
        errors["late_reason"] = ERR_LATE_REASON.format(due=_local(breach.due_at))
    if errors:
        raise ValidationError(errors)
    notification = BreachNotification(
        breach=breach,
        phase=phase,
        sent_at=sent_at,
        ico_reference=ico_reference.strip(),
        notes=notes.strip(),
        recorded_by=actor,
    )
    save_tracked(notification, actor=actor, reason=BreachNotification.Phase(phase).label)
    if late and late_reason.strip():
        breach.late_reason = late_reason.strip()
        save_tracked(breach, actor=actor, reason="Reasons for the late report recorded")
    return notification


# --- tasks and closing -------------------------------------------------------------------


@transaction.atomic
def breach_task_add(*, actor: User, breach: Breach, title: str, owner, due_on: datetime.date) -> BreachTask:
    require_breach_manager(actor, breach)
    lock_row(breach)  # a breach closed meanwhile takes no new task
    if breach.status == S.CLOSED:
        raise ValidationError(ERR_CLOSED)
    errors = {}
    if not title.strip():
        errors["title"] = ERR_TASK_TITLE
    if owner is None:
        errors["owner"] = ERR_TASK_OWNER
    if errors:
        raise ValidationError(errors)
    task = BreachTask(breach=breach, title=title.strip(), owner=owner, due_on=due_on)
    save_tracked(task, actor=actor, reason="Remedial task added")
    return task


@transaction.atomic
def breach_task_done(*, actor: User, task: BreachTask) -> BreachTask:
    """The task's owner or the DPO marks it done."""
    task = BreachTask.objects.select_for_update().select_related("breach").get(pk=task.pk)
    if not may_handle_breach_task(actor, task):
        raise ValidationError(ERR_DPO_ONLY)
    if not may_mark_breach_task_done(actor, task):  # its breach is closed
        raise ValidationError(ERR_CLOSED)
    if task.done_at is not None:
        raise ValidationError(ERR_TASK_DONE)
    task.done_at = timezone.now()
    task.done_by = actor
    save_tracked(task, actor=actor, reason="Done")
    return task


@transaction.atomic
def breach_close(*, actor: User, breach: Breach, lessons_learned: str) -> Breach:
    """Close a breach: assessed, every remedial task done, reported if the DPO decided so, and
    everyone affected told (or found undeliverable) if the DPO decided to tell them."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    if breach.status == S.SUSPECTED:
        raise ValidationError(ERR_NOT_ASSESSED)
    errors: list[str] = []
    open_tasks = breach.tasks.filter(done_at__isnull=True).count()
    if open_tasks:
        errors.append(ERR_OPEN_TASKS.format(n=open_tasks))
    if breach.report_to_ico and not breach.notifications.filter(phase=BreachNotification.Phase.INITIAL).exists():
        errors.append(ERR_CLOSE_REPORT)
    if breach.tell_people == Breach.TellPeople.YES:
        waiting = breach.affected.filter(told=BreachAffected.Told.NOT_YET).count()
        if waiting:
            errors.append(ERR_CLOSE_TELL.format(n=waiting))
    if not lessons_learned.strip():
        errors.append(ERR_LESSONS)
    if errors:
        raise ValidationError(errors)
    breach.lessons_learned = lessons_learned.strip()
    move(breach, S.CLOSED)
    breach.closed_at = timezone.now()
    save_tracked(breach, actor=actor, reason="Closed")
    return breach


# --- the people affected ------------------------------------------------------------------


def affected_link(actor: User, breach: Breach, customer_ids: list[int], *, reason: str) -> int:
    """Insert the BreachAffected rows and their "created" history rows, in this transaction.

    On PostgreSQL, one set-based statement per batch (INSERT ... SELECT FROM unnest, its
    RETURNING rows inserted into the history table in the same statement): 100,000 in seconds,
    where building 200,000 model instances took minutes on a loaded machine. The history rows
    carry what simple-history's own would (every tracked field, the date, the user, the reason,
    type "+"); tests compare them. Elsewhere (SQLite for `make run`), bulk_create_with_history."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        rows = [BreachAffected(breach=breach, customer_id=pk, linked_by=actor, linked_at=now) for pk in customer_ids]
        bulk_create_with_history(
            rows, BreachAffected, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason
        )
        return len(rows)
    table = BreachAffected._meta.db_table
    history = BreachAffected.history.model
    tracked = [f.column for f in history.tracked_fields]
    quoted = ", ".join(connection.ops.quote_name(c) for c in tracked)
    # One statement per batch: the rows, and their history rows from what the insert returned.
    insert = (
        f"WITH added AS (INSERT INTO {table} (breach_id, customer_id, told, told_at, method, linked_by_id, "  # noqa: S608
        f"linked_at) SELECT %s, c, %s, NULL, '', %s, %s FROM unnest(%s::bigint[]) AS c RETURNING {quoted}) "
        f"INSERT INTO {history._meta.db_table} ({quoted}, history_date, history_change_reason, history_type, "
        f"history_user_id) SELECT {quoted}, %s, %s, '+', %s FROM added"
    )
    params: list[Any] = [breach.pk, BreachAffected.Told.NOT_YET, actor.pk, now]  # SQL parameters, of mixed types
    with connection.cursor() as cursor:
        for batch in chunked(customer_ids, 20_000):
            cursor.execute(insert, [*params, batch, now, reason, actor.pk])
    return len(customer_ids)


@transaction.atomic
def breach_link_customers(*, actor: User, breach: Breach, customers: Iterable[Customer]) -> int:
    """Link customers chosen from search. Erased or already linked ones are refused by reference."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    customers = list(dict.fromkeys(customers))
    if not customers:
        raise ValidationError({"customers": ERR_NO_CUSTOMERS})
    linked = set(
        BreachAffected.objects.filter(breach=breach, customer__in=customers).values_list("customer_id", flat=True)
    )
    errors = [ERR_ERASED_CUSTOMER.format(reference=c.reference) for c in customers if c.is_erased]
    errors += [ERR_ALREADY_LINKED.format(reference=c.reference) for c in customers if c.pk in linked]
    if errors:
        raise ValidationError({"customers": errors})
    return affected_link(actor, breach, [c.pk for c in customers], reason="Linked from search")


def _customers_known(breach: Breach, pks: list[int]) -> tuple[dict[int, bool], set[int]]:
    """For each id: does the customer exist, and is it not erased; and which are already linked.
    One array parameter per query (`= ANY(%s)`): an IN list of 100,000 ids costs seconds in the
    ORM's per-value handling alone."""
    if connection.vendor != "postgresql":
        rows = Customer.objects.filter(pk__in=pks).values_list("pk", "erased_at")
        linked = BreachAffected.objects.filter(breach=breach, customer_id__in=pks).values_list("customer_id", flat=True)
        return {pk: erased is None for pk, erased in rows}, set(linked)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, erased_at IS NULL FROM {Customer._meta.db_table} WHERE id = ANY(%s::bigint[])",  # noqa: S608
            [pks],
        )
        found = dict(cursor.fetchall())
        cursor.execute(
            f"SELECT customer_id FROM {BreachAffected._meta.db_table} "  # noqa: S608 (names from model meta)
            "WHERE breach_id = %s AND customer_id = ANY(%s::bigint[])",
            [breach.pk, pks],
        )
        linked_ids = {row[0] for row in cursor.fetchall()}
    return found, linked_ids


@transaction.atomic
def breach_link_csv(*, actor: User, breach: Breach, data: bytes) -> int:
    """Link the customers of a CSV of references (one column, `customer_reference`), all or
    nothing: an unknown, erased, repeated or already-linked reference is named by its line and
    nothing is linked. Tested at 100,000 rows (bench/breach_bench.py)."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    errors: list[RowError] = []
    rows = read_csv(data, AFFECTED_HEADER, errors)
    seen: dict[int, int] = {}
    wanted: list[tuple[int, int]] = []
    for line, (value,) in rows:
        pk = parse_reference(errors, line, value)
        if pk is None:
            continue
        if pk in seen:
            errors.append(RowError(line, "customer_reference", ERR_CSV_DUPLICATE.format(line=seen[pk])))
            continue
        seen[pk] = line
        wanted.append((line, pk))
    found, linked = _customers_known(breach, [pk for _, pk in wanted])
    for line, pk in wanted:
        if pk not in found:
            errors.append(RowError(line, "customer_reference", ERR_CSV_UNKNOWN))
        elif not found[pk]:
            errors.append(RowError(line, "customer_reference", ERR_CSV_ERASED))
        elif pk in linked:
            errors.append(RowError(line, "customer_reference", ERR_CSV_LINKED))
    if errors:
        raise ImportRejected(errors)
    return affected_link(actor, breach, [pk for _, pk in wanted], reason="Linked from a CSV of references")


@transaction.atomic
def breach_record_told(
    *,
    actor: User,
    breach: Breach,
    told: str,
    method: str,
    told_at: datetime.datetime,
    customers: Iterable[Customer] | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Record that the people affected were told (or could not be reached): the customers
    named, or, with `customers=None`, everyone not yet told. Returns how many rows changed."""
    require_breach_manager(actor, breach)
    lock_row(breach)  # the row, locked, re-read: every step checks the state it changes
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if told not in BreachAffected.Told.values:
        errors["told"] = ERR_TOLD
    if told == BreachAffected.Told.TOLD and method not in BreachAffected.Method.values:
        errors["method"] = ERR_TOLD_METHOD
    if told_at > now:
        errors["told_at"] = ERR_TOLD_FUTURE
    elif told_at < breach.aware_at:
        errors["told_at"] = ERR_TOLD_BEFORE
    if errors:
        raise ValidationError(errors)
    qs = BreachAffected.objects.filter(breach=breach)
    if customers is None:
        qs = qs.filter(told=BreachAffected.Told.NOT_YET)
    else:
        customers = list(customers)
        qs = qs.filter(customer__in=customers)
        found = set(qs.values_list("customer_id", flat=True))
        missing = [c.reference for c in customers if c.pk not in found]
        if missing:
            raise ValidationError({"customers": [ERR_NOT_AFFECTED.format(reference=r) for r in missing]})
    values = {
        "told": told,
        "told_at": None if told == BreachAffected.Told.NOT_YET else told_at,
        "method": method if told == BreachAffected.Told.TOLD else "",
    }
    reason = BreachAffected.Told(told).label
    if connection.vendor == "postgresql":
        return _told_sql(actor, qs, values, reason)
    rows = list(qs.select_for_update().order_by("pk"))
    for batch in chunked(rows, BATCH_SIZE):
        for row in batch:
            for name, value in values.items():
                setattr(row, name, value)
        bulk_update_with_history(
            batch, BreachAffected, list(values), batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason
        )
    return len(rows)


def _told_sql(actor: User, qs, values: dict, reason: str) -> int:
    """Every chosen row takes the same three values: one UPDATE ... RETURNING whose rows go
    straight into the history table in the same statement (history type "~", the user, the
    reason), so history misses nothing and 100,000 rows take one round trip. Django's
    bulk_update builds a CASE per row and column, which took minutes in Python at that size."""
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    table = BreachAffected._meta.db_table
    history = BreachAffected.history.model
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in history.tracked_fields)
    statement = (
        f"WITH changed AS (UPDATE {table} SET told = %s, told_at = %s, method = %s "  # noqa: S608 (model meta)
        f"WHERE id = ANY(%s::bigint[]) RETURNING {quoted}) "
        f"INSERT INTO {history._meta.db_table} ({quoted}, history_date, history_change_reason, history_type, "
        f"history_user_id) SELECT {quoted}, %s, %s, '~', %s FROM changed"
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        for batch in chunked(ids, 20_000):
            cursor.execute(
                statement, [values["told"], values["told_at"], values["method"], batch, now, reason, actor.pk]
            )
    return len(ids)


def breach_progress(breach: Breach) -> dict[str, int]:
    """How many of the people affected are told, not yet told, undeliverable (one query)."""
    counts = dict(breach.affected.values_list("told").annotate(n=Count("id")).values_list("told", "n"))
    result = {value: counts.get(value, 0) for value in BreachAffected.Told.values}
    result["total"] = sum(result.values())
    return result


def breach_hours_left(breach: Breach, now: datetime.datetime | None = None) -> float:
    return legal.breach_hours_left(breach.aware_at, now or timezone.now())
