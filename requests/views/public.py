"""The public's own door (login-free, declared @public): the complaint form, the rights-request
form and its code, the new-link form, and the requester's secure page. They show no staff data
and no one else's: the secure page only the case its signed link names."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy_portal import legal
from privacy_portal.access import public
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import file_open

from .. import public_limits as limits
from ..forms import public as forms
from ..services import public as svc
from ..services import workflow


def _too_many(request, template: str, form, status: int = 429):
    return render(request, template, {"form": form, "refusal": limits.ERR_TOO_MANY}, status=status)


@public
@require_GET
def index(request):
    return render(request, "public/index.html")


@public
@never_cache
@require_http_methods(["GET", "POST"])
def complaint(request):
    """The electronic complaint form (DPA 2018 s164A(2))."""
    form = forms.PublicComplaintForm(request.POST or None)
    template = "public/complaint.html"
    if request.method == "POST":
        if limits.address_refused(request, form="complaint"):
            return _too_many(request, template, form)
        if form.is_valid():
            if limits.honeypot_refused(form, form="complaint"):
                return _too_many(request, template, form, status=400)
            data = form.cleaned_data
            if limits.email_refused(request, form="complaint", email=data["email"]):
                return _too_many(request, template, form)
            try:
                filed = svc.complaint_file_public(
                    name=data["name"], email=data["email"], phone=data["phone"], address=data["address"],
                    on_behalf=data["who"] == "other", on_behalf_of=data["on_behalf_of"],
                    relationship=data["relationship"], category=data["category"], description=data["description"],
                    remedy=data["remedy"], request_reference=data["request_reference"],
                )  # fmt: skip
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return render(request, "public/complaint_received.html", {"complaint": filed})
    return render(request, template, {"form": form})


@public
@never_cache
@require_http_methods(["GET", "POST"])
def rights_request(request):
    """The online rights-request form; the request exists once its email is verified."""
    form = forms.PublicRequestForm(request.POST or None)
    template = "public/request.html"
    if request.method == "POST":
        if limits.address_refused(request, form="request"):
            return _too_many(request, template, form)
        if form.is_valid():
            if limits.honeypot_refused(form, form="request"):
                return _too_many(request, template, form, status=400)
            data = form.cleaned_data
            if limits.email_refused(request, form="request", email=data["email"]):
                return _too_many(request, template, form)
            try:
                submission = svc.request_submit_public(
                    rights=data["rights"], email=data["email"], name=data["name"], phone=data["phone"],
                    postcode=data["postcode"], account_reference=data["account_reference"],
                    acting_for_other=data["who"] == "other", relationship=data["relationship"],
                    subject_name=data["subject_name"], description=data["description"],
                )  # fmt: skip
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("public_requests:verify", token=svc.submission_token(submission))
    return render(request, template, {"form": form})


ERR_NO_MORE_CODES = (
    "This request has had all the codes it can have: no more codes can be sent. Please make the request again."
)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request, token: str):
    """Enter the emailed code (or ask for a new one)."""
    submission = svc.submission_from_token(token)
    if submission is None:
        return render(request, "public/verify_gone.html", status=404)
    form = forms.CodeForm(request.POST or None)
    context = {"form": form, "email": submission.email, "minutes": legal.VERIFICATION_CODE_MINUTES}
    # The "Send me a new code" button sends new_code=1; any other value is not that button.
    if request.method == "POST" and request.POST.get("new_code") == "1":
        if limits.address_refused(request, form="code") or limits.email_refused(
            request, form="code", email=submission.email
        ):
            return render(request, "public/verify.html", {**context, "refusal": limits.ERR_TOO_MANY}, status=429)
        if not svc.code_send(submission=submission):
            return render(request, "public/verify.html", {**context, "refusal": ERR_NO_MORE_CODES}, status=429)
        return render(request, "public/verify.html", {**context, "form": forms.CodeForm(), "new_code_sent": True})
    if request.method == "POST" and form.is_valid():
        try:
            cases = svc.code_verify(submission=submission, code=form.cleaned_data["code"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return render(request, "public/request_received.html", {"cases": cases})
    return render(request, "public/verify.html", context)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def resend(request):
    """Ask for a new link to the secure page; the same answer whether or not the details match."""
    form = forms.ResendForm(request.POST or None)
    template = "public/resend.html"
    if request.method == "POST":
        if limits.address_refused(request, form="resend"):
            return _too_many(request, template, form)
        if form.is_valid():
            if limits.honeypot_refused(form, form="resend"):
                return _too_many(request, template, form, status=400)
            if limits.email_refused(request, form="resend", email=form.cleaned_data["email"]):
                return _too_many(request, template, form)
            svc.link_resend(reference=form.cleaned_data["reference"], email=form.cleaned_data["email"])
            return render(request, template, {"form": forms.ResendForm(), "sent": True})
    return render(request, template, {"form": form})


def _linked(request, token: str):
    """(case, None) for a good link, or (None, the page saying why not)."""
    try:
        return svc.case_from_link(token), None
    except svc.LinkError as exc:
        return None, render(request, "public/link_invalid.html", {"message": exc.message}, status=exc.status)


def _page(request, token: str, case, *, reply=None, upload=None, status: int = 200, error: str = ""):
    doc = svc.export_available(case)
    context = {
        "case": case,
        "token": token,
        "status_words": svc.status_words(case),
        "stops": case.stops.order_by("started_on"),
        "messages_list": svc.requester_messages(case),
        "reply_form": reply or forms.ReplyForm(auto_id="reply_%s"),
        "upload_form": upload or forms.IdentityForm(auto_id="upload_%s"),
        # What the page offers: the requester's steps the case's status allows now.
        "actions": workflow.requester_actions(case),
        "export": doc,
        "export_refusal": svc.export_refusal(doc) if doc else "",
        "downloads_left": legal.EXPORT_PUBLIC_DOWNLOADS - doc.public_downloads if doc else 0,
        "available_until": doc.uploaded_at + datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS) if doc else None,
        "error": error,
        "notice": request.GET.get("done", ""),
    }
    return render(request, "public/case.html", context, status=status)


def _page_error(form) -> str:
    """An error about no one field (the case closed meanwhile): shown at the top of the page,
    where it is seen even when the form itself is no longer shown."""
    return " ".join(form.non_field_errors())


@public
@never_cache
@require_GET
def case_page(request, token: str):
    """The requester's secure page: status in words, dates, messages, reply box, uploads."""
    case, refused = _linked(request, token)
    if refused:
        return refused
    svc.requester_access(request=request, case=case, action=AccessEvent.Action.REQUESTER_VIEW)
    return _page(request, token, case)


