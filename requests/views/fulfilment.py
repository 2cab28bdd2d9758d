"""The fulfilment actions on the case page (one per right) and what the page shows about them.

Each action is a service call; the services check the right, the status and who acts, so a
page that offered a button by mistake still could not misuse it. The erasure itself is not
here: it happens when the DPO approves the sign-off.
"""

from __future__ import annotations

from customers.models import Recipient
from customers.services.customers import CONTACT_FIELDS

from ..forms import cases as forms
from ..models import Case, CaseTask
from ..services.erasure import erasure_preview
from ..services.fulfilment import art19_task_done
from ..services.informed import case_inform
from ..services.objection import case_object
from ..services.rectification import case_rectify
from ..services.restriction import case_lift_restriction, case_restrict

MSG_TASKS = " {n} recipient(s) to tell (Art 19): see Tasks."
MSG_RECTIFIED = "The record is corrected."
MSG_RESTRICTED = "Processing is restricted: no marketing, no disclosures until lifted."
MSG_LIFTED = "The restriction is lifted."
MSG_OBJECTED = "Objection recorded: all marketing withdrawn ({n} change(s)) and every identifier suppressed."


def page_context(case: Case) -> dict:
    """What the case page needs for fulfilment (which actions it offers is the workflow's:
    requests.services.workflow.case_actions): the pre-filled correction form, the erasure
    preview for the DPO to read before signing off, and the tasks with each recipient's contact."""
    customer = case.customer if case.customer_id else None
    live = customer is not None and not customer.is_erased
    context: dict[str, object] = {
        "erasure_preview": None,
        "rectify_form": None,
    }
    if customer is not None and live and case.right == Case.Right.ERASURE:
        context["erasure_preview"] = erasure_preview(customer=customer)
    if customer is not None and live and case.right == Case.Right.RECTIFICATION:
        context["rectify_form"] = forms.RectifyForm.for_customer(customer)
    tasks = list(case.tasks.select_related("done_by").order_by("done_at", "created_at"))
    recipients = Recipient.objects.in_bulk([t.recipient_id for t in tasks if t.recipient_id])
    context["task_rows"] = [{"task": t, "recipient": recipients.get(t.recipient_id)} for t in tasks]
    return context


def _rectify(request, case, data):
    tasks = case_rectify(
        actor=request.user,
        case=case,
        changes={name: data[name] for name in CONTACT_FIELDS},
        reason=data["reason"],
        expected_version=data["expected_version"],
    )
    return MSG_RECTIFIED + MSG_TASKS.format(n=len(tasks))


def _restrict(request, case, data):
    tasks = case_restrict(actor=request.user, case=case, reason=data["reason"])
    return MSG_RESTRICTED + MSG_TASKS.format(n=len(tasks))


def _lift(request, case, data):
    tasks = case_lift_restriction(actor=request.user, case=case, reason=data["reason"])
    return MSG_LIFTED + MSG_TASKS.format(n=len(tasks))


def _object(request, case, data):
    changes = case_object(actor=request.user, case=case)
    return MSG_OBJECTED.format(n=len(changes))


def _inform(request, case, data):
    case_inform(actor=request.user, case=case, sent_by=data["sent_by"])
    return "The supplementary information is attached under Documents, and its sending noted."


def _task_done(request, case, data):
    task: CaseTask = art19_task_done(actor=request.user, case=case, task_id=data["task_id"])
    return f"Done: {task.title}."


ACTIONS = {
    "rectify": (forms.RectifyForm, _rectify),
    "restrict": (forms.RestrictionForm, _restrict),
    "lift_restriction": (forms.RestrictionForm, _lift),
    "object": (None, _object),
    "inform": (forms.InformForm, _inform),
    "art19_done": (forms.TaskDoneForm, _task_done),
}
