"""Deletion at the stores outside the portal: the DPO's list of deletion tasks, confirming one
with the provider's confirmation attached, and the provider's own token-authenticated endpoint."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from privacy_portal.access import public, requires

from ..models import DeletionTask
from ..services import external_deletion as svc

LIST_LIMIT = 200
MAX_BODY_BYTES = 1024 * 1024


class ConfirmForm(forms.Form):
    file = forms.FileField(label="The provider's confirmation", help_text="PDF, JPEG or PNG, at most 10 MB.")
    note = forms.CharField(max_length=500, required=False, label="Note (e.g. the provider's ticket number)")


@requires("customers.view_deletiontask")
@require_GET
def deletion_tasks(request):
    today = timezone.localdate()
    open_tasks = list(svc.open_deletion_tasks().order_by("due_on", "pk")[:LIST_LIMIT])
    confirmed = list(
        DeletionTask.objects.filter(confirmed_at__isnull=False)
        .select_related("recipient", "confirmed_by")
        .order_by("-confirmed_at")[:50]
    )
    for task in open_tasks:
        task.overdue = task.due_on < today
        task.confirm_url = request.build_absolute_uri(reverse("public:deletion_confirm", args=[task.pk]))
        task.token = svc.deletion_task_token(task) if request.user.has_perm("customers.change_deletiontask") else ""
    context = {"open_tasks": open_tasks, "confirmed": confirmed, "form": ConfirmForm(), "today": today}
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
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())
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


urlpatterns = [
    path("deletion-tasks/", deletion_tasks, name="deletion_tasks"),
    path("deletion-tasks/<int:pk>/confirm/", deletion_task_confirm, name="deletion_task_confirm"),
]
public_urlpatterns = [
    path("deletion-tasks/<int:pk>/confirm/", deletion_confirm, name="deletion_confirm"),
]
