"""Deletion at the stores outside the portal: the DPO's list of deletion tasks, confirming one
with the provider's confirmation attached, confirming many from the provider's confirmation file
(CSV), and the provider's own token-authenticated endpoint."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal import paging
from privacy_portal.access import public, requires

from .. import access
from ..forms import ConfirmationFileForm, ConfirmForm
from ..models import DeletionTask, Recipient
from ..services import external_deletion as svc
from ..services.external_deletion import DELETION_CONFIRMATION_HEADER
from ..services.imports import IMPORT_TIME_ZONE, ImportRejected

# Open tasks shown a page at a time, soonest due first (privacy_portal.paging, keyset on due_on
# then id, with the deletiontask_open_due index): the page reads and renders the same at 10 and at
# 10,000 open tasks. A cursor that cannot be read starts from the first page.
OPEN_PAGE_SIZE = 50
MAX_BODY_BYTES = 1024 * 1024


@requires("customers.view_deletiontask")
@require_GET
def deletion_tasks(request):
    today = timezone.localdate()
    open_tasks, next_cursor = paging.keyset_page(
        svc.open_deletion_tasks(), order=("due_on", "pk"), cursor=request.GET.get("after", ""), limit=OPEN_PAGE_SIZE
    )
    confirmed = list(
        DeletionTask.objects.filter(confirmed_at__isnull=False)
        .select_related("recipient", "confirmed_by")
        .order_by("-confirmed_at")[:50]
    )
    # Figures for the page set on each row (not fields, so mypy cannot know them).
    for task in open_tasks:
        confirm_url = request.build_absolute_uri(reverse("public:deletion_confirm", args=[task.pk]))
        token = svc.deletion_task_token(task) if access.may_change_deletion_tasks(request.user) else ""
        task.overdue = task.due_on < today  # type: ignore[attr-defined]
        task.confirm_url = confirm_url  # type: ignore[attr-defined]
        task.token = token  # type: ignore[attr-defined]
    stores = list(Recipient.objects.filter(holds_call_data=True).order_by("name").values("pk", "name"))
    context = {
        "open_tasks": open_tasks,
        "confirmed": confirmed,
        "form": ConfirmForm(),
        "today": today,
        "stores": stores,
        "next_cursor": next_cursor,
        "open_page_size": OPEN_PAGE_SIZE,
        "paged": bool(request.GET.get("after")),
    }
    return render(request, "customers/deletion_tasks.html", context)


@requires("customers.change_deletiontask")
@require_POST
def deletion_task_confirm(request, pk: int):
    task = get_object_or_404(DeletionTask, pk=pk)
    form = ConfirmForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            svc.deletion_confirm_by_person(
                actor=request.user, task=task, upload=form.cleaned_data["file"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            messages.error(request, f"Deletion task {task.pk}: " + " ".join(exc.messages))
        else:
            messages.success(request, f"Deletion task {task.pk} confirmed.")
    else:
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(map(str, errs))}" for name, errs in form.errors.items()
        )
        messages.error(request, f"Deletion task {task.pk} not confirmed. {errors}")
    return redirect("customers:deletion_tasks")


# csrf_exempt: the provider's system posts from its own servers, with no browser session to
# forge a request on; it is authenticated by the task's own token (Authorization: Bearer).
@public
@csrf_exempt
@require_POST
def deletion_confirm(request, pk: int):
    """The provider's system confirms a deletion: JSON {"deleted": [references]} with the task's
    token. 401 without a valid token, 400 if a reference is missing, 409 if already confirmed."""
    task = DeletionTask.objects.filter(pk=pk).first()
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if task is None or not svc.deletion_task_token_valid(task, token):
        return JsonResponse({"error": "Unknown task or invalid token."}, status=401)
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "Body too large."}, status=413)
    try:
        body = json.loads(request.body or b"{}")
        deleted = body["deleted"]
        if not isinstance(deleted, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'Expected JSON: {"deleted": [references]}.'}, status=400)
    try:
        svc.deletion_confirm_by_provider(task=task, deleted=[str(ref) for ref in deleted])
    except ValidationError as exc:
        status = 409 if svc.ERR_ALREADY_CONFIRMED in exc.messages else 400
        return JsonResponse({"error": " ".join(exc.messages)}, status=status)
    return JsonResponse({"confirmed": task.pk})


MAX_LISTED_ERRORS = 1000


@requires("customers.change_deletiontask")
@require_http_methods(["GET", "POST"])
def deletion_confirmation_file(request, recipient_pk: int | None = None):
    """One store's confirmation file: the recording store's, or one recipient's."""
    recipient = get_object_or_404(Recipient, pk=recipient_pk, holds_call_data=True) if recipient_pk else None
    store = DeletionTask.Store.RECIPIENT if recipient else DeletionTask.Store.RECORDING_STORE
    store_name = recipient.name if recipient else DeletionTask.Store.RECORDING_STORE.label
    rejected = None
    form = ConfirmationFileForm(request.POST, request.FILES) if request.method == "POST" else ConfirmationFileForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = svc.deletion_confirm_by_csv(
                actor=request.user, file=upload, name=upload.name, store=store, recipient=recipient
            )
        except ImportRejected as exc:
            rejected = exc
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{result.rows:,} reference(s) confirmed. Tasks confirmed: {len(result.tasks_confirmed)}; "
                f"still waiting for other references: {len(result.tasks_still_open)}.",
            )
            return redirect("customers:deletion_tasks")
    context = {
        "form": form,
        "store_name": store_name,
        "rejected": rejected,
        "errors": rejected.errors[:MAX_LISTED_ERRORS] if rejected else [],
        "more_errors": max(len(rejected.errors) - MAX_LISTED_ERRORS, 0) if rejected else 0,
        "header": ",".join(DELETION_CONFIRMATION_HEADER),
        "time_zone": str(IMPORT_TIME_ZONE),
    }
    return render(request, "customers/deletion_confirmation_file.html", context)