@public
@never_cache
@require_POST
def case_reply(request, token: str):
    case, refused = _linked(request, token)
    if refused:
        return refused
    form = forms.ReplyForm(request.POST, auto_id="reply_%s")
    if form.is_valid():
        try:
            svc.requester_reply(case=case, text=form.cleaned_data["text"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("public_requests:case", args=[token]) + "?done=sent")
    return _page(request, token, case, reply=form, status=400, error=_page_error(form))


@public
@never_cache
@require_POST
def case_upload(request, token: str):
    case, refused = _linked(request, token)
    if refused:
        return refused
    form = forms.IdentityForm(request.POST, request.FILES, auto_id="upload_%s")
    if form.is_valid():
        try:
            svc.requester_identity_upload(case=case, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("public_requests:case", args=[token]) + "?done=uploaded")
    return _page(request, token, case, upload=form, status=400, error=_page_error(form))


@public
@never_cache
@require_POST
def case_export(request, token: str):
    """Download the access export (a POST: a mail scanner following links spends no download)."""
    case, refused = _linked(request, token)
    if refused:
        return refused
    try:
        doc = svc.requester_export_download(case=case, request=request)
    except ValidationError as exc:
        return _page(request, token, case, status=410, error=exc.messages[0])
    handle = file_open(doc.path)
    if handle is None:
        return _page(request, token, case, status=410, error=svc.ERR_NO_EXPORT)
    response = FileResponse(
        handle,
        content_type=doc.content_type,
        as_attachment=True,
        filename=f"{case.reference}{Path(handle.name).suffix}",
    )
    response["Cache-Control"] = "no-store"
    return response
