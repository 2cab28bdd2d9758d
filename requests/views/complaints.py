"""Complaints: logging, the list, the complaint page with its ICO panel and actions, the case
bundle, the agent's "complaints I logged", and case-file correspondence (on complaints and on
rights requests) with its access-checked attachments."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.access import customer_for
from privacy_portal import legal
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors, named_errors
from privacy_portal.history import changed_fields_page
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import file_open

from .. import access
from ..access import case_for, complaint_for
from ..forms import complaints as forms
from ..models import CaseCorrespondence, Complaint, IcoCase
from ..selectors.complaints import complaint_ack_bounced, complaint_list, logged_complaints
from ..services import complaints as svc
from ..services import workflow
from ..services.bundle import bundle_zip, deadline_state
from ..services.correspondence import correspondence_add


def _flash(request, form, exc: ValidationError | None = None) -> None:
    """Errors of an action form (or of the service) as messages on the page it returns to."""
    for text in named_errors(form, exc):
        messages.error(request, text)


@requires("requests.add_complaint", object_perm="customers.view_customer")
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    """Log a complaint, usually while the caller is on the phone."""
    customer = None
    customer_id = request.POST.get("customer_id") or request.GET.get("customer")
    if customer_id:
        customer = customer_for(request.user, customer_id)
    form = forms.ComplaintForm(request.POST or None, initial={"customer_id": customer.pk if customer else None})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("customer_id", "case_references")}
        try:
            cases = svc.complaint_cases_find(
                actor=request.user,
                references=form.cleaned_data["case_references"],
                customer_id=customer.pk if customer else None,
                field="case_references",
            )
            complaint = svc.complaint_log(actor=request.user, customer=customer, cases=cases, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Logged complaint {complaint.reference}. "
                f"It must be acknowledged by {complaint.acknowledge_by:%-d %B %Y}.",
            )
            if access.may_read_all_complaints(request.user):
                return redirect(complaint)
            if access.may_follow_complaint_status(request.user):
                return redirect("requests:complaints_logged")
            return redirect("requests:complaints")
    if customer is not None:
        access_record(request=request, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "requests/complaint_new.html", {"form": form, "customer": customer})


@requires("requests.view_queue")
@require_GET
def complaints(request):
    """The DPO's and auditors' list of every complaint; a handler's own."""
    form = forms.ComplaintFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    result = complaint_list(
        request.user,
        status=filters.get("status", ""),
        category=filters.get("category", ""),
        ack_overdue=filters.get("ack_overdue", False),
        ico=filters.get("ico", False),
        mine=filters.get("mine", False),
    )
    # The list names each complaint's customer: whom it showed is recorded (ids only), as for a search.
    access_record(
        request=request,
        action=AccessEvent.Action.SEARCH,
        result_ids=sorted({c.customer_id for c in result["complaints"] if c.customer_id}),
        search_kind="complaints",
    )
    return render(request, "requests/complaints.html", {"form": form, "result": result, "today": timezone.localdate()})


@requires("requests.view_complaint_status")
@require_GET
def complaints_logged(request):
    """An agent's view of the complaints it logged: reference, category and status only."""
    rows = logged_complaints(request.user).order_by("-received_on", "-id")[:100]
    return render(request, "requests/complaints_logged.html", {"complaints": rows})


def _timeline(complaint: Complaint, cursor: str) -> tuple[list[dict], str | None]:
    """A keyset page of the complaint's history, newest first, and the next page's cursor."""
    timeline, next_cursor = changed_fields_page(
        {"requests.Complaint": Complaint.history.filter(id=complaint.pk)},
        fields=["status", "handler", "response_due_on", "acknowledged_on", "responded_on", "closed_on"],
        cursor=cursor,
    )
    for row in timeline:
        row["status_changed"] = row["first"] or "status" in row["changes"]
    return timeline, next_cursor


