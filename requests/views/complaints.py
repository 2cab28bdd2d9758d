"""Complaints: logging, the list, the complaint page with its ICO panel and actions, the case
bundle, the agent's "complaints I logged", and case-file correspondence (on complaints and on
rights requests) with its access-checked attachments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from guardian.shortcuts import get_objects_for_user

from customers.models import Customer
from privacy_portal import legal
from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors, named_errors
from privacy_portal.history import history_page
from privacy_portal.models import AccessEvent

from .. import complaint_forms as forms
from ..complaint_selectors import complaint_list, logged_complaints
from ..models import Case, CaseCorrespondence, Complaint, IcoCase, IcoDeadline
from ..services import cases as case_svc
from ..services import complaints as svc
from ..services.bundle import bundle_zip, deadline_state
from ..services.correspondence import correspondence_add
from ..services.documents import private_path


def _flash(request, form, exc: ValidationError | None = None) -> None:
    """Errors of an action form (or of the service) as messages on the page it returns to."""
    for text in named_errors(form, exc):
        messages.error(request, text)


def may_download_bundle(user) -> bool:
    """The DPO (download_bundle), and auditors: the bundle holds nothing an auditor cannot
    already read (complaints, requests and customers, with their history, by view_*
    permissions), and the ICO's view of a complaint is exactly what an audit needs to check."""
    return user.has_perm("requests.download_bundle") or user.has_perms(
        ["requests.view_complaint", "requests.view_case", "customers.view_customer"]
    )


@requires("requests.add_complaint")
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    """Log a complaint, usually while the caller is on the phone."""
    customer = None
    customer_id = request.POST.get("customer_id") or request.GET.get("customer")
    if customer_id:
        customer = get_for_user_or_404(request.user, Customer, "customers.view_customer", pk=customer_id)
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
            if request.user.has_perm("requests.view_complaint"):
                return redirect(complaint)
            if request.user.has_perm("requests.view_complaint_status"):
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


def _complaint(request, pk: int) -> Complaint:
    return get_for_user_or_404(
        request.user,
        Complaint.objects.select_related("customer", "handler", "logged_by"),
        "requests.view_complaint",
        pk=pk,
    )


def _timeline(complaint: Complaint, cursor: str) -> tuple[list[dict], str | None]:
    """A keyset page of the complaint's history, newest first, and the next page's cursor."""
    history = history_page({"requests.Complaint": Complaint.history.filter(id=complaint.pk)}, cursor=cursor)
    timeline = []
    for newer, older in history.pairs:
        changes = []
        if older is not None:
            fields = ["status", "handler", "response_due_on", "acknowledged_on", "responded_on", "closed_on"]
            changes = [c.field for c in newer.diff_against(older, included_fields=fields).changes]
        timeline.append({"record": newer, "changes": changes, "status_changed": older is None or "status" in changes})
    return timeline, history.next_cursor


@requires(object_perm="requests.view_complaint")
@require_GET
def complaint_page(request, pk: int):
    complaint = _complaint(request, pk)
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
    is_open = complaint.status != Complaint.Status.CLOSED
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
        "response_state": deadline_state(complaint.response_due_on, complaint.responded_on, today),
        "may_work": svc.may_work(user, complaint) and is_open,
        "may_manage": svc.may_manage(user) and is_open,
        "may_escalate": svc.may_escalate(user) and is_open,
        "may_bundle": may_download_bundle(user),
        # Each form's ids carry its action's name: several forms on the page share field names.
        "forms": {name: cls(auto_id=f"{name}_%s") for name, (cls, _, _) in ACTIONS.items() if cls is not None},
        "correspondence_add_url": reverse("requests:complaint_action", args=[complaint.pk, "correspondence"]),
        "retention_years": legal.CASE_FILE_RETENTION_YEARS,
        "today": today,
    }
    return render(request, "requests/complaint.html", context)


# Each action: (form class or None, who may (work / manage / escalate / close), run(request, complaint, data)).
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
    deadline = IcoDeadline.objects.filter(pk=data["deadline"], ico_case__complaint=complaint).first()
    if deadline is None:
        raise ValidationError(svc.ERR_NO_ICO_CASE)
    svc.ico_deadline_answer(actor=request.user, complaint=complaint, deadline=deadline, on=data["on"])
    return "Answer to the ICO recorded."


def _correspondence(request, complaint, data):
    correspondence_add(actor=request.user, complaint=complaint, upload=data.pop("attachment") or None, **data)
    return "Correspondence recorded."


