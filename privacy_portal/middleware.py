"""Session limits (idle, absolute, account end date) and friendly error pages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.template.response import TemplateResponse
from django.utils import timezone

security_log = logging.getLogger("portal.security")

MSG_IDLE = "Your session ended after 30 minutes without activity. Please sign in again."
MSG_ABSOLUTE = "Your session reached its 12-hour limit. Please sign in again."
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
            request.session["last_seen"] = timezone.now().timestamp()
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
