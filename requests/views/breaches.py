"""Personal-data breaches: reporting a suspected breach (anyone with report_breach), the
register with its chart and CSV, the breach page with the DPO's actions, the affected
customers (list, CSV upload, told, export for a mailing house) and the ICO report (page, PDF)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.access import customers_open_to
from customers.forms import SearchForm
from customers.selectors.customers import customer_search
from customers.services.imports import ImportRejected, read_upload
from privacy_portal import csv_safe, paging
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent

from .. import access
from ..access import breach_for
from ..forms import breaches as forms
from ..models import Breach, BreachAffected
from ..selectors.breaches import DUE_SOON_HOURS, LIST_LIMIT, breach_figures, breach_register, open_breach_tasks_of
from ..services import breaches as svc
from ..services.breach_query import breach_link_query, breach_query_preview
from ..services.breach_report import ico_report_content, ico_report_pdf
from ..services.workflow import breach_actions

AFFECTED_PAGE_SIZE = 100


def _flash(request, form=None, exc: ValidationError | ImportRejected | None = None) -> None:
    if isinstance(exc, ImportRejected):
        for error in exc.errors[:50]:
            messages.error(request, str(error))
        if len(exc.errors) > 50:
            messages.error(request, f"… and {len(exc.errors) - 50} more problems. Nothing was linked.")
        return
    if exc is not None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                label = form.fields[field].label if form is not None and field in form.fields else ""
                for text in errors:
                    messages.error(request, f"{label}: {text}" if label else text)
        else:
            for text in exc.messages:
                messages.error(request, text)
        return
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))


@requires("requests.report_breach")
@require_http_methods(["GET", "POST"])
def breach_new(request):
    """Report a suspected breach: a short form that starts the 72-hour clock and tells the DPO."""
    processor = request.GET.get("processor") == "1" or "processor" in request.POST
    form_class = (
        forms.ProcessorReportForm if processor and access.may_assess_breaches(request.user) else forms.BreachReportForm
    )
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breach = svc.breach_report(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Reported suspected breach {breach.reference}. The DPO has been told; "
                f"if reportable, the ICO must have it by {timezone.localtime(breach.due_at):%-d %B %Y, %H:%M}.",
            )
            if access.may_read_all_breaches(request.user):
                return redirect(breach)
            return redirect("home")
    return render(
        request, "requests/breaches/new.html", {"form": form, "processor": form_class is not forms.BreachReportForm}
    )


@requires("requests.view_queue")
@require_GET
def breach_list(request):
    """The register: every breach for the DPO and auditors (with the figures), a handler's
    linked ones; agents and IT administrators are refused (403, logged)."""
    form = forms.RegisterFilterForm(request.GET or None)
    show = (form.cleaned_data.get("show") if form.is_valid() else "") or "open"
    context = {"form": form, "result": breach_register(request.user, show=show), "show": show}
    if access.may_read_all_breaches(request.user):
        context["figures"] = breach_figures()
    return render(request, "requests/breaches/register.html", context)


@requires("requests.view_breach")
@require_GET
def breach_csv(request):
    """The register for the auditor, one row per breach (no customer's data), spreadsheet-safe."""
    access_record(request=request, action=AccessEvent.Action.EXPORT, search_kind="breaches", reason="Breach register")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="breach-register-{timezone.localdate():%Y-%m-%d}.csv"'
    response.write("\ufeff")
    writer = csv_safe.writer(response)
    writer.writerow(REGISTER_HEADER)
    for b in Breach.objects.prefetch_related("notifications").order_by("aware_at", "pk").iterator(chunk_size=500):
        initial = next((n for n in b.notifications.all() if n.phase == "initial"), None)
        writer.writerow(
            [
                b.reference, b.get_status_display(), b.summary, b.get_cause_display(),
                _iso(b.happened_at), _iso(b.aware_at), _iso(b.due_at),
                "; ".join(b.data_category_labels()), "; ".join(b.people_category_labels()),
                "" if b.people_count is None else b.people_count, "" if b.records_count is None else b.records_count,
                b.get_risk_display(), {True: "yes", False: "no", None: ""}[b.report_to_ico], b.ico_decision_reason,
                _iso(initial.sent_at) if initial else "", "yes" if initial and initial.sent_at > b.due_at else "",
                b.late_reason, b.get_tell_people_display(), b.tell_people_reason, _iso(b.closed_at),
            ]
        )  # fmt: skip
    return response


REGISTER_HEADER = (
    "Reference", "Status", "Summary", "Cause", "Happened", "Aware", "ICO report due", "Data categories",
    "People categories", "People", "Records", "Risk", "Report to ICO", "Reasons", "Initial report sent",
    "Late", "Reasons for delay", "Tell people", "Reasons (Art 34)", "Closed",
)  # fmt: skip


def _iso(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@requires(object_perm=access.VIEW_BREACH)
@require_GET
def breach_page(request, pk: int):
    breach = breach_for(request.user, pk)
    user = request.user
    now = timezone.now()
    initial = {
        "summary": breach.summary, "what_happened": breach.what_happened, "how_discovered": breach.how_discovered,
        "discovered_by": breach.discovered_by, "aware_at": timezone.localtime(breach.aware_at),
        "happened_at": timezone.localtime(breach.happened_at) if breach.happened_at else None,
        "cause": breach.cause, "data_categories": breach.data_categories,
        "people_categories": breach.people_categories, "people_count": breach.people_count,
        "records_count": breach.records_count, "processor": breach.processor,
        "processor_told_at": timezone.localtime(breach.processor_told_at) if breach.processor_told_at else None,
        "containment": breach.containment, "staff_training": breach.staff_training,
        "others_told": breach.others_told, "letter": breach.letter,
    }  # fmt: skip
    assess_initial = {
        "consequences": breach.consequences, "likelihood": breach.likelihood, "severity": breach.severity,
        "report_to_ico": {True: "yes", False: "no", None: ""}[breach.report_to_ico],
        "ico_decision_reason": breach.ico_decision_reason, "tell_people": breach.tell_people,
        "tell_people_reason": breach.tell_people_reason,
    }  # fmt: skip
    has_initial = breach.notifications.filter(phase="initial").exists()
    breach.hours_left = svc.breach_hours_left(breach, now)  # type: ignore[attr-defined]  # for the template
    context = {
        "breach": breach,
        "reported": has_initial,
        "due_soon_hours": DUE_SOON_HOURS,
        "notifications": breach.notifications.select_related("recorded_by").order_by("sent_at", "pk"),
        "tasks": access.breach_tasks_to_mark(
            user, breach.tasks.select_related("owner", "done_by").order_by("due_on", "pk")
        ),
        "progress": svc.breach_progress(breach),
        "cases": breach.cases.order_by("reference"),
        "complaints": breach.complaints.order_by("reference"),
        "recipients": breach.recipients.order_by("name"),
        "history": breach.history.select_related("history_user").order_by("-history_date", "-history_id")[:30],
        # What the page offers: the steps the state table allows now, to this user.
        "actions": breach_actions(user, breach),
        "forms": {
            "details": forms.BreachDetailsForm(initial=initial, auto_id="details_%s"),
            "assess": forms.AssessForm(initial=assess_initial, auto_id="assess_%s"),
            "notify": forms.NotifyForm(
                initial={"phase": "follow_up" if has_initial else "initial"}, auto_id="notify_%s"
            ),
            "task": forms.TaskForm(auto_id="task_%s"),
            "link": forms.LinkRecordsForm(auto_id="link_%s"),
            "close": forms.CloseForm(auto_id="close_%s"),
        },
    }
    return render(request, "requests/breaches/breach.html", context)


# Each action: (form class, run(request, breach, data) -> message).
def _details(request, breach, data):
    svc.breach_update(actor=request.user, breach=breach, **data)
    return "Details saved."


def _assess(request, breach, data):
    svc.breach_assess(actor=request.user, breach=breach, **data)
    return "Assessment and decision recorded."


def _notify(request, breach, data):
    n = svc.breach_notify_ico(actor=request.user, breach=breach, **data)
    return f"{n.get_phase_display()} to the ICO recorded" + (f" ({n.ico_reference})." if n.ico_reference else ".")


def _task(request, breach, data):
    svc.breach_task_add(actor=request.user, breach=breach, **data)
    return "Remedial task added."


def _link(request, breach, data):
    svc.breach_link_records(
        actor=request.user, breach=breach, case_references=data["case_references"],
        complaint_references=data["complaint_references"], recipients=data["recipients"],
    )  # fmt: skip
    return "Links saved."


def _close(request, breach, data):
    svc.breach_close(actor=request.user, breach=breach, **data)
    return "Breach closed."


def _link_customers(request, breach, data):
    n = svc.breach_link_customers(actor=request.user, breach=breach, customers=data["references"])
    return f"Linked {n} customer{'s' if n != 1 else ''}."


def _link_csv(request, breach, data):
    upload = data["file"]
    n = svc.breach_link_csv(actor=request.user, breach=breach, data=read_upload(upload, name=upload.name))
    return f"Linked {n:,} customers from the file."


def _link_query(request, breach, data):
    query = forms.query_from(data)
    n = breach_link_query(actor=request.user, breach=breach, query=query, expected=data["expected"])
    return f"Linked {n:,} customers from the query ({query.describe()})."


def _told(request, breach, data):
    n = svc.breach_record_told(
        actor=request.user, breach=breach, told=data["told"], method=data["method"], told_at=data["told_at"],
        customers=data["references"],
    )  # fmt: skip
    return f"Recorded {n:,} as {BreachAffected.Told(data['told']).label.lower()}."


ACTIONS = {
    "details": (forms.BreachDetailsForm, _details, "breach"),
    "assess": (forms.AssessForm, _assess, "breach"),
    "notify": (forms.NotifyForm, _notify, "breach"),
    "task": (forms.TaskForm, _task, "breach"),
    "link": (forms.LinkRecordsForm, _link, "breach"),
    "close": (forms.CloseForm, _close, "breach"),
    "link_customers": (forms.LinkCustomersForm, _link_customers, "affected"),
    "link_csv": (forms.AffectedCsvForm, _link_csv, "affected"),
    "told": (forms.ToldForm, _told, "affected"),
    "link_query": (forms.LinkQueryForm, _link_query, "affected"),
}


@requires("requests.assess_breach", object_perm=access.VIEW_BREACH)
@require_POST
def breach_action(request, pk: int, action: str):
    """The DPO's actions on a breach; each rule is checked again in the service."""
    if action not in ACTIONS:
        raise Http404
    breach = breach_for(request.user, pk)
    form_class, run, back = ACTIONS[action]
    target = reverse("requests:breach_affected", args=[breach.pk]) if back == "affected" else breach.get_absolute_url()
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        _flash(request, form)
        return redirect(target)
    try:
        message = run(request, breach, dict(form.cleaned_data))
    except (ValidationError, ImportRejected) as exc:
        _flash(request, form, exc)
    else:
        messages.success(request, message)
    return redirect(target)


@requires("requests.change_breachtask")
@require_GET
def breach_tasks(request):
    """The containment and remedial tasks the user owns, whatever its role (an agent may own
    "recall the parcel"): each with its breach's reference and summary, and "Mark done"."""
    return render(
        request,
        "requests/breaches/tasks.html",
        {
            "tasks": access.breach_tasks_to_mark(request.user, open_breach_tasks_of(request.user)[:LIST_LIMIT]),
            "today": timezone.localdate(),
        },
    )


@requires("requests.change_breachtask")
@require_POST
def breach_task_done(request, pk: int):
    """The task's owner, or the DPO, marks it done (recorded in the task's history). Anyone
    else is told nothing: 404, as for a task that does not exist."""
    task = access.breach_task_for(request.user, pk)
    try:
        svc.breach_task_done(actor=request.user, task=task)
    except ValidationError as exc:
        _flash(request, exc=exc)
    else:
        messages.success(request, f"Task done: {task.title} ({task.breach.reference}).")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("requests:breach_tasks")
    return redirect(target)


@requires(object_perm=access.VIEW_BREACH)
@require_GET
def breach_affected(request, pk: int):
    """The customers affected, keyset-paged, with progress, for whoever may see the breach (the
    DPO and auditors; a handler, for a breach linked to its cases). A handler sees each one's
    reference and whether they were told; the name only of a customer its own cases grant it.
    The read is recorded (the customers' ids)."""
    breach = breach_for(request.user, pk)
    rows = breach.affected.select_related("customer")
    told = request.GET.get("told", "")
    if told in BreachAffected.Told.values:
        rows = rows.filter(told=told)
    page, next_after = paging.keyset_page(
        rows, order=("pk",), cursor=request.GET.get("after", ""), limit=AFFECTED_PAGE_SIZE
    )
    ids = [row.customer_id for row in page]
    named = customers_open_to(request.user, ids)
    for row in page:
        row.named = row.customer_id in named  # type: ignore[attr-defined]  # for the template
    access_record(request=request, action=AccessEvent.Action.VIEW_BREACH_AFFECTED, obj=breach, result_ids=ids)
    context = {
        "breach": breach,
        "rows": page,
        "next_after": next_after,
        "told": told,
        "progress": svc.breach_progress(breach),
        "actions": breach_actions(request.user, breach),
        "forms": {
            "link_customers": forms.LinkCustomersForm(auto_id="lc_%s"),
            "link_csv": forms.AffectedCsvForm(auto_id="csv_%s"),
            "told": forms.ToldForm(auto_id="told_%s"),
        },
    }
    return render(request, "requests/breaches/affected.html", context)


@requires("requests.assess_breach", "customers.view_customer", object_perm=access.VIEW_BREACH)
@require_GET
def breach_affected_search(request, pk: int):
    """Find a customer by the desk's search (name, email, phone, postcode, reference) and link
    them to the breach one at a time. Only who may link (the DPO); the search is recorded like
    the desk's (whom it returned, never the words typed). An erased customer is not offered, an
    already linked one says so; the link itself is the `link_customers` action (the service
    refuses again)."""
    breach = breach_for(request.user, pk)
    form = SearchForm(request.GET or None, auto_id="find_%s")
    result = None
    if form.is_valid() and form.cleaned_data["q"]:
        result = customer_search(form.cleaned_data["q"], after=form.cleaned_data["after"])
        access_record(
            request=request,
            action=AccessEvent.Action.SEARCH,
            obj=breach,
            result_ids=[c.pk for c in result.customers],
            search_kind=result.kind,
        )
        linked = set(
            breach.affected.filter(customer__in=[c.pk for c in result.customers]).values_list("customer_id", flat=True)
        )
        for customer in result.customers:
            customer.linked = customer.pk in linked  # type: ignore[attr-defined]  # for the template
    context = {
        "breach": breach,
        "form": form,
        "result": result,
        "q": form.data.get("q", ""),
        "actions": breach_actions(request.user, breach),
    }
    return render(request, "requests/breaches/affected_search.html", context)


@requires("requests.assess_breach", object_perm=access.VIEW_BREACH)
@require_GET
def breach_affected_query(request, pk: int):
    """Choose the affected customers by a query and see how many it matches before linking them
    (counts only: no customer is listed, so nothing is read that the access log would record)."""
    breach = breach_for(request.user, pk)
    form = forms.AffectedQueryForm(request.GET or None)
    preview: dict[str, Any] | None = None
    if request.GET and form.is_valid():
        try:
            preview = breach_query_preview(breach=breach, query=form.query())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            preview = {**preview, "description": form.query().describe()}
    context = {
        "breach": breach,
        "form": form,
        "preview": preview,
        "actions": breach_actions(request.user, breach),
    }
    return render(request, "requests/breaches/affected_query.html", context)


MAILING_HEADER = (
    "customer_reference", "title", "first_name", "last_name", "address_line1", "address_line2", "town", "county",
    "postcode", "email", "told",
)  # fmt: skip


@requires("requests.assess_breach", "customers.view_customer", object_perm=access.VIEW_BREACH)
@require_GET
def breach_affected_export(request, pk: int):
    """The people still to be told, for a mailing house: names and postal and email addresses
    (the letter is the breach's template). The DPO only; recorded in the access log."""
    breach = breach_for(request.user, pk)
    access_record(request=request, action=AccessEvent.Action.EXPORT, obj=breach, reason="Breach mailing list (Art 34)")
    rows = (
        breach.affected.filter(told=BreachAffected.Told.NOT_YET, customer__erased_at__isnull=True)
        .select_related("customer")
        .order_by("pk")
    )
    writer = csv_safe.line_writer()

    def stream():
        yield "\ufeff" + writer.writerow(MAILING_HEADER)
        for row in rows.iterator(chunk_size=2000):
            c = row.customer
            yield writer.writerow(
                [
                    c.reference, c.title, c.first_name, c.last_name, c.address_line1, c.address_line2, c.town,
                    c.county, c.postcode, c.email, row.get_told_display(),
                ]
            )  # fmt: skip

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{breach.reference}-to-tell.csv"'
    response["Cache-Control"] = "no-store"
    return response


@requires("requests.view_breach")
@require_GET
def breach_ico_report(request, pk: int):
    """The ICO report, laid out as the ICO's form: counts and categories, no personal data."""
    breach = breach_for(request.user, pk)
    access_record(request=request, action=AccessEvent.Action.VIEW_BREACH_REPORT, obj=breach)
    content = ico_report_content(breach)
    return render(request, "requests/breaches/ico_report.html", {"breach": breach, "content": content})


@requires("requests.view_breach")
@require_GET
def breach_ico_report_pdf(request, pk: int):
    breach = breach_for(request.user, pk)
    access_record(request=request, action=AccessEvent.Action.VIEW_BREACH_REPORT, obj=breach, reason="PDF")
    response = HttpResponse(ico_report_pdf(ico_report_content(breach)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{breach.reference}-ico-report.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@requires("requests.assess_breach")
@require_POST
def breach_from_access(request):
    """Turn access-log entries (e.g. a break-glass opening judged unjustified) into a breach."""
    form = forms.FromAccessForm(request.POST)
    if not form.is_valid():
        _flash(request, form)
        target = request.POST.get("next", "")
        # Only back to a page of the portal: never an open redirect to another site.
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = "home"
        return redirect(target)
    try:
        breach = svc.breach_from_access_events(
            actor=request.user, event_ids=form.cleaned_data["event_ids"], summary=form.cleaned_data["summary"]
        )
    except ValidationError as exc:
        _flash(request, form, exc)
        return redirect("home")
    messages.success(request, f"Breach {breach.reference} recorded from the access log; the clock has started.")
    return redirect(breach)
