"""The one access mechanism: deny by default.

Every view declares its rule with exactly one of these decorators:

- ``@requires("app.perm", ...)``: a signed-in (and, when MFA is required, verified)
  member of staff holding every listed model permission; others get 403.
- ``@signed_in_only``: pages in the sign-in flow itself (second-factor steps, logout),
  which need a session but not yet a verified one.
- ``@public``: login-free pages (sign-in, unsubscribe links, signed webhooks).

Protected objects are fetched with :func:`get_for_user_or_404`, which answers 404 to
anyone who may not know the object exists. ``tests/privacy_portal/test_url_walk.py``
walks the URLconf and fails on any view without a declared rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect

security_log = logging.getLogger("portal.security")


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public", "signed_in", "permission"
    permissions: tuple[str, ...] = ()


def _mark(view: Callable, rule: AccessRule) -> Callable:
    view.access_rule = rule
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

    `object_perm` declares a permission checked on the object instead of the model (a
    handler's grant on its own case's customer): the view must then fetch the object with
    get_for_user_or_404(..., object_perm, ...), which answers 404 to everyone else.
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
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def get_for_user_or_404(user, queryset: QuerySet | type[Model], perm: str, **lookup) -> Model:
    """Fetch one protected object, or 404 if it does not exist *or* the user may not see it.

    Allowed: the model-level permission `perm`, or the same permission granted on this
    object through django-guardian (a handler's assigned case).
    """
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    try:
        obj = qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError):  # ValueError: an id from a query string that is not a number
        raise Http404 from None
    if user.has_perm(perm) or user.has_perm(perm, obj):
        return obj
    security_log.warning("object hidden user_id=%s model=%s id=%s", user.pk, qs.model._meta.label, obj.pk)
    raise Http404
