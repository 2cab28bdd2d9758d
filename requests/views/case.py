"""Intake, the case page, and every action on a case (each a service call)."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.access import customer_for
from privacy_portal import paging
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors, named_errors
from privacy_portal.history import changed_fields_page
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import file_open

from .. import access
from ..access import case_for
from ..forms import cases as forms
from ..models import Case
from ..selectors.cases import case_customer_matches
from ..services import cases as svc
from ..services import export, workflow
from . import fulfilment

MSG_EXPORT_QUEUED = "The export is queued. It will appear under Documents when it is ready: reload this page."
EXPORT_REQUESTS_SHOWN = 5


@requires("requests.add_case", object_perm="customers.view_customer")
@require_http_methods(["GET", "POST"])
def intake(request):
    """Log a request, usually while the requester is on the phone."""
    customer = None
    customer_id = request.POST.get("customer_id") or request.GET.get("customer")
    if customer_id:
        customer = customer_for(request.user, customer_id)
    form = forms.IntakeForm(request.POST or None, initial={"customer_id": customer.pk if customer else None})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "customer_id"}
        try:
            cases = svc.case_log(actor=request.user, customer=customer, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            refs = ", ".join(c.reference for c in cases)
            due = cases[0].due_on
            messages.success(request, f"Logged {refs}. Due by {due:%-d %B %Y} unless identity is needed.")
            if access.may_open_case(request.user, cases[0]):
                return redirect(cases[0])
            return redirect("requests:logged")
    if customer is not None:
        access_record(request=request, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "requests/intake.html", {"form": form, "customer": customer})


@requires(object_perm=access.VIEW_CASE)
@require_GET
def case_page(request, pk: int):
    case = case_for(request.user, pk)
    # Recorded with no customer too: the requester's own details are on the page.
    access_record(request=request, action=AccessEvent.Action.VIEW_CASE, customer_id=case.customer_id, obj=case)
    # The timeline and the notes are keyset-paged, newest first: the page costs the same at 10,000.
    timeline, timeline_next = changed_fields_page(
        {"requests.Case": Case.history.filter(id=case.pk)},
        fields=["status", "handler", "due_on", "identity", "extended"],
        cursor=request.GET.get("history", ""),
    )
    notes, notes_next = paging.newest_first(
        case.notes.select_related("author"), date_field="created_at", cursor=request.GET.get("notes", "")
    )
    user = request.user
    # What the page offers: the steps the state table allows now, to this user, with the notes
    # standing where a step cannot be taken (requests.services.workflow.case_actions).
    actions = workflow.case_actions(
        user, case, may_export=case.right in export.EXPORT_RIGHTS and case.customer_id is not None
    )
    matches = case_customer_matches(case) if actions["link_customer"] else []
    if matches:
        # The handler sees the matching records' names: recorded as a search that showed them.
        access_record(
            request=request,
            action=AccessEvent.Action.SEARCH,
            result_ids=[m.customer.pk for m in matches],
            search_kind="case_match",
        )
    context = {
        "case": case,
        "matches": matches,
        "timeline": timeline,
        "timeline_next": timeline_next,
        "timeline_paged": "history" in request.GET,
        "stops": case.stops.order_by("started_on"),
        "tasks": case.tasks.order_by("done_at", "created_at"),
        "notes": notes,
        "notes_next": notes_next,
        "notes_paged": "notes" in request.GET,
        # Each document with whether this user may download it (requests.access).
        "documents": access.case_documents_to_read(user, case, case.documents.order_by("-uploaded_at")),
        "export_requests": case.export_requests.order_by("-requested_at")[:EXPORT_REQUESTS_SHOWN],
        "actions": actions,
        # Each form's ids carry its action's name: several forms on the page share field names.
        "forms": {
            name: form_class(auto_id=f"{name}_%s")
            for name, (form_class, _) in ACTIONS.items()
            if form_class is not None
        },
        "today": timezone.localdate(),
        **fulfilment.page_context(case),
    }
    return render(request, "requests/case.html", context)


# Each action: (form class or None, function(request, case, cleaned_data) -> success message).
def _assign(request, case, data):
    svc.case_assign(actor=request.user, case=case, handler=data["handler"])
    return f"Assigned to {data['handler']}."


def _upload_identity(request, case, data):
    svc.identity_evidence_receive(actor=request.user, case=case, upload=data["file"], on=data["received_on"])
    return "Identity evidence stored privately. It will be deleted as soon as you decide."


def _signoff(request, case, data):
    svc.case_signoff(
        actor=request.user,
        case=case,
        approve=data["approve"],
        note=data["note"],
        notified_on=data["notified_on"],
        include=data.get("include") or (),
    )
    return "Signed off." if data["approve"] else "Declined: the case is back with its handler."


def _link_customer(request, case, data):
    case = svc.case_link_customer(actor=request.user, case=case, customer_id=data["customer_id"])
    return f"Linked to customer {case.customer.reference}."


def _build_export(request, case, data):
    export.export_request(actor=request.user, case=case)
    return MSG_EXPORT_QUEUED


def _start(request, case, data):
    svc.case_start(actor=request.user, case=case)
    return "Work started."


def _request_identity(request, case, data):
    svc.case_request_identity(actor=request.user, case=case)
    return "Identity requested."


def _decide_identity(request, case, data):
    svc.case_decide_identity(actor=request.user, case=case, verified=data["verified"], note=data["note"])
    return "Identity decision recorded; the evidence has been deleted."


def _request_clarification(request, case, data):
    svc.case_request_clarification(actor=request.user, case=case, question=data["question"], on=data["on"])
    return "Clarification requested: the clock has stopped."


def _clarification_received(request, case, data):
    svc.case_clarification_received(actor=request.user, case=case, on=data["on"])
    return f"Clock restarted. Now due {case.due_on:%-d %B %Y}."


def _request_signoff(request, case, data):
    svc.case_request_signoff(actor=request.user, case=case, **data)
    return "Sent to the DPO for sign-off."


def _complete(request, case, data):
    svc.case_complete(actor=request.user, case=case, outcome=data["outcome"])
    return "Case completed."


def _withdraw(request, case, data):
    svc.case_withdraw(actor=request.user, case=case, reason=data["reason"])
    return "Case withdrawn."


def _note(request, case, data):
    svc.case_add_note(actor=request.user, case=case, text=data["text"])
    return "Note added."


ACTIONS = {
    "assign": (forms.AssignForm, _assign),
    "start": (None, _start),
    "request_identity": (None, _request_identity),
    "upload_identity": (forms.IdentityUploadForm, _upload_identity),
    "decide_identity": (forms.IdentityDecisionForm, _decide_identity),
    "request_clarification": (forms.ClarificationForm, _request_clarification),
    "clarification_received": (forms.DateForm, _clarification_received),
    "request_signoff": (forms.SignoffRequestForm, _request_signoff),
    "signoff": (forms.SignoffForm, _signoff),
    "complete": (forms.OutcomeForm, _complete),
    "withdraw": (forms.ReasonForm, _withdraw),
    "note": (forms.NoteForm, _note),
    "build_export": (None, _build_export),
    "link_customer": (forms.LinkCustomerForm, _link_customer),
    **fulfilment.ACTIONS,
}


# What each action needs of the case (requests.access); every other action: WORK.
ACTION_NEEDS = {"signoff": access.SIGNOFF, "assign": access.ASSIGN}


# The case is fetched by view_case (404 for anyone else), then the action's need is checked
# (403 for a reader, e.g. an auditor, who reads but never changes).
@requires(object_perm=access.VIEW_CASE)
@require_POST
def case_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    case = case_for(request.user, pk, need=ACTION_NEEDS.get(action, access.WORK))
    form_class, run = ACTIONS[action]
    form = form_class(request.POST, request.FILES) if form_class else None
    if form is not None and not form.is_valid():
        for text in named_errors(form):
            messages.error(request, text)
        return redirect(case)
    try:
        message = run(request, case, form.cleaned_data if form else {})
    except ValidationError as exc:
        for text in named_errors(form, exc):
            messages.error(request, text)
    else:
        messages.success(request, message)
    return redirect(case)


@requires(object_perm=access.VIEW_CASE)
@require_GET
def document_download(request, pk: int, doc_pk: int):
    case = case_for(request.user, pk)
    doc = access.case_document_for(request.user, case, doc_pk)
    handle = file_open(doc.path)
    if handle is None:  # not written yet (files follow the commit), or lost: nothing was read
        raise Http404
    access_record(request=request, action=AccessEvent.Action.EXPORT, customer_id=case.customer_id, obj=doc)
    response = FileResponse(handle, content_type=doc.content_type, as_attachment=True,
                            filename=f"{case.reference}-{doc.kind}-{doc.pk}{Path(handle.name).suffix}")  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response
