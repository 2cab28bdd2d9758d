"""The one access mechanism: deny by default.

Every view declares its rule with exactly one of these decorators:

- ``@requires("app.perm", ...)``: a signed-in (and, when MFA is required, verified)
  member of staff holding every listed model permission; others get 403.
- ``@signed_in_only``: pages in the sign-in flow itself (second-factor steps, logout),
  which need a session but not yet a verified one.
- ``@public``: login-free pages (sign-in, unsubscribe links, signed webhooks).

Protected objects are fetched with :func:`get_for_user_or_404`, which answers 404 to
anyone who may not know the object exists; each app's ``access.py`` (customers/access.py,
requests/access.py) wraps it in one fetch helper per model and access level
(``customer_for``, ``case_for``, ``complaint_for``, ``breach_for``) and holds every predicate
(``may_work_case`` ...) that views, services and page contexts ask. ``tests/privacy_portal/test_url_walk.py``
walks the URLconf and fails on any view without a declared rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django_otp import user_has_device

from .models import User

security_log = logging.getLogger("portal.security")

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public", "signed_in", "permission"
    permissions: tuple[str, ...] = ()


def _mark(view: Callable, rule: AccessRule) -> Callable:
    view.access_rule = rule  # type: ignore[attr-defined]  # read back by the URL walk (urlwalk.py)
    return view


def public(view: Callable) -> Callable:
    """Open to anyone, signed in or not. Use only for pages that show no personal data."""
    return _mark(view, AccessRule("public"))


def mfa_satisfied(request: HttpRequest) -> bool:
    if not settings.PORTAL_REQUIRE_MFA:
        return True
    return bool(getattr(request.user, "is_verified", lambda: False)())


def signed_in_only(view: Callable) -> Callable:
    """Needs a signed-in session; second factor not yet required (the MFA pages themselves)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _mark(wrapped, AccessRule("signed_in"))


def requires(*permissions: str, object_perm: str = "") -> Callable[[Callable], Callable]:
    """Declare the model permissions a view needs. With none listed, `use_portal` is required.

    `object_perm` declares the permission the view's fetch checks on the model or on the object
    (a handler's grant on its own case's customer; for a breach, a grant on it or on the
    requests and complaints linked to it, requests.access.may_open_breach): the view must then fetch the
    object with the app's access helper that checks it (marked with `fetches`), which answers
    404 to everyone else. What the view then asks of the object it has (work it, sign it off)
    is the access helper's `need`, refused with 403. tests/test_view_rules.py checks that every
    permission a view's fetch helpers check is declared, and every object_perm is one they check.
    """
    perms = permissions or ("privacy_portal.use_portal",)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not mfa_satisfied(request):
                return redirect("mfa_verify" if _has_device(user) else "mfa_enrol")
            if not user.has_perms(perms):
                security_log.warning(
                    "permission denied user_id=%s view=%s needs=%s", user.pk, view.__name__, ",".join(perms)
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        kind = "object" if object_perm else "permission"
        return _mark(wrapped, AccessRule(kind, (*perms, object_perm) if object_perm else tuple(perms)))

    return decorator


def _has_device(user) -> bool:
    return user_has_device(user, confirmed=True)


F = TypeVar("F", bound=Callable)

# A fetch helper whose permission is the `need` it is asked for (customers.access.customer_for).
CHECKS_NEED = "need"


def fetches(perm: str | None) -> Callable[[F], F]:
    """Mark an access module's fetch helper with the permission it checks on the model or on the
    object (CHECKS_NEED: the `need` it is given; None: none of its own, only a predicate on an
    object already fetched). A view that calls it declares that permission in its @requires,
    as `object_perm` or as a model permission (tests/test_view_rules.py holds them equal)."""

    def mark(helper: F) -> F:
        helper.fetch_perm = perm  # type: ignore[attr-defined]  # read back by tests/test_view_rules.py
        return helper

    return mark


def may_see(user, perm: str, obj) -> bool:
    """Whether `user` may know `obj` exists: the model-level permission `perm`, or `perm` granted
    on this object (django-guardian). What get_for_user_or_404 lets through."""
    return user.has_perm(perm) or user.has_perm(perm, obj)


def get_for_user_or_404(user, queryset: QuerySet[M] | type[M], perm: str, **lookup: Any) -> M:
    """Fetch one protected object, or 404 if it does not exist *or* the user may not see it.

    Allowed: the model-level permission `perm`, or the same permission granted on this
    object through django-guardian (a handler's assigned case). The apps' access modules
    (customers/access.py, requests/access.py) wrap it in one fetch helper per model.
    """
    qs: QuerySet[M] = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    try:
        obj = qs.get(**lookup)
    except (ObjectDoesNotExist, ValueError):  # ValueError: an id from a query string that is not a number
        raise Http404 from None
    if may_see(user, perm, obj):
        return obj
    security_log.warning("object hidden user_id=%s model=%s id=%s", user.pk, qs.model._meta.label, obj.pk)
    raise Http404


def may_read_promise_report(user) -> bool:
    return user.has_perm("privacy_portal.view_promise_report")


def may_summarise_promises(user) -> bool:
    return user.has_perm("privacy_portal.summarise_promises")


def may_break_glass(user) -> bool:
    """Open a customer outside one's cases (a handler), with a reason, flagged, the DPO told."""
    return user.has_perm("privacy_portal.break_glass")


def may_review_break_glass(user) -> bool:
    return user.has_perm("privacy_portal.review_break_glass")


def may_approve_staff(user) -> bool:
    """The DPO: the second pair of eyes on an account that sees customer data."""
    return user.has_perm("privacy_portal.approve_staff")


def may_see_job_runs(user) -> bool:
    """The nightly jobs' latest runs, on the home page: the DPO and auditors."""
    return user.role in (User.Role.DPO, User.Role.AUDITOR)


def home_opens_on_promise_report(user) -> bool:
    """An auditor's home page is the promise report (the current quarter unless asked)."""
    return user.role == User.Role.AUDITOR and may_read_promise_report(user)


def may_see_dpo_dashboard(user) -> bool:
    """The DPO's dashboard: the quarter's broken promises, the figures of requests, complaints,
    breaches and disclosures, deletions outside the portal, and the flagged reads to review."""
    return user.role == User.Role.DPO


def access_must_end(role: str) -> bool:
    """Whether an account of `role` needs the date its access ends (an auditor's engagement)."""
    return role == User.Role.AUDITOR


def _perm(name: str) -> Callable:
    return lambda user: user.has_perm(name)


# What a page may offer a user, whatever the object: the portal's own, beside each app's
# (customers.access.ABILITIES, requests.access.ABILITIES). Templates read them as
# `may.<name>` (context_processors.abilities), never as `perms.`.
ABILITIES = {
    "break_glass": may_break_glass,
    "review_break_glass": may_review_break_glass,
    "read_access_log": _perm("privacy_portal.view_accessevent"),
    "read_promise_report": may_read_promise_report,
    "summarise_promises": may_summarise_promises,
    "search_history": _perm("privacy_portal.search_history"),
    "approve_staff": may_approve_staff,
    "manage_staff": _perm("privacy_portal.manage_staff"),
    "read_notices": _perm("privacy_portal.view_privacynoticeversion"),
    "archive_notices": _perm("privacy_portal.add_privacynoticeversion"),
    "add_activities": _perm("privacy_portal.add_processingactivity"),
    "edit_activities": _perm("privacy_portal.change_processingactivity"),
}
