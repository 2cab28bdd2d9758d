"""Sign-in flow, role home pages, staff administration and error pages."""

from __future__ import annotations

import logging
from base64 import b32encode
from functools import partial

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.access import may_open_every_customer
from customers.forms import SearchForm
from customers.selectors.customers import missed_optout_late_count, missed_optout_open_count
from customers.selectors.disclosures import disclosure_chart
from customers.services.external_deletion import open_deletion_tasks, overdue_deletion_tasks
from privacy_portal import bounds
from privacy_portal.access import (
    home_opens_on_promise_report,
    may_see_dpo_dashboard,
    may_see_job_runs,
    mfa_satisfied,
    public,
    requires,
    signed_in_only,
)
from privacy_portal.forms import (
    SignInForm,
    StaffCreateForm,
    StaffSetPasswordForm,
    StaffUpdateForm,
    TokenForm,
    add_service_errors,
)
from privacy_portal.models import AccessEvent, JobRun, User
from privacy_portal.promises.summary import quarter_summary
from privacy_portal.services import staff as services
from privacy_portal.views.helpers import form_saved, step_done
from privacy_portal.views.promises import report_context
from requests.access import breach_tasks_to_mark, may_own_breach_tasks
from requests.selectors.breaches import access_patterns, breach_figures, open_breach_tasks_of
from requests.selectors.cases import dashboard_figures
from requests.selectors.complaints import complaint_dashboard

security_log = logging.getLogger("portal.security")

MSG_THROTTLED = "Too many wrong codes. Wait a few seconds, then enter the newest code."
MSG_BAD_TOKEN = "That code is not right. Check the time on your phone and try the newest code."  # noqa: S105 (a message, not a secret)
MSG_ACCOUNT_LINK_NOT_SENT = (
    "Account {username} created, but the email with its link to set a password could not be sent (the mail "
    "server did not answer). Use “Send password link” in the staff list once mail works."
)
MSG_LINK_NOT_SENT = (
    "The link could not be emailed to {username}: the mail server did not answer. Nothing was sent; try again later."
)


def _next_url(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@public
@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.user.is_authenticated and mfa_satisfied(request):
        return redirect("home")
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            login(request, form.get_user())
            return redirect(_next_url(request))
        return render(request, "registration/login.html", {"form": form, "next": _next_url(request, "")}, status=401)
    return render(request, "registration/login.html", {"form": form, "next": _next_url(request, "")})


@signed_in_only
@require_POST
def sign_out(request):
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect("login")


@signed_in_only
@require_http_methods(["GET", "POST"])
def mfa_verify(request):
    devices = list(devices_for_user(request.user, confirmed=True))
    if not devices:
        return redirect("mfa_enrol")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["otp_token"]):
                otp_login(request, device)
                return redirect(_next_url(request))
        form.add_error("otp_token", _token_error(devices))
    status = 401 if request.method == "POST" else 200
    return render(request, "registration/mfa_verify.html", {"form": form}, status=status)


@signed_in_only
@require_http_methods(["GET", "POST"])
def mfa_enrol(request):
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("mfa_verify")
    device, _ = TOTPDevice.objects.get_or_create(user=request.user, confirmed=False, defaults={"name": "Authenticator"})
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            device.confirmed = True
            device.save()
            otp_login(request, device)
            messages.success(request, "Your authenticator is set up. You will need a code at each sign-in.")
            return redirect("home")
        form.add_error("otp_token", _token_error([device]))
    qr_svg = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    context = {"form": form, "qr_svg": qr_svg, "secret": b32encode(device.bin_key).decode()}
    return render(request, "registration/mfa_enrol.html", context, status=401 if request.method == "POST" else 200)


@requires("privacy_portal.use_portal")
@require_GET
def home(request):
    role = request.user.role
    context: dict = {}  # each role's figures, of as many types
    if may_see_job_runs(request.user):
        context["job_runs"] = JobRun.objects.order_by("-started_at")[:10]
    if home_opens_on_promise_report(request.user):
        # The auditor's home opens on the promise report (the current quarter unless asked).
        context.update(report_context(request))
    if may_see_dpo_dashboard(request.user):
        # The current quarter's broken promises, first on the dashboard: the hourly job's summary
        # (a report takes seconds at scale), with the time it was made.
        context["promises"] = quarter_summary()

        context["disclosure_chart"] = disclosure_chart()

        context["case_figures"] = dashboard_figures()

        context["complaint_figures"] = complaint_dashboard()
        context["missed_optouts"] = {
            "open": missed_optout_open_count(),
            "late": missed_optout_late_count(since=context["case_figures"].since),
        }

        context["breach_figures"] = breach_figures()
        context["access_patterns"] = access_patterns()

        # Deletions asked of the stores outside the portal, not yet confirmed (overdue first).
        context["deletion_open"] = open_deletion_tasks().count()
        context["deletion_overdue"] = list(overdue_deletion_tasks().order_by("due_on", "pk")[:10])
        # Break-glass openings and other flagged reads, newest first, for the DPO to review.
        context["flagged_access"] = (
            AccessEvent.objects.filter(flagged=True).select_related("user", "free_text", "review").order_by("-at")[:10]
        )
    if may_own_breach_tasks(request.user):
        # The breach tasks the DPO gave this member of staff, still open.
        context["breach_tasks"] = breach_tasks_to_mark(request.user, open_breach_tasks_of(request.user)[:20])
        context["today"] = timezone.localdate()
    if may_open_every_customer(request.user):
        context["search_form"] = SearchForm()
    return render(request, [f"privacy_portal/home_{role}.html", "privacy_portal/home.html"], context)


