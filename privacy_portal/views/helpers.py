"""What the pages of every app share: the POST half of a create or edit page, and of a button that
runs one step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect

from privacy_portal.forms import add_service_errors


def form_saved(
    request, form: forms.Form, save: Callable[..., Any], *, message: Callable[[Any], str], to: Any = None
) -> HttpResponse | None:
    """A create or edit page's POST: a valid form goes to its service, `save(actor=request.user,
    **form.cleaned_data)` (what else the service takes bound with functools.partial); what the
    service saved is announced (`message(saved)`) and opened (a redirect to it, or to `to`: an
    object, a URL name or a URL, where the page goes back to something else). None on a GET, on
    an invalid form, or when the service refuses (its errors then stand on the form, under the
    fields they name): the page is shown again."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None
    messages.success(request, message(saved))
    return redirect(saved if to is None else to)


def step_done(request, step: Callable[[], Any], *, message: str) -> None:
    """A button's POST that runs one service step and goes back to a page: the step's refusal is
    shown as an error message (its messages, joined), its success as `message`. The caller
    redirects, to wherever the button was."""
    try:
        step()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, message)
