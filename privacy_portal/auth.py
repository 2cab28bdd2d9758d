"""Authentication backends (Django's, plus the end date of time-limited accounts; guardian's, read
once per request) and the permissions a session keeps."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.contenttypes.models import ContentType
from guardian.backends import ObjectPermissionBackend, check_support
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from .roles import roles_fingerprint


class PortalModelBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        # An auditor's engagement has an end date; after it, sign-in is refused.
        if getattr(user, "access_has_ended", False):
            return False
        # Separation of duties: not before a DPO has approved an account that sees customer data.
        if getattr(user, "awaiting_approval", False):
            return False
        return super().user_can_authenticate(user)


# --- Permissions read once per request (object grants) and once a minute per session (roles) ---
#
# Read afresh, the user's model permissions cost every request two statements, and every object
# check (`user.has_perm(perm, customer)`) two more for a fresh guardian checker: 7 statements
# before a page did anything, 6 of the customer page's 19. Deny by default holds: the same grants
# are read, only fewer times.

# How long a session may reuse the model permissions it read. A change of role, of the account's
# state (switched off, approval, end date) or of the roles' permissions (a deploy) is seen at the
# next request whatever this says, because it changes the fingerprint; only a direct edit of a
# user's groups or permissions outside the staff pages waits for this long.
SESSION_PERMISSIONS_SECONDS = 60
SESSION_PERMISSIONS_KEY = "_portal_perms"

_request_object_perms: ContextVar[dict | None] = ContextVar("request_object_perms", default=None)


def _fingerprint(user) -> str:
    state = (user.pk, user.role, user.is_active, user.is_superuser, str(user.approved_at), str(user.access_ends_on))
    return f"{state}|{roles_fingerprint()}"


def load_session_permissions(request) -> None:
    """Give request.user its model permissions from the session when they are fresh; otherwise
    read them (as ModelBackend does) and keep them in the session for the next requests."""
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return
    now = time.time()
    fingerprint = _fingerprint(user)
    kept = request.session.get(SESSION_PERMISSIONS_KEY)
    if kept and kept.get("fp") == fingerprint and 0 <= now - kept.get("at", 0) < SESSION_PERMISSIONS_SECONDS:
        user._perm_cache = set(kept["perms"])  # ModelBackend.get_all_permissions reads this first
        return
    perms = PortalModelBackend().get_all_permissions(user)
    request.session[SESSION_PERMISSIONS_KEY] = {"fp": fingerprint, "at": now, "perms": sorted(perms)}


class PermissionCacheMiddleware:
    """Per request: object grants read once per object; model permissions from the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_object_perms.set({})
        try:
            load_session_permissions(request)
            return self.get_response(request)
        finally:
            _request_object_perms.reset(token)


def forget_object_permissions(**kwargs) -> None:
    """A grant given or taken during a request is seen by the rest of that request."""
    cache = _request_object_perms.get()
    if cache:
        cache.clear()


def granted_codenames(user, obj) -> set[str]:
    """The permission codenames granted on `obj` to `user`, directly or through a group: one statement."""
    ctype = ContentType.objects.get_for_model(obj)

    def on_obj(model: Any) -> dict:
        if model.objects.is_generic():
            return {"content_type": ctype, "object_pk": str(obj.pk)}
        return {"content_object": obj}

    # guardian's permission models, typed Any: their managers' is_generic() is guardian's own.
    user_model: Any = get_user_obj_perms_model(obj)
    group_model: Any = get_group_obj_perms_model(obj)
    direct = user_model.objects.filter(user=user, **on_obj(user_model)).values_list("permission__codename")
    via_groups = group_model.objects.filter(group__user=user, **on_obj(group_model)).values_list("permission__codename")
    return {codename for (codename,) in direct.union(via_groups)}


class PortalObjectPermissionBackend(ObjectPermissionBackend):
    """guardian's object permissions, each object's grants read once per request in one statement."""

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        cache = _request_object_perms.get()
        if cache is None or obj is None or getattr(user_obj, "is_superuser", False):
            return super().has_perm(user_obj, perm, obj)
        support, user_obj = check_support(user_obj, obj)
        if not support or not user_obj.is_active:
            return False
        app_label, _, codename = perm.rpartition(".")
        if app_label and app_label != obj._meta.app_label:
            return super().has_perm(user_obj, perm, obj)  # guardian's own check (and its error)
        key = (user_obj.pk, obj._meta.label, str(obj.pk))
        if key not in cache:
            cache[key] = granted_codenames(user_obj, obj)
        return codename in cache[key]
