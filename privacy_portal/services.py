"""Business rules for staff accounts (the IT administrator's work)."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User
from .roles import group_name

ERR_AUDITOR_NEEDS_END = "An auditor account needs the end date of its engagement."
ERR_END_IN_PAST = "The end date cannot be in the past."
ERR_OWN_ROLE = "You cannot change your own role or switch off your own account."
ERR_USERNAME_TAKEN = "That username is already in use."
ERR_REASON_REQUIRED = "Give a reason for the change."


def _apply_role(user: User, role: str) -> None:
    user.groups.set([Group.objects.get(name=group_name(role))] if role else [])


def _check_end_date(role: str, access_ends_on: datetime.date | None) -> None:
    if role == User.Role.AUDITOR and access_ends_on is None:
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
    password: str,
    access_ends_on: datetime.date | None = None,
) -> User:
    """Create a staff account with one role. The password must pass Django's validators."""
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
    validate_password(password, user)
    user.set_password(password)
    user._change_reason = f"Account created by staff #{actor.pk}"
    user.save()
    _apply_role(user, role)
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
    user.role = role
    user.is_active = is_active
    user.access_ends_on = access_ends_on
    user._change_reason = reason.strip()
    user.save()
    _apply_role(user, role)
    return user


@transaction.atomic
def staff_reset_second_factor(*, actor: User, user: User) -> int:
    """Remove a staff member's authenticator devices (lost phone); they enrol again at next sign-in."""
    count, _ = TOTPDevice.objects.filter(user=user).delete()
    return count
