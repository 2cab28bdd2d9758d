"""Session limits (idle, absolute, account end date) and friendly error pages."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connections, router
from django.template.response import TemplateResponse
from django.utils import timezone

security_log = logging.getLogger("portal.security")
log = logging.getLogger(__name__)

# How often the idle-timeout stamp is written (seconds): well under the 30-minute idle limit.
SESSION_STAMP_INTERVAL_SECONDS = 60

MSG_IDLE = (
    f"Your session ended after {settings.SESSION_IDLE_TIMEOUT // datetime.timedelta(minutes=1)} minutes without "
    "activity. Please sign in again."
)
MSG_ABSOLUTE = (
    f"Your session reached its {settings.SESSION_ABSOLUTE_TIMEOUT // datetime.timedelta(hours=1)}-hour limit. "
    "Please sign in again."
)
MSG_ACCOUNT_ENDED = "Your access to the portal has ended. Ask the IT administrator if this is wrong."


class SessionTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT idle or SESSION_ABSOLUTE_TIMEOUT in all
    (NIST SP 800-63B AAL2), and as soon as a time-limited account reaches its end date."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated and SESSION_KEY in request.session:
            # The session names a user the backend no longer accepts (switched off, or an
            # auditor past the engagement's end): end it and say why.
            security_log.info("session ended user_id=%s reason=account", request.session.get(SESSION_KEY))
            logout(request)
            messages.warning(request, MSG_ACCOUNT_ENDED)
            return redirect_to_login(request.get_full_path())
        if user.is_authenticated:
            reason = self._reason_to_end(request, user)
            if reason:
                security_log.info("session ended user_id=%s reason=%s", user.pk, reason)
                logout(request)
                messages.warning(request, {"idle": MSG_IDLE, "absolute": MSG_ABSOLUTE}.get(reason, MSG_ACCOUNT_ENDED))
                return redirect_to_login(request.get_full_path())
            # The stamp is written at most once a minute: writing it on every request saved the
            # session (an UPDATE) on every request. The idle limit may so end a session up to a
            # minute early, never late.
            now = timezone.now().timestamp()
            if now - request.session.get("last_seen", 0) >= SESSION_STAMP_INTERVAL_SECONDS:
                request.session["last_seen"] = now
        return self.get_response(request)

    @staticmethod
    def _reason_to_end(request, user) -> str | None:
        now = timezone.now().timestamp()
        started = request.session.get("auth_started", now)
        last_seen = request.session.get("last_seen", now)
        if getattr(user, "access_has_ended", False) or not user.is_active:
            return "account"
        if now - last_seen > settings.SESSION_IDLE_TIMEOUT.total_seconds():
            return "idle"
        if now - started > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds():
            return "absolute"
        return None


# Every page a member of staff sees may show personal data (a customer, a case, a history, a
# CSV): no browser, proxy or shared cache may keep a copy (ICO security guidance; OWASP
# session management: sensitive pages "Cache-Control: no-store").
NO_STORE = "private, no-store"


class NoStoreMiddleware:
    """Marks every response to a signed-in member of staff `Cache-Control: private, no-store`,
    pages and downloads alike, so no view can forget it. Static files never reach it
    (WhiteNoise answers them first); the public pages that name no one are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = NO_STORE
            response.headers.pop("Expires", None)
        return response


class ErrorPageMiddleware:
    """Gives a bare 405 (from require_POST and friends) the portal's own page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
            page = TemplateResponse(request, "405.html", {"allowed": response.get("Allow", "")}, status=405).render()
            page["Allow"] = response.get("Allow", "")
            return page
        return response


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, except when the session cannot be saved after the view.

    Django answers 400 "the request's session was deleted before the request completed"
    (SessionInterrupted) whenever that save fails, because its database backend reports every
    database error on the session's UPDATE as "the session is gone". But by then the view's
    work has committed (services commit their own transactions; ATOMIC_REQUESTS is off), so the
    page would tell the user that something failed which did not, and invite them to do it
    again. Instead, when the save fails:

    - the connection dropped under us (a database restart or failover, a proxy closing it):
      reconnect and save again, and the user sees the normal response;
    - the session really was deleted meanwhile (signed out in another tab, or ended by the IT
      administrator): it is not brought back (what SessionInterrupted protects); the response
      stands, the cookie is dropped, and the next page asks to sign in;
    - the database is still unreachable: the response stands with the session unsaved (its
      last-seen stamp is all that is lost), and a warning is logged.
    """

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except SessionInterrupted:
            pass
        conn = connections[router.db_for_write(Session)]
        if not conn.in_atomic_block and not conn.is_usable():
            conn.close()  # the next query opens a fresh connection
        try:
            exists = request.session.exists(request.session.session_key)
        except DatabaseError:
            log.warning("session not saved after the view: database unreachable (status %s)", response.status_code)
            return response
        if not exists:
            security_log.info("session deleted during a request; not recreated (status %s)", response.status_code)
            response.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
            return response
        try:
            return super().process_response(request, response)
        except SessionInterrupted:
            log.warning("session not saved after the view, twice (status %s)", response.status_code)
            return response
