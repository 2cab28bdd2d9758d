from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrivacyPortalConfig(AppConfig):
    name = "privacy_portal"
    verbose_name = "Privacy Portal"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (login/logout hooks)
        from .roles import sync_roles_after_migrate

        # Keep each role's permissions in step with privacy_portal/roles.py whenever
        # migrations add models (their permissions only exist after migrate).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="privacy_portal.sync_roles")
        from .reference_data import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="privacy_portal.reference_data")