@requires(object_perm=access.VIEW_COMPLAINT)
@require_GET
def complaint_page(request, pk: int):
    complaint = complaint_for(request.user, pk)
    access_record(
        request=request, action=AccessEvent.Action.VIEW_CASE, customer_id=complaint.customer_id, obj=complaint
    )
    user = request.user
    today = timezone.localdate()
    ico = IcoCase.objects.filter(complaint=complaint).first()
    deadlines = [
        {"deadline": d, "state": deadline_state(d.due_on, d.answered_on, today)}
        for d in (ico.deadlines.order_by("due_on", "pk") if ico else [])
    ]
    cases = [
        {"case": case, "state": deadline_state(case.due_on, case.closed_on, today)}
        for case in complaint.cases.order_by("received_on", "pk")
    ]
    timeline, timeline_next = _timeline(complaint, request.GET.get("history", ""))
    context = {
        "complaint": complaint,
        "timeline": timeline,
        "timeline_next": timeline_next,
        "timeline_paged": "history" in request.GET,
        "ico": ico,
        "deadlines": deadlines,
        "cases": cases,
        "correspondence": complaint.correspondence.select_related("recorded_by").order_by("-occurred_on", "-pk"),
        "ack_state": deadline_state(complaint.acknowledge_by, complaint.acknowledged_on, today),
        "ack_bounced": complaint_ack_bounced(complaint),
        "response_state": deadline_state(complaint.response_due_on, complaint.responded_on, today),
        # What the page offers: the steps the state table allows now, to this user
        # (requests.services.workflow.complaint_actions).
        "actions": workflow.complaint_actions(user, complaint, ico),
        # Each form's ids carry its action's name: several forms on the page share field names.
        "forms": {name: cls(auto_id=f"{name}_%s") for name, (cls, _, _) in ACTIONS.items() if cls is not None},
        "correspondence_add_url": reverse("requests:complaint_action", args=[complaint.pk, "correspondence"]),
        "retention_years": legal.CASE_FILE_RETENTION_YEARS,
        "today": today,
    }
    return render(request, "requests/complaint.html", context)


# Each action: (form class or None, what it needs (requests.access: WORK, MANAGE, ESCALATE, CLOSE),
# run(request, complaint, data)).
def _assign(request, complaint, data):
    svc.complaint_assign(actor=request.user, complaint=complaint, handler=data["handler"])
    return f"Assigned to {data['handler']}."


def _link_case(request, complaint, data):
    (case,) = svc.complaint_cases_find(
        actor=request.user, references=[data["reference"]], customer_id=complaint.customer_id, field="reference"
    )
    svc.complaint_link_case(actor=request.user, complaint=complaint, case=case)
    return f"Linked {case.reference}."


def _escalate(request, complaint, data):
    deadlines = [(data["deadline_what"], data["deadline_due_on"])] if data["deadline_due_on"] else []
    ico = svc.complaint_escalate(
        actor=request.user,
        complaint=complaint,
        ico_reference=data["ico_reference"],
        contacted_on=data["contacted_on"],
        contact_method=data["contact_method"],
        caseworker=data["caseworker"],
        requested=data["requested"],
        deadlines=deadlines,
    )
    return f"Escalation to the ICO recorded ({ico.ico_reference})."


def _ico_answer(request, complaint, data):
    deadline = access.ico_deadline_for(complaint, data["deadline"])
    svc.ico_deadline_answer(actor=request.user, complaint=complaint, deadline_id=deadline.pk, on=data["on"])
    return "Answer to the ICO recorded."


def _correspondence(request, complaint, data):
    correspondence_add(actor=request.user, complaint=complaint, upload=data.pop("attachment") or None, **data)
    return "Correspondence recorded."


def _target(request, complaint, data):
    svc.complaint_set_target(actor=request.user, complaint=complaint, due_on=data["due_on"])
    return f"Response target set: {data['due_on']:%-d %B %Y}."


def _acknowledge(request, complaint, data):
    svc.complaint_acknowledge(actor=request.user, complaint=complaint, **data)
    return "Acknowledgement recorded."


def _investigate(request, complaint, data):
    svc.complaint_investigate(actor=request.user, complaint=complaint)
    return "Investigation started."


def _respond(request, complaint, data):
    svc.complaint_respond(actor=request.user, complaint=complaint, **data)
    return "Response recorded."


def _request_review(request, complaint, data):
    svc.complaint_request_review(actor=request.user, complaint=complaint, **data)
    return "Review request recorded."


def _conclude_review(request, complaint, data):
    svc.complaint_conclude_review(actor=request.user, complaint=complaint, **data)
    return "Review concluded."


def _close(request, complaint, data):
    svc.complaint_close(actor=request.user, complaint=complaint, **data)
    return "Complaint closed."


def _ico_deadline_add(request, complaint, data):
    svc.ico_deadline_add(actor=request.user, complaint=complaint, **data)
    return "ICO deadline recorded."


def _ico_outcome(request, complaint, data):
    svc.ico_outcome_record(actor=request.user, complaint=complaint, **data)
    return "ICO outcome recorded."


def _ico_outcome_correct(request, complaint, data):
    svc.ico_outcome_correct(actor=request.user, complaint=complaint, **data)
    return "ICO outcome corrected."


