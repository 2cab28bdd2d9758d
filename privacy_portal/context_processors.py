from __future__ import annotations

from django.conf import settings

from customers.access import ABILITIES as CUSTOMER_ABILITIES
from requests.access import ABILITIES as REQUEST_ABILITIES

from . import legal
from .access import ABILITIES as PORTAL_ABILITIES
from .roles import ROLE_HOME_TITLES

# Every ability a template may ask for by name; the apps name theirs apart (no name is in two).
ABILITIES = PORTAL_ABILITIES | CUSTOMER_ABILITIES | REQUEST_ABILITIES


def portal(request) -> dict:
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    return {
        "portal_role": role,
        "portal_home_title": ROLE_HOME_TITLES.get(role, "Home"),
        "portal_env": settings.DJANGO_ENV,
        "company_name": settings.COMPANY_NAME,
    }


class UnknownAbility(Exception):
    """A template asked `may.<name>` for a name no access module defines (a typo would
    otherwise hide a button from everyone without a sound)."""


class Abilities:
    """What the signed-in user may do, by name, for templates: `{% if may.log_requests %}`.
    Each name is a predicate in an access module (privacy_portal/access.py,
    customers/access.py, requests/access.py); each is asked at most once per page."""

    def __init__(self, user) -> None:
        self._user = user
        self._answers: dict[str, bool] = {}

    def __getitem__(self, name: str) -> bool:
        if name not in self._answers:
            rule = ABILITIES.get(name)
            if rule is None:
                raise UnknownAbility(name)
            user = self._user
            self._answers[name] = bool(user is not None and user.is_authenticated and rule(user))
        return self._answers[name]


def abilities(request) -> dict:
    return {"may": Abilities(getattr(request, "user", None))}


def legal_figures(request) -> dict:
    """Every figure of privacy_portal/legal.py, for templates: `{{ legal.OPT_OUT_DAYS_EMAIL }}`,
    never a number typed into the page."""
    return {"legal": legal}
