"""The DPO's wording of the messages sent to requesters and complainants (each edit a new
version, the earlier ones in its history); auditors read them."""

from __future__ import annotations

from functools import partial

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal.access import requires
from privacy_portal.views.helpers import form_saved

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
    save = partial(svc.message_template_update, key=key)
    saved = form_saved(
        request, form, save, to="requests:message_templates",
        message=lambda updated: f"Saved as version {updated.version}. Messages sent from now on use it.",
    )  # fmt: skip
    if saved:
        return saved
    context = {
        "template": template,
        "form": form,
        "placeholders": svc.PLACEHOLDERS[key],
        "versions": template.history.select_related("history_user").order_by("-history_date")[:20],
    }
    return render(request, "requests/message_template_edit.html", context)