ACTIONS = {
    "assign": (forms.AssignForm, access.MANAGE, _assign),
    "target": (forms.TargetForm, access.MANAGE, _target),
    "acknowledge": (forms.AcknowledgeForm, access.WORK, _acknowledge),
    "investigate": (None, access.WORK, _investigate),
    "respond": (forms.RespondForm, access.WORK, _respond),
    "request_review": (forms.ReviewRequestForm, access.WORK, _request_review),
    "conclude_review": (forms.ReviewConcludeForm, access.MANAGE, _conclude_review),
    "close": (forms.CloseForm, access.CLOSE, _close),
    "link_case": (forms.LinkCaseForm, access.WORK, _link_case),
    "correspondence": (forms.CorrespondenceForm, access.WORK, _correspondence),
    "escalate": (forms.EscalateForm, access.ESCALATE, _escalate),
    "ico_deadline": (forms.IcoDeadlineForm, access.ESCALATE, _ico_deadline_add),
    "ico_answer": (forms.IcoAnswerForm, access.ESCALATE, _ico_answer),
    "ico_outcome": (forms.IcoOutcomeForm, access.ESCALATE, _ico_outcome),
    "ico_outcome_correct": (forms.IcoOutcomeCorrectForm, access.ESCALATE, _ico_outcome_correct),
}


# Readers (auditors) are refused up front (403) whatever complaint they name; then the complaint
# is fetched by view_complaint (404 for anyone else) and the action's need is checked (403).
@requires(object_perm=access.VIEW_COMPLAINT)
@require_POST
def complaint_action(request, pk: int, action: str):
    if not access.may_change_some_complaint(request.user):
        raise PermissionDenied  # e.g. an auditor, who reads but never changes
    if action not in ACTIONS:
        raise Http404
    form_class, need, run = ACTIONS[action]
    complaint = complaint_for(request.user, pk, need=need)
    form = form_class(request.POST, request.FILES) if form_class else None
    if form is not None and not form.is_valid():
        _flash(request, form)
        return redirect(complaint)
    try:
        message = run(request, complaint, dict(form.cleaned_data) if form else {})
    except ValidationError as exc:
        _flash(request, form, exc)
    else:
        messages.success(request, message)
    return redirect(complaint)


@requires("requests.view_complaint")
@require_GET
def complaint_bundle(request, pk: int):
    """The case bundle for the ICO: a ZIP with the PDF report, the JSON and the attachments."""
    if not access.may_download_bundle(request.user):
        raise PermissionDenied
    complaint = complaint_for(request.user, pk)
    filename, data = bundle_zip(complaint, actor=request.user)
    access_record(
        request=request,
        action=AccessEvent.Action.EXPORT,
        customer_id=complaint.customer_id,
        obj=complaint,
        reason="Case bundle",
    )
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _attachment_response(request, item: CaseCorrespondence, parent, filename: str):
    handle = file_open(item.attachment_path)
    if handle is None:
        raise Http404
    access_record(request=request, action=AccessEvent.Action.EXPORT, customer_id=parent.customer_id, obj=item)
    response = FileResponse(
        handle, content_type=item.attachment_type, as_attachment=True, filename=f"{filename}{Path(handle.name).suffix}"
    )
    response["Cache-Control"] = "no-store"
    return response


@requires(object_perm=access.VIEW_COMPLAINT)
@require_GET
def complaint_attachment(request, pk: int, item_pk: int):
    complaint = complaint_for(request.user, pk)
    item = complaint.correspondence.filter(pk=item_pk).first()
    if item is None:
        raise Http404
    return _attachment_response(request, item, complaint, f"{complaint.reference}-correspondence-{item.pk}")


@requires(object_perm=access.VIEW_CASE)
@require_GET
def case_attachment(request, pk: int, item_pk: int):
    case = case_for(request.user, pk)
    item = case.correspondence.filter(pk=item_pk).first()
    if item is None:
        raise Http404
    return _attachment_response(request, item, case, f"{case.reference}-correspondence-{item.pk}")


@requires(object_perm=access.VIEW_CASE)
@require_POST
def case_correspondence_add(request, pk: int):
    """Record a letter, email or call on a rights request (the form on the case page).
    Auditors read the case file but never add to it (403)."""
    case = case_for(request.user, pk, need=access.WORK)
    form = forms.CorrespondenceForm(request.POST, request.FILES)
    if not form.is_valid():
        _flash(request, form)
        return redirect(case)
    data = dict(form.cleaned_data)
    try:
        correspondence_add(actor=request.user, case=case, upload=data.pop("attachment") or None, **data)
    except ValidationError as exc:
        _flash(request, form, exc)
    else:
        messages.success(request, "Correspondence recorded.")
    return redirect(case)
