"""Intake, the case page, and every action on a case (each a service call)."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Customer
from privacy_portal import paging
from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors, named_errors
from privacy_portal.history import history_page
from privacy_portal.models import AccessEvent

from .. import forms
from ..models import Case, CaseDocument
from ..selectors import case_customer_matches
from ..services import cases as svc
from ..services import documents, export
from . import fulfilment

MSG_EXPORT_QUEUED = "The export is queued. It will appear under Documents when it is ready: reload this page."
EXPORT_REQUESTS_SHOWN = 5
SENSITIVE_KINDS = (CaseDocument.Kind.IDENTITY, CaseDocument.Kind.EXPORT)


@requires("requests.add_case")
@require_http_methods(["GET", "POST"])
def intake(request):
    """Log a request, usually while the requester is on the phone."""
    customer = None
    customer_id = request.POST.get("customer_id") or request.GET.get("customer")
    if customer_id:
        customer = get_for_user_or_404(request.user, Customer, "customers.view_customer", pk=customer_id)
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
            if request.user.has_perm("requests.view_case", cases[0]):
                return redirect(cases[0])
            return redirect("requests:logged")
    if customer is not None:
        access_record(request=request, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "requests/intake.html", {"form": form, "customer": customer})


def _case(request, pk: int) -> Case:
    return get_for_user_or_404(
        request.user, Case.objects.select_related("customer", "handler"), "requests.view_case", pk=pk
    )


@requires(object_perm="requests.view_case")
@require_GET
def case_page(request, pk: int):
    case = _case(request, pk)
    # Recorded with no customer too: the requester's own details are on the page.
    access_record(request=request, action=AccessEvent.Action.VIEW_CASE, customer_id=case.customer_id, obj=case)
    # The timeline and the notes are keyset-paged, newest first: the page costs the same at 10,000.
    history = history_page({"requests.Case": Case.history.filter(id=case.pk)}, cursor=request.GET.get("history", ""))
    timeline = []
    for newer, older in history.pairs:
        changes = []
        if older is not None:
            delta = newer.diff_against(older, included_fields=["status", "handler", "due_on", "identity", "extended"])
            changes = [c.field for c in delta.changes]
        timeline.append({"record": newer, "changes": changes})
    notes, notes_next = paging.newest_first(
        case.notes.select_related("author"), date_field="created_at", cursor=request.GET.get("notes", "")
    )
    user = request.user
    matches = case_customer_matches(case) if svc.may_work(user, case) and case.is_open else []
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
        "timeline_next": history.next_cursor,
        "timeline_paged": "history" in request.GET,
        "stops": case.stops.order_by("started_on"),
        "tasks": case.tasks.order_by("done_at", "created_at"),
        "notes": notes,
        "notes_next": notes_next,
        "notes_paged": "notes" in request.GET,
        "documents": case.documents.order_by("-uploaded_at"),
        "export_requests": case.export_requests.order_by("-requested_at")[:EXPORT_REQUESTS_SHOWN],
        "may_download_sensitive": svc.may_work(user, case),
        "sensitive_kinds": SENSITIVE_KINDS,
        "may_export": case.right in export.EXPORT_RIGHTS and case.customer_id is not None,
        "may_work": svc.may_work(user, case) and case.is_open,
        "may_assign": user.has_perm("requests.assign_case") and case.is_open,
        "may_stop_clock": svc.may_stop_clock(case),
        "may_signoff": user.has_perm("requests.signoff_case")
        and case.status == Case.Status.AWAITING_SIGNOFF
        and user.pk not in (case.handler_id, case.signoff_requested_by_id),
        # Each form's ids carry its action's name: several forms on the page share field names.
        "forms": {
            name: form_class(auto_id=f"{name}_%s")
            for name, (form_class, _) in ACTIONS.items()
            if form_class is not None
        },
        "today": timezone.localdate(),
        **fulfilment.page_context(user, case),
    }
    return render(request, "requests/case.html", context)


# Each action: (form class or None, function(request, case, cleaned_data) -> success message).
def _assign(request, case, data):
    svc.case_assign(actor=request.user, case=case, handler=data["handler"])
    return f"Assigned to {data['handler']}."


def _upload_identity(request, case, data):
    documents.identity_evidence_receive(actor=request.user, case=case, upload=data["file"], on=data["received_on"])
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


ERR_NOT_A_MATCH = "Choose one of the matching customer records shown on the case."


def _link_customer(request, case, data):
    matches = {m.customer.pk: m.customer for m in case_customer_matches(case)}
    customer = matches.get(data["customer_id"])
    if customer is None:
        raise ValidationError({"customer_id": ERR_NOT_A_MATCH})
    svc.case_link_customer(actor=request.user, case=case, customer=customer)
    return f"Linked to customer {customer.reference}."


def _build_export(request, case, data):
    export.export_request(actor=request.user, case=case)
    return MSG_EXPORT_QUEUED


ACTIONS = {
    "assign": (forms.AssignForm, _assign),
    "start": (None, lambda r, c, d: svc.case_start(actor=r.user, case=c) and "Work started."),
    "request_identity": (
        None,
        lambda r, c, d: svc.case_request_identity(actor=r.user, case=c) and "Identity requested.",
    ),
    "upload_identity": (forms.IdentityUploadForm, _upload_identity),
    "decide_identity": (
        forms.IdentityDecisionForm,
        lambda r, c, d: (
            svc.case_decide_identity(actor=r.user, case=c, verified=d["verified"], note=d["note"])
            and "Identity decision recorded; the evidence has been deleted."
        ),
    ),
    "request_clarification": (
        forms.ClarificationForm,
        lambda r, c, d: (
            svc.case_request_clarification(actor=r.user, case=c, question=d["question"], on=d["on"])
            and "Clarification requested: the clock has stopped."
        ),
    ),
    "clarification_received": (
        forms.DateForm,
        lambda r, c, d: (
            svc.case_clarification_received(actor=r.user, case=c, on=d["on"])
            and f"Clock restarted. Now due {c.due_on:%-d %B %Y}."
        ),
    ),
    "request_signoff": (
        forms.SignoffRequestForm,
        lambda r, c, d: svc.case_request_signoff(actor=r.user, case=c, **d) and "Sent to the DPO for sign-off.",
    ),
    "signoff": (forms.SignoffForm, _signoff),
    "complete": (
        forms.OutcomeForm,
        lambda r, c, d: svc.case_complete(actor=r.user, case=c, outcome=d["outcome"]) and "Case completed.",
    ),
    "withdraw": (
        forms.ReasonForm,
        lambda r, c, d: svc.case_withdraw(actor=r.user, case=c, reason=d["reason"]) and "Case withdrawn.",
    ),
    "note": (forms.NoteForm, lambda r, c, d: svc.case_add_note(actor=r.user, case=c, text=d["text"]) and "Note added."),
    "build_export": (None, _build_export),
    "link_customer": (forms.LinkCustomerForm, _link_customer),
    **fulfilment.ACTIONS,
}
SIGNOFF_ACTIONS = {"signoff"}
ASSIGN_ACTIONS = {"assign"}


@requires(object_perm="requests.work_case")
@require_POST
def case_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    case = _case(request, pk)
    user = request.user
    allowed = (
        user.has_perm("requests.signoff_case")
        if action in SIGNOFF_ACTIONS
        else user.has_perm("requests.assign_case")
        if action in ASSIGN_ACTIONS
        else svc.may_work(user, case)
    )
    if not allowed:
        raise PermissionDenied  # e.g. an auditor, who reads but never changes
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


@requires(object_perm="requests.view_case")
@require_GET
def document_download(request, pk: int, doc_pk: int):
    case = _case(request, pk)
    doc = case.documents.filter(pk=doc_pk, deleted_at__isnull=True).first()
    if doc is None or not doc.path:
        raise Http404
    # Identity evidence and exports (a copy of everything about the customer) only for those
    # who work the case: its handler while it is open, the DPO. Auditors see that they exist.
    if doc.kind in SENSITIVE_KINDS and not svc.may_work(request.user, case):
        raise Http404
    path: Path = documents.private_path(doc.path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # not written yet (files follow the commit), or lost: nothing was read
        raise Http404 from None
    access_record(request=request, action=AccessEvent.Action.EXPORT, customer_id=case.customer_id, obj=doc)
    response = FileResponse(handle, content_type=doc.content_type, as_attachment=True,
                            filename=f"{case.reference}-{doc.kind}-{doc.pk}{path.suffix}")  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response
