"""Who may see and act on rights requests (cases), complaints and breaches: the one home of the
requests app's access rules (the mechanism itself is privacy_portal/access.py).

Each protected model has one fetch helper, the first line of every view that opens one:
`case_for(user, pk, need=VIEW|WORK|ASSIGN|SIGNOFF)`, `complaint_for(user, pk, need=...)`,
`breach_for(user, pk)`, and the ones of an object already fetched (`case_document_for`,
`ico_deadline_for`). Anyone who may not know the object exists gets 404 (the object
permission: the DPO and auditors by the model permission, a handler by its grant on the
object); someone who may read it but not do what `need` asks gets 403. The predicates
(`may_work_case` ...) are what views, services (defence in depth) and page contexts ask.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from privacy_portal.access import fetches, get_for_user_or_404, may_see, security_log
from privacy_portal.models import User

from .models import Breach, BreachTask, Case, CaseDocument, Complaint, IcoDeadline

# Access levels a fetch helper is asked for.
VIEW = "view"
WORK = "work"  # a case's or complaint's handler, or the DPO
ASSIGN = "assign"  # the DPO: hands cases and complaints out
SIGNOFF = "signoff"  # the DPO: signs a case off
MANAGE = "manage"  # the DPO: a complaint's target and internal review
ESCALATE = "escalate"  # the DPO: the ICO's side of a complaint
CLOSE = "close"  # a complaint's handler, or whoever deals with the ICO

# The permission each fetch checks on the object (the one its view's @requires(object_perm=) names).
VIEW_CASE = "requests.view_case"
VIEW_COMPLAINT = "requests.view_complaint"
VIEW_BREACH = "requests.view_breach"


# --- What a user may open: the querysets lists and figures start from -------------------


def visible_cases(user) -> QuerySet[Case]:
    """Cases the user may open: everything with the model permission (DPO, auditors),
    otherwise those granted on the object (a handler's own cases)."""
    if user.has_perm(VIEW_CASE):
        return Case.objects.all()
    return get_objects_for_user(user, VIEW_CASE, klass=Case, accept_global_perms=False, with_superuser=False)


def visible_complaints(user) -> QuerySet[Complaint]:
    """Every complaint for the model permission (DPO, auditors); otherwise the ones granted
    on the object (a handler's own)."""
    if user.has_perm(VIEW_COMPLAINT):
        return Complaint.objects.all()
    return get_objects_for_user(user, VIEW_COMPLAINT, klass=Complaint, accept_global_perms=False, with_superuser=False)


def visible_breaches(user) -> QuerySet[Breach]:
    """Every breach for the model permission (DPO, auditors); otherwise the ones granted on the
    object, and, for a handler, the breaches linked to the requests and complaints granted to it;
    nothing for anyone else."""
    if user.has_perm(VIEW_BREACH):
        return Breach.objects.all()
    return Breach.objects.filter(_granted_or_linked_breaches(user))


def _granted_or_linked_breaches(user) -> Q:
    granted = get_objects_for_user(user, VIEW_BREACH, klass=Breach, accept_global_perms=False, with_superuser=False)
    cases = get_objects_for_user(user, VIEW_CASE, klass=Case, accept_global_perms=False, with_superuser=False)
    complaints = get_objects_for_user(
        user, VIEW_COMPLAINT, klass=Complaint, accept_global_perms=False, with_superuser=False
    )
    linked = Breach.cases.through.objects.filter(case__in=cases).values("breach_id")
    linked_complaints = Breach.complaints.through.objects.filter(complaint__in=complaints).values("breach_id")
    return Q(pk__in=granted.values("pk")) | Q(pk__in=linked) | Q(pk__in=linked_complaints)


# --- Rights requests ----------------------------------------------------------------------


def may_open_case(user, case: Case) -> bool:
    """Whether case_for lets `user` open this case: the model permission (the DPO, auditors) or
    the object grant (its handler). Where intake sends whoever logged it next."""
    return may_see(user, VIEW_CASE, case)


def may_work_case(user, case: Case) -> bool:
    """The handler it is granted to, or the DPO (assign_case): open or closed."""
    return user.has_perm("requests.work_case", case) or user.has_perm("requests.assign_case")


def may_assign_cases(user) -> bool:
    return user.has_perm("requests.assign_case")


def may_signoff_cases(user) -> bool:
    return user.has_perm("requests.signoff_case")


# Why a sign-off is refused (signoff_refusal); the workflow core words each (require_signoff).
SIGNOFF_NOT_DPO = "not the DPO"
SIGNOFF_OWN_CASE = "own case"
SIGNOFF_NOTHING_PENDING = "nothing pending"


def signoff_refusal(user, case: Case, *, pending: bool | None = None) -> str | None:
    """Why `user` may not sign `case` off, or None if it may: the one sign-off rule. The DPO
    (signoff_case), never on a case it handles or sent for sign-off itself, and only while
    something is `pending` (by default: the case awaits sign-off; the steps say more exactly
    what they carry out). The page (may_signoff_case), case_signoff and customer_erase ask it."""
    if not may_signoff_cases(user):
        return SIGNOFF_NOT_DPO
    if user.pk in (case.handler_id, case.signoff_requested_by_id):
        return SIGNOFF_OWN_CASE
    if not (case.status == Case.Status.AWAITING_SIGNOFF if pending is None else pending):
        return SIGNOFF_NOTHING_PENDING
    return None


def may_signoff_case(user, case: Case) -> bool:
    """The DPO, on a case awaiting sign-off that it neither handles nor sent for sign-off."""
    return signoff_refusal(user, case) is None


# Whom the DPO may give a case or complaint to: an active privacy case handler, or a DPO.
_GIVEN_CASES = (User.Role.HANDLER, User.Role.DPO)


def may_be_given_cases(user) -> bool:
    return user.role in _GIVEN_CASES and user.is_active


def staff_who_may_be_given_cases() -> QuerySet[User]:
    """The choices of the assign forms: everyone may_be_given_cases lets through."""
    return User.objects.filter(role__in=_GIVEN_CASES, is_active=True)


# Identity evidence and exports (a copy of everything about the customer).
SENSITIVE_KINDS = (CaseDocument.Kind.IDENTITY, CaseDocument.Kind.EXPORT)


def may_read_sensitive_documents(user, case: Case) -> bool:
    """Identity evidence and exports (a copy of everything about the customer): those who work
    the case. Auditors see that they exist."""
    return may_work_case(user, case)


@fetches(VIEW_CASE)
def case_for(user, pk, *, need: str = VIEW, queryset: QuerySet[Case] | None = None) -> Case:
    """The case `pk`: 404 for anyone without view_case on it, 403 for a reader without `need`."""
    qs = queryset if queryset is not None else Case.objects.select_related("customer", "handler")
    case = get_for_user_or_404(user, qs, VIEW_CASE, pk=pk)
    allowed = {
        VIEW: lambda: True,
        WORK: lambda: may_work_case(user, case),
        ASSIGN: lambda: may_assign_cases(user),
        SIGNOFF: lambda: may_signoff_cases(user),
    }[need]
    if not allowed():
        raise PermissionDenied  # e.g. an auditor, who reads but never changes
    return case


def may_read_case_document(user, case: Case, doc: CaseDocument, *, sensitive: bool | None = None) -> bool:
    """Whether `user` may download `doc`, a file of `case`: one not deleted, and identity evidence
    or an export only for those who work the case (`sensitive`: may_read_sensitive_documents,
    when already asked). The case page offers the download by it (case_documents_to_read) and
    case_document_for checks it."""
    if doc.deleted_at is not None:
        return False
    if doc.kind not in SENSITIVE_KINDS:
        return True
    return may_read_sensitive_documents(user, case) if sensitive is None else sensitive


def case_documents_to_read(user, case: Case, docs: Iterable[CaseDocument]) -> list[tuple[CaseDocument, bool]]:
    """Each of `case`'s documents with whether `user` may download it (may_read_case_document),
    for a page; who may read the sensitive ones is asked once."""
    sensitive = may_read_sensitive_documents(user, case)
    return [(doc, may_read_case_document(user, case, doc, sensitive=sensitive)) for doc in docs]


@fetches(None)
def case_document_for(user, case: Case, pk) -> CaseDocument:
    """A file of `case` (fetched with case_for), written and not deleted: 404 alike for one
    that is absent and for identity evidence or an export to anyone who does not work the case
    (may_read_case_document)."""
    doc = case.documents.filter(pk=pk, deleted_at__isnull=True).first()
    if doc is None or not doc.path:
        raise Http404
    if not may_read_case_document(user, case, doc):
        raise Http404
    return doc


# --- Complaints ---------------------------------------------------------------------------


def may_work_complaint(user, complaint: Complaint) -> bool:
    """The assigned handler (object grant) or the DPO (model permission)."""
    return user.has_perm("requests.work_complaint") or user.has_perm("requests.work_complaint", complaint)


def may_read_all_complaints(user) -> bool:
    return user.has_perm(VIEW_COMPLAINT)


def may_follow_complaint_status(user) -> bool:
    """The status of complaints one logged, without reading them (agents)."""
    return user.has_perm("requests.view_complaint_status")


def may_manage_complaints(user) -> bool:
    """The DPO: assigns, sets the response target, concludes internal reviews."""
    return user.has_perm("requests.change_complaint")


def may_escalate_complaints(user) -> bool:
    return user.has_perm("requests.escalate_complaint")


def may_close_complaint(user, complaint: Complaint) -> bool:
    return may_work_complaint(user, complaint) or may_escalate_complaints(user)


def may_change_some_complaint(user) -> bool:
    """Anyone who could change any complaint at all; readers (auditors) are refused up front,
    with 403, whatever complaint they name."""
    if may_manage_complaints(user) or may_escalate_complaints(user) or user.has_perm("requests.work_complaint"):
        return True
    return get_objects_for_user(
        user, "requests.work_complaint", klass=Complaint, accept_global_perms=False, with_superuser=False
    ).exists()


def may_download_bundle(user) -> bool:
    """The DPO (download_bundle), and auditors: the bundle holds nothing an auditor cannot
    already read (complaints, requests and customers, with their history, by view_*
    permissions), and the ICO's view of a complaint is exactly what an audit needs to check."""
    return user.has_perm("requests.download_bundle") or user.has_perms(
        ["requests.view_complaint", "requests.view_case", "customers.view_customer"]
    )


def may_link_case(user, complaint_customer_id: int | None, case: Case) -> bool:
    """A complaint may name a request of its own customer, or one the user may read."""
    same_customer = bool(complaint_customer_id) and case.customer_id == complaint_customer_id
    return same_customer or user.has_perm(VIEW_CASE) or user.has_perm(VIEW_CASE, case)


def may_complaint(user, need: str, complaint: Complaint) -> bool:
    """Whether `user` may do what `need` asks on `complaint` (an action table's "who")."""
    if need == VIEW:
        return True
    if need == MANAGE:
        return may_manage_complaints(user)
    if need == ESCALATE:
        return may_escalate_complaints(user)
    if need == CLOSE:
        return may_close_complaint(user, complaint)
    if need == WORK:
        return may_work_complaint(user, complaint)
    raise ValueError(f"unknown access level {need!r}")


@fetches(VIEW_COMPLAINT)
def complaint_for(user, pk, *, need: str = VIEW) -> Complaint:
    """The complaint `pk`: 404 for anyone without view_complaint on it, 403 for a reader
    without `need`."""
    complaint = get_for_user_or_404(
        user, Complaint.objects.select_related("customer", "handler", "logged_by"), VIEW_COMPLAINT, pk=pk
    )
    if not may_complaint(user, need, complaint):
        raise PermissionDenied
    return complaint


@fetches(None)
def ico_deadline_for(complaint: Complaint, pk) -> IcoDeadline:
    """A deadline the ICO set on `complaint` (fetched with complaint_for): 404 alike for one that
    does not exist and for one of another complaint."""
    deadline = IcoDeadline.objects.filter(pk=pk, ico_case__complaint=complaint).first()
    if deadline is None:
        raise Http404
    return deadline


# --- Breaches -----------------------------------------------------------------------------


def may_read_all_breaches(user) -> bool:
    return user.has_perm(VIEW_BREACH)


def may_assess_breaches(user) -> bool:
    """The DPO: assesses, reports to the ICO, tells the people affected."""
    return user.has_perm("requests.assess_breach")


def may_edit_message_templates(user) -> bool:
    """The DPO: the words of the messages we send (a new version each time)."""
    return user.has_perm("requests.change_messagetemplate")


def may_own_breach_tasks(user) -> bool:
    """Staff the DPO may give a breach task to (their home page lists those still open)."""
    return user.has_perm("requests.change_breachtask")


def may_handle_breach_task(user, task: BreachTask) -> bool:
    """Its owner or the DPO; anyone else is told nothing (breach_task_for answers 404)."""
    return task.owner_id == user.pk or may_assess_breaches(user)


def may_mark_breach_task_done(user, task: BreachTask) -> bool:
    """Its owner or the DPO, while its breach is open: what the page offers (one answer per
    task, breach_tasks_to_mark) and breach_task_done checks again."""
    return may_handle_breach_task(user, task) and task.breach.is_open


def breach_tasks_to_mark(user, tasks: Iterable[BreachTask]) -> list[tuple[BreachTask, bool]]:
    """Each task with whether `user` may mark it done (may_mark_breach_task_done), for a page."""
    return [(task, may_mark_breach_task_done(user, task)) for task in tasks]


@fetches(None)
def breach_task_for(user, pk) -> BreachTask:
    """The breach task `pk`, with its breach: 404 for anyone but its owner and the DPO, as for
    a task that does not exist."""
    task = BreachTask.objects.select_related("breach").filter(pk=pk).first()
    if task is None or not may_handle_breach_task(user, task):
        raise Http404
    return task


def may_open_breach(user, breach: Breach) -> bool:
    """Whether breach_for lets `user` open this breach: view_breach on the model (the DPO,
    auditors) or on the object, or a link to a request or complaint granted to it (a handler)."""
    return (
        may_see(user, VIEW_BREACH, breach)
        or Breach.objects.filter(_granted_or_linked_breaches(user), pk=breach.pk).exists()
    )


@fetches(VIEW_BREACH)
def breach_for(user, pk) -> Breach:
    """The breach `pk`: 404 for anyone without view_breach on it (may_open_breach), as for a
    breach that does not exist."""
    breach = Breach.objects.select_related("reported_by", "processor", "assessed_by").filter(pk=pk).first()
    if breach is None:
        raise Http404
    if not may_open_breach(user, breach):
        security_log.warning("object hidden user_id=%s model=%s id=%s", user.pk, Breach._meta.label, breach.pk)
        raise Http404
    return breach


# --- What a page may offer, whatever the object -----------------------------------------


def _perm(name: str):
    return lambda user: user.has_perm(name)


def _without_queue(name: str):
    """Staff who have no queue (agents) follow what they logged on pages of their own."""
    return lambda user: user.has_perm(name) and not user.has_perm("requests.view_queue")


# Read by templates as `may.<name>` (privacy_portal.context_processors.abilities), never as `perms.`.
ABILITIES = {
    "open_queue": _perm("requests.view_queue"),
    "read_all_cases": _perm(VIEW_CASE),
    "log_requests": _perm("requests.add_case"),
    "follow_logged_requests": _without_queue("requests.view_case_status"),
    "read_all_complaints": may_read_all_complaints,
    "log_complaints": _perm("requests.add_complaint"),
    "follow_logged_complaints": _without_queue("requests.view_complaint_status"),
    "read_all_breaches": may_read_all_breaches,
    "report_breaches": _perm("requests.report_breach"),
    "report_breaches_without_queue": _without_queue("requests.report_breach"),
    "assess_breaches": may_assess_breaches,
    "read_message_templates": _perm("requests.view_messagetemplate"),
    "edit_message_templates": may_edit_message_templates,
}
