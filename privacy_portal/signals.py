"""Sign-in bookkeeping: when a session started, and failed attempts logged without passwords."""

from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

security_log = logging.getLogger("portal.security")


def record_last_login(sender, user, **kwargs) -> None:
    """Django's update_last_login, minus the history row: last_login is not tracked, and a
    "changed" row per sign-in would bury the real changes auditors look for."""
    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving


@receiver(user_logged_in)
def _session_started(sender, request, user, **kwargs) -> None:
    now = timezone.now().timestamp()
    request.session["auth_started"] = now
    request.session["last_seen"] = now
    security_log.info("sign-in user_id=%s", user.pk)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django masks the password in `credentials`; we log only that it failed and for which username.
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    security_log.warning("sign-in failed username=%r ip=%s", credentials.get("username"), ip)
