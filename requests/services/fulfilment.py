"""What every right's fulfilment shares: the guard on who may act and when, and the Art 19 tasks.

UK GDPR Art 19: a rectification, an erasure or a restriction must be communicated to each
recipient the personal data were disclosed to. The disclosure log answers "who has it";
each recipient becomes a task on the case, ticked off when told.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.selectors.disclosures import art19_recipients
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseTask
from .locking import transition
from .workflow import ERR_REASON, require_worker

ERR_WRONG_RIGHT = "This is for {expected} requests; this case is a request for {actual}."
ERR_NOT_IN_PROGRESS = "Fulfilment can be recorded only while the case is in progress (it is “{status}”)."
ERR_NO_CUSTOMER = "This case has no customer record to act on."
ERR_CUSTOMER_ERASED = "This customer has been erased: there is nothing left to act on."
ERR_TASK = "That task is not on this case."
ERR_TASK_DONE = "That task is already done."

ERR_REASON_LONG = "Keep the reason to {limit} characters: it goes into the record's history."

# A history row's change reason holds 100 characters; the reason shares it with the case reference.
REASON_MAX_LENGTH = 60

ART19_TITLE = "Tell {recipient} about the {action} (Art 19)"


class Art19Action:
    """What a recipient is told about (the wording of the task)."""

    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    LIFTED = "lifting of the restriction"


def require_fulfilment(actor: User, case: Case, right: str, *, needs_customer: bool = True) -> None:
    """The case's handler (or the DPO), on a case for `right`, in progress, with a live customer."""
    require_worker(actor, case)
    if case.right != right:
        raise ValidationError(ERR_WRONG_RIGHT.format(expected=Case.Right(right).label, actual=case.get_right_display()))
    if case.status != Case.Status.IN_PROGRESS:
        raise ValidationError(ERR_NOT_IN_PROGRESS.format(status=case.get_status_display()))
    if needs_customer:
        if case.customer is None:
            raise ValidationError(ERR_NO_CUSTOMER)
        if case.customer.is_erased:
            raise ValidationError(ERR_CUSTOMER_ERASED)


def clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ERR_REASON})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": ERR_REASON_LONG.format(limit=REASON_MAX_LENGTH)})
    return reason


def art19_tasks_create(
    *, actor: User, case: Case, action: str, categories: Iterable[str] | None = None, recipients=None
) -> list[CaseTask]:
    """One task per recipient the customer's data went to (only those that received any of
    `categories`, when given). Idempotent: a recipient with an open task for the same
    action is not given a second one. `recipients`: already read (erasure reads them from
    the subject graph before it changes anything)."""
    if case.customer_id is None:
        return []
    if recipients is None:
        recipients = art19_recipients(case.customer_id)
    wanted = set(categories) if categories is not None else None
    open_titles = set(
        case.tasks.filter(kind=CaseTask.Kind.ART19_NOTIFY, done_at__isnull=True).values_list("title", flat=True)
    )
    tasks = []
    for entry in recipients:
        if wanted is not None and not wanted.intersection(entry.data_categories):
            continue
        title = ART19_TITLE.format(recipient=entry.recipient.name, action=action)
        if title in open_titles:
            continue
        task = CaseTask(case=case, kind=CaseTask.Kind.ART19_NOTIFY, title=title, recipient_id=entry.recipient.pk)
        save_tracked(task, actor=actor, reason=f"Art 19 task for the {action}")
        tasks.append(task)
    return tasks


@transition("case")
def art19_task_done(*, actor: User, case: Case, task_id: int) -> CaseTask:
    """Record that a recipient was told. Allowed on a closed case too: an erasure closes its
    case at sign-off, and the recipients are told afterwards (by the DPO, who keeps the case)."""
    require_worker(actor, case)
    task = case.tasks.filter(pk=task_id).first()
    if task is None:
        raise ValidationError(ERR_TASK)
    if task.done_at is not None:
        raise ValidationError(ERR_TASK_DONE)
    task.done_at = timezone.now()
    task.done_by = actor
    save_tracked(task, actor=actor, reason="Done")
    return task