@requires("privacy_portal.manage_staff", "privacy_portal.view_user")
def staff_list(request):
    staff = list(User.objects.order_by("username").prefetch_related("totpdevice_set"))
    locked = services.staff_locked_out(member.username for member in staff)
    return render(request, "privacy_portal/staff_list.html", {"staff": staff, "locked": locked})


@requires("privacy_portal.manage_staff", "privacy_portal.add_user")
@require_http_methods(["GET", "POST"])
def staff_create(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            waits = " It needs a DPO's approval before it can sign in." if user.awaiting_approval else ""
            if getattr(user, "password_link_sent", True):
                messages.success(
                    request, f"Account {user.username} created; a link to set a password was emailed.{waits}"
                )
            else:
                messages.warning(request, MSG_ACCOUNT_LINK_NOT_SENT.format(username=user.username) + waits)
            return redirect("staff_list")
    return render(request, "privacy_portal/staff_form.html", {"form": form, "title": "New staff account"})


@requires("privacy_portal.manage_staff", "privacy_portal.change_user")
@require_http_methods(["GET", "POST"])
def staff_edit(request, pk: int):
    member = get_object_or_404(User, pk=pk)
    initial = {"role": member.role, "is_active": member.is_active, "access_ends_on": member.access_ends_on}
    form = StaffUpdateForm(request.POST or None, initial=initial)
    save = partial(services.staff_update, user=member)
    saved = form_saved(request, form, save, message=lambda _: f"Account {member.username} updated.", to="staff_list")
    if saved:
        return saved
    context = {"form": form, "member": member, "title": f"Edit {member.username}"}
    return render(request, "privacy_portal/staff_form.html", context)


@requires("privacy_portal.manage_staff", "privacy_portal.change_user")
@require_POST
def staff_reset_mfa(request, pk: int):
    member = get_object_or_404(User, pk=pk)
    services.staff_reset_second_factor(actor=request.user, user=member)
    messages.success(request, f"{member.username} will set up a new authenticator at next sign-in.")
    return redirect("staff_list")


@requires("privacy_portal.manage_staff", "privacy_portal.change_user")
@require_POST
def staff_unlock(request, pk: int):
    member = get_object_or_404(User, pk=pk)
    unlock = partial(services.staff_unlock, actor=request.user, user=member)
    step_done(request, unlock, message=f"{member.username} is unlocked and can sign in again.")
    return redirect("staff_list")


@requires("privacy_portal.manage_staff", "privacy_portal.change_user")
@require_POST
def staff_resend_link(request, pk: int):
    member = get_object_or_404(User, pk=pk)
    if services.staff_send_password_link(user=member):
        messages.success(request, f"A new link to set a password was emailed to {member.username}.")
    else:
        messages.error(request, MSG_LINK_NOT_SENT.format(username=member.username))
    return redirect("staff_list")


@requires("privacy_portal.approve_staff")
@require_http_methods(["GET", "POST"])
def staff_approvals(request):
    """The DPO's four-eyes check on accounts that will see customer data."""
    if request.method == "POST":
        member = get_object_or_404(User, pk=bounds.parse_id(request.POST.get("user")))
        try:
            services.staff_approve(actor=request.user, user=member)
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(request, f"{member.username} approved: they can sign in once they have set a password.")
        return redirect("staff_approvals")
    waiting = [u for u in User.objects.filter(role__in=User.DATA_ROLES, approved_at__isnull=True).order_by("username")]
    return render(request, "privacy_portal/staff_approvals.html", {"waiting": waiting})


@public
@require_http_methods(["GET", "POST"])
def set_password(request, uidb64: str, token: str):
    """The one-time link a new member of staff receives: the only way a password is chosen."""
    try:
        member = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        member = None
    if member is None or not default_token_generator.check_token(member, token):
        return render(request, "registration/set_password_invalid.html", status=400)
    form = StaffSetPasswordForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.staff_password_set(user=member, password=form.cleaned_data["new_password1"])
        messages.success(request, "Your password is set. Sign in with it.")
        return redirect("login")
    return render(request, "registration/set_password.html", {"form": form, "member": member})


def _token_error(devices) -> str:
    # django-otp throttles a device after a wrong code (1 s, doubling); say so instead of "wrong".
    throttled = any(not d.verify_is_allowed()[0] for d in devices if hasattr(d, "verify_is_allowed"))
    return MSG_THROTTLED if throttled else MSG_BAD_TOKEN


def csrf_failure(request, reason: str = ""):
    # A forged or stale form: logged (who, where), never the form's content.
    security_log.warning("csrf refused user_id=%s path=%s", getattr(request.user, "pk", None), request.path)
    return render(request, "403_csrf.html", status=403)


def permission_denied(request, exception=None):
    """Every 403 (a missing permission, a reader trying to change something) is logged."""
    security_log.warning(
        "forbidden user_id=%s method=%s path=%s", getattr(request.user, "pk", None), request.method, request.path
    )
    return render(request, "403.html", status=403)
