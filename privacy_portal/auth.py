"""Authentication backend: Django's, plus the end date of time-limited accounts."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class PortalModelBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        # An auditor's engagement has an end date; after it, sign-in is refused.
        if getattr(user, "access_has_ended", False):
            return False
        # Separation of duties: not before a DPO has approved an account that sees customer data.
        if getattr(user, "awaiting_approval", False):
            return False
        return super().user_can_authenticate(user)
