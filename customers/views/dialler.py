"""The DPO's dialler tokens page: the tokens the pre-dial check accepts, listed (never their
secret), issued (the secret shown once, on the answer to the POST) and revoked."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from privacy_portal.access import requires
from privacy_portal.forms import add_service_errors
from privacy_portal.views.helpers import step_done

from ..access import dialler_token_for
from ..forms import DiallerTokenForm
from ..selectors.dialler import dialler_tokens
from ..services import dialler

MSG_REVOKED = "Token {name} revoked: the dialler using it is refused from now on."


@requires("customers.add_diallertoken", "customers.view_diallertoken")
@require_http_methods(["GET", "POST"])
def dialler_token_list(request):
    """The tokens, newest first; a POST issues one and shows its secret once, on this answer only
    (never stored, never put in a redirect or the session)."""
    form = DiallerTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = dialler.dialler_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = DiallerTokenForm()
    context = {"form": form, "issued": issued, "tokens": dialler_tokens()}
    return render(request, "customers/dialler_tokens.html", context)


@requires("customers.change_diallertoken")
@require_POST
def dialler_token_revoke(request, pk: int):
    record = dialler_token_for(request.user, pk)
    revoke = partial(dialler.dialler_token_revoke, actor=request.user, pk=record.pk)
    step_done(request, revoke, message=MSG_REVOKED.format(name=record.name))
    return redirect("customers:dialler_tokens")
