"""The DPO's wording of the messages sent to requesters and complainants (each edit a new
version, the earlier ones in its history); auditors read them."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal.access import requires
from privacy_portal.forms import add_service_errors

from ..forms.messages import TemplateForm
from ..models import MessageTemplate
from ..services import messages as svc


@requires("requests.view_messagetemplate")
@require_GET
def template_list(request):
    return render(request, "requests/message_templates.html", {"templates": svc.templates_all()})


@requires("requests.change_messagetemplate")
@require_http_methods(["GET", "POST"])
def template_edit(request, key: str):
    if key not in MessageTemplate.Key.values:
        raise Http404
    template = svc.template_for(key)
    form = TemplateForm(request.POST or None, initial={"subject": template.subject, "body": template.body})
    if request.method == "POST" and form.is_valid():
        try:
            updated = svc.message_template_update(actor=request.user, key=key, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            flash.success(request, f"Saved as version {updated.version}. Messages sent from now on use it.")
            return redirect("requests:message_templates")
    context = {
        "template": template,
        "form": form,
        "placeholders": svc.PLACEHOLDERS[key],
        "versions": template.history.select_related("history_user").order_by("-history_date")[:20],
    }
    return render(request, "requests/message_template_edit.html", context)
