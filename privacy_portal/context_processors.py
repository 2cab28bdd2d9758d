from __future__ import annotations

from django.conf import settings

from .roles import ROLE_HOME_TITLES


def portal(request) -> dict:
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    return {
        "portal_role": role,
        "portal_home_title": ROLE_HOME_TITLES.get(role, "Home"),
        "portal_env": settings.DJANGO_ENV,
        "company_name": settings.COMPANY_NAME,
    }
