"""Business rules for staff accounts (the IT administrator's work)."""

from __future__ import annotations

import datetime
import logging
import smtplib
from collections.abc import Iterable

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from axes.utils import reset as axes_reset
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy_portal import legal
from privacy_portal.access import access_must_end, may_approve_staff
from privacy_portal.audit import access_log_trim, chain_pending
from privacy_portal.mail import email_staff
from privacy_portal.models import JobRun, User
from privacy_portal.roles import group_name
from privacy_portal.tracked import save_tracked

ERR_AUDITOR_NEEDS_END = "An auditor account needs the end date of its engagement."
ERR_END_IN_PAST = "The end date cannot be in the past."
ERR_OWN_ROLE = "You cannot change your own role or switch off your own account."
ERR_USERNAME_TAKEN = "That username is already in use."
ERR_REASON_REQUIRED = "Give a reason for the change."
ERR_APPROVE_OWN = "You cannot approve your own account, nor one you set up."
ERR_NOTHING_TO_APPROVE = "This account is not waiting for approval."
ERR_APPROVER = "Only a DPO can approve accounts that see customer data."

log = logging.getLogger(__name__)
security_log = logging.getLogger("portal.security")


def _apply_role(user: User, role: str) -> None:
    user.groups.set([Group.objects.get(name=group_name(role))] if role else [])


def _check_end_date(role: str, access_ends_on: datetime.date | None) -> None:
    if access_must_end(role) and access_ends_on is None:
        raise ValidationError({"access_ends_on": ERR_AUDITOR_NEEDS_END})
    if access_ends_on is not None and access_ends_on < timezone.localdate():
        raise ValidationError({"access_ends_on": ERR_END_IN_PAST})