ACTIONS = {
    "assign": (forms.AssignForm, "manage", _assign),
    "target": (
        forms.TargetForm,
        "manage",
        lambda r, c, d: (
            svc.complaint_set_target(actor=r.user, complaint=c, due_on=d["due_on"])
            and f"Response target set: {d['due_on']:%-d %B %Y}."
        ),
    ),
    "acknowledge": (
        forms.AcknowledgeForm,
        "work",
        lambda r, c, d: svc.complaint_acknowledge(actor=r.user, complaint=c, **d) and "Acknowledgement recorded.",
    ),
    "investigate": (
        None,
        "work",
        lambda r, c, d: svc.complaint_investigate(actor=r.user, complaint=c) and "Investigation started.",
    ),
    "respond": (
        forms.RespondForm,
        "work",
        lambda r, c, d: svc.complaint_respond(actor=r.user, complaint=c, **d) and "Response recorded.",
    ),
    "request_review": (
        forms.ReviewRequestForm,
        "work",
        lambda r, c, d: svc.complaint_request_review(actor=r.user, complaint=c, **d) and "Review request recorded.",
    ),
    "conclude_review": (
        forms.ReviewConcludeForm,
        "manage",
        lambda r, c, d: svc.complaint_conclude_review(actor=r.user, complaint=c, **d) and "Review concluded.",
    ),
    "close": (
        forms.CloseForm,
        "close",
        lambda r, c, d: svc.complaint_close(actor=r.user, complaint=c, **d) and "Complaint closed.",
    ),
    "link_case": (forms.LinkCaseForm, "work", _link_case),
    "correspondence": (forms.CorrespondenceForm, "work", _correspondence),
    "escalate": (forms.EscalateForm, "escalate", _escalate),
    "ico_deadline": (
        forms.IcoDeadlineForm,
        "escalate",
        lambda r, c, d: svc.ico_deadline_add(actor=r.user, complaint=c, **d) and "ICO deadline recorded.",
    ),
    "ico_answer": (forms.IcoAnswerForm, "escalate", _ico_answer),
    "ico_outcome": (
        forms.IcoOutcomeForm,
        "escalate",
        lambda r, c, d: svc.ico_outcome_record(actor=r.user, complaint=c, **d) and "ICO outcome recorded.",
    ),
    "ico_outcome_correct": (
        forms.IcoOutcomeCorrectForm,
        "escalate",
        lambda r, c, d: svc.ico_outcome_correct(actor=r.user, complaint=c, **d) and "ICO outcome corrected.",
    ),
}


def _may_change_some_complaint(user) -> bool:
    """Anyone who could change any complaint at all; readers (auditors) are refused up front,
    with 403, whatever complaint they name."""
    if svc.may_manage(user) or svc.may_escalate(user) or user.has_perm("requests.work_complaint"):
        return True
    return get_objects_for_user(
        user, "requests.work_complaint", klass=Complaint, accept_global_perms=False, with_superuser=False
    ).exists()


def _allowed(user, who: str, complaint: Complaint) -> bool:
    if who == "manage":
        return svc.may_manage(user)
    if who == "escalate":
        return svc.may_escalate(user)
    if who == "close":
        return svc.may_work(user, complaint) or svc.may_escalate(user)
    return svc.may_work(user, complaint)


@requires(object_perm="requests.work_complaint")
@require_POST
def complaint_action(request, pk: int, action: str):
    if not _may_change_some_complaint(request.user):
        raise PermissionDenied  # e.g. an auditor, who reads but never changes
    if action not in ACTIONS:
        raise Http404
    complaint = _complaint(request, pk)
    form_class, who, run = ACTIONS[action]
    if not _allowed(request.user, who, complaint):
        raise PermissionDenied
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
    if not may_download_bundle(request.user):
        raise PermissionDenied
    complaint = _complaint(request, pk)
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
    if not item.attachment_path:
        raise Http404
    path = private_path(item.attachment_path)
    if not path.exists():
        raise Http404
    access_record(request=request, action=AccessEvent.Action.EXPORT, customer_id=parent.customer_id, obj=item)
    response = FileResponse(
        path.open("rb"), content_type=item.attachment_type, as_attachment=True, filename=f"{filename}{path.suffix}"
    )
    response["Cache-Control"] = "no-store"
    return response


@requires(object_perm="requests.view_complaint")
@require_GET
def complaint_attachment(request, pk: int, item_pk: int):
    complaint = _complaint(request, pk)
    item = complaint.correspondence.filter(pk=item_pk).first()
    if item is None:
        raise Http404
    return _attachment_response(request, item, complaint, f"{complaint.reference}-correspondence-{item.pk}")


@requires(object_perm="requests.view_case")
@require_GET
def case_attachment(request, pk: int, item_pk: int):
    case = get_for_user_or_404(request.user, Case, "requests.view_case", pk=pk)
    item = case.correspondence.filter(pk=item_pk).first()
    if item is None:
        raise Http404
    return _attachment_response(request, item, case, f"{case.reference}-correspondence-{item.pk}")


@requires(object_perm="requests.work_case")
@require_POST
def case_correspondence_add(request, pk: int):
    """Record a letter, email or call on a rights request (the form on the case page)."""
    case = get_for_user_or_404(request.user, Case, "requests.view_case", pk=pk)
    if not case_svc.may_work(request.user, case):
        raise PermissionDenied  # auditors read the case file but never add to it
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
