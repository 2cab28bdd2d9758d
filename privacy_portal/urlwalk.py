"""Walk a URLconf and list every view with its declared access rule.

Used by the URL-walk test (tests/privacy_portal/test_url_walk.py) so that no view can
be added without declaring who may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Django's admin guards its own views (admin_view + our OTPAdminSite); we check them by
# behaviour (anonymous visitors are sent to its sign-in) instead of by declaration.
ADMIN_NAMESPACE = "admin"


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str | None
    namespace: str
    callback: object

    @property
    def rule(self):
        return getattr(self.callback, "access_rule", None)

    def sample_path(self) -> str:
        """A concrete path for this pattern, with placeholder values for its parameters."""
        path = re.sub(r"<int:[^>]+>", "1", self.pattern)
        path = re.sub(r"<(?:str:|slug:)?[^>]+>", "x", path)
        path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", path)
        path = path.replace("^", "").replace("$", "").replace("\\Z", "")
        return "/" + path


def walk(urlconf=None) -> list[Route]:
    resolver = get_resolver(urlconf)
    routes: list[Route] = []

    def _walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                routes.append(Route(prefix + str(entry.pattern), entry.name, namespace, entry.callback))

    _walk(resolver.url_patterns, "", "")
    return routes


def undeclared(urlconf=None) -> list[Route]:
    """Routes outside the admin whose view declares no access rule."""
    return [r for r in walk(urlconf) if r.namespace != ADMIN_NAMESPACE and r.rule is None]