@transaction.atomic
def staff_create(
    *,
    actor: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    access_ends_on: datetime.date | None = None,
) -> User:
    """Create a staff account with one role. Nobody chooses its password but its holder, through
    a one-time link sent to their address; a role that sees customer data also waits for a
    DPO's approval (separation of duties: the IT administrator never holds a way in)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ERR_USERNAME_TAKEN})
    _check_end_date(role, access_ends_on)
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        access_ends_on=access_ends_on,
    )
    user.set_unusable_password()
    save_tracked(user, actor=actor, reason=f"Account created by staff #{actor.pk}")
    _apply_role(user, role)

    def send_link() -> None:
        # After commit, so no link goes out for an account that was rolled back. Whether it went
        # is kept on the instance for the page: with no mail server the account stands, and the
        # IT administrator is told to send it again (the staff list's "Send password link").
        user.password_link_sent = staff_send_password_link(user=user)  # type: ignore[attr-defined]  # for the page

    transaction.on_commit(send_link)
    return user


def password_link(user: User) -> str:
    """A one-time link (Django's password-reset token: single use, expires) to set a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("set_password", args=[uid, default_token_generator.make_token(user)])
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def staff_send_password_link(*, user: User) -> bool:
    """Email the one-time link to set a password. False, logged, if the mail server cannot be
    reached or refuses: the caller says so rather than failing a change that has committed."""
    try:
        email_staff(
            to=[user.email],
            subject="Privacy Portal: set your password",
            body="A Privacy Portal account has been set up for you. Choose your password here (the link works once):"
            f"\n\n{password_link(user)}\n\nIf you did not expect this, tell the IT team.",
            kind="password_link",
            user_id=user.pk,
        )
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("password link for user %s not sent: %s", user.pk, type(exc).__name__)
        return False
    return True


@transaction.atomic
def staff_approve(*, actor: User, user: User) -> User:
    """A DPO approves an account that sees customer data: never its own, nor one it set up."""
    if not may_approve_staff(actor):
        raise ValidationError(ERR_APPROVER)
    if not user.awaiting_approval:
        raise ValidationError(ERR_NOTHING_TO_APPROVE)
    set_up_by = {h.history_user_id for h in user.history.all()}
    if actor.pk == user.pk or actor.pk in set_up_by:
        raise ValidationError(ERR_APPROVE_OWN)
    user.approved_at = timezone.now()
    user.approved_by = actor
    save_tracked(user, actor=actor, reason="Approved by the DPO")
    return user


@transaction.atomic
def staff_update(
    *,
    actor: User,
    user: User,
    role: str,
    is_active: bool,
    access_ends_on: datetime.date | None,
    reason: str,
) -> User:
    """Change a staff member's role, end date or active flag, recording why."""
    if not reason.strip():
        raise ValidationError({"reason": ERR_REASON_REQUIRED})
    if user.pk == actor.pk and (role != user.role or not is_active):
        raise ValidationError(ERR_OWN_ROLE)
    if access_ends_on != user.access_ends_on or role != user.role:
        _check_end_date(role, access_ends_on)
    if role != user.role and role in User.DATA_ROLES:
        # A new way into customer data: a DPO approves it again.
        user.approved_at, user.approved_by = None, None
    user.role = role
    user.is_active = is_active
    user.access_ends_on = access_ends_on
    save_tracked(user, actor=actor, reason=reason.strip())
    _apply_role(user, role)
    return user


MFA_RESET_REASON = "Second factor reset by the IT administrator ({devices} authenticator device(s) removed)"
UNLOCK_REASON = "Sign-in lockout cleared by the IT administrator ({attempts} failed attempts)"
CHOSEN_BY_LINK_REASON = "Password chosen through the one-time link"
ERR_NOT_LOCKED = "{username} is not locked out: there is nothing to unlock."


def staff_locked_out(usernames: Iterable[str]) -> set[str]:
    """Which of these usernames django-axes holds locked now (by username, as configured)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return set(
        AccessAttempt.objects.filter(
            username__in=list(usernames), failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
        ).values_list("username", flat=True)
    )


@transaction.atomic
def staff_unlock(*, actor: User, user: User) -> int:
    """Clear a member of staff's sign-in lockout (django-axes, by username) before it ends by
    itself. Recorded in the account's history: who unlocked it, and how many failures it
    cleared. Returns that number."""
    attempts = sum(AccessAttempt.objects.filter(username=user.username).values_list("failures_since_start", flat=True))
    if user.username not in staff_locked_out([user.username]):
        raise ValidationError(ERR_NOT_LOCKED.format(username=user.username))
    axes_reset(username=user.username)
    save_tracked(user, actor=actor, reason=UNLOCK_REASON.format(attempts=attempts))
    security_log.info("lockout cleared user_id=%s by user_id=%s", user.pk, actor.pk)
    return attempts


@transaction.atomic
def staff_reset_second_factor(*, actor: User, user: User) -> int:
    """Remove a staff member's authenticator devices (lost phone); they enrol again at next sign-in.
    Recorded in the account's history: who reset it, and how many devices it removed."""
    count, _ = TOTPDevice.objects.filter(user=user).delete()
    save_tracked(user, actor=actor, reason=MFA_RESET_REASON.format(devices=count))
    security_log.info("second factor reset user_id=%s devices=%s by user_id=%s", user.pk, count, actor.pk)
    return count


@transaction.atomic
def staff_password_set(*, user: User, password: str) -> User:
    """A member of staff chooses their password through the one-time link (the form has checked
    it with the password validators). The account's history records it, without the password:
    by no one signed in (the link's token stands for the member), for CHOSEN_BY_LINK_REASON."""
    user.set_password(password)
    save_tracked(user, actor=None, reason=CHOSEN_BY_LINK_REASON)
    return user


# --- Retention (privacy_portal.retention.SCHEDULE) ----------------------------------------------
# Security and operational records: no history tables, nothing a legal hold covers.


def sign_in_records_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Sign-in attempts, failures and logins (django-axes) and the Django admin's change log
    older than legal.SIGN_IN_ATTEMPT_RETENTION_MONTHS."""
    cutoff = (now or timezone.now()) - relativedelta(months=legal.SIGN_IN_ATTEMPT_RETENTION_MONTHS)
    return {
        "attempts": AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()[0],
        "failures": AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()[0],
        "logins": AccessLog.objects.filter(attempt_time__lt=cutoff).delete()[0],
        "admin_log": LogEntry.objects.filter(action_time__lt=cutoff).delete()[0],
    }


def sessions_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Expired sessions (what `manage.py clearsessions` does for the database backend)."""
    return {"sessions": Session.objects.filter(expire_date__lt=now or timezone.now()).delete()[0]}


def job_runs_purge_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Job runs older than legal.JOB_RUN_RETENTION_YEARS."""
    cutoff = (now or timezone.now()) - relativedelta(years=legal.JOB_RUN_RETENTION_YEARS)
    return {"job_runs": JobRun.objects.filter(started_at__lt=cutoff).delete()[0]}


def access_log_trim_expired(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """The access log's oldest segment older than legal.ACCESS_LOG_RETENTION_YEARS, deleted behind
    a signed segment checkpoint (audit.access_log_trim). Entries about a held customer stop the
    cut: they and everything after them are kept until the hold ends."""
    chain_pending()  # entries written before tonight take their positions first
    cutoff = (now or timezone.now()) - relativedelta(years=legal.ACCESS_LOG_RETENTION_YEARS)
    return access_log_trim(cutoff=cutoff, held=held, period=f"{legal.ACCESS_LOG_RETENTION_YEARS} years")
