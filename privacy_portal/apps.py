from __future__ import annotations

from django.apps import AppConfig, apps
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_migrate, post_save


class PrivacyPortalConfig(AppConfig):
    name = "privacy_portal"
    verbose_name = "Privacy Portal"

    def ready(self) -> None:
        # Here, not at the top: Django imports this module before the app registry is ready, and
        # these import models (auth's, ours through roles and reference data); signals registers
        # its receivers on import.
        from django.contrib.auth.models import update_last_login

        from . import signals
        from .reference_data import ensure_after_migrate
        from .roles import sync_roles_after_migrate

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(signals.record_last_login, dispatch_uid="privacy_portal.record_last_login")
        # Keep each role's permissions in step with privacy_portal/roles.py whenever
        # migrations add models (their permissions only exist after migrate).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="privacy_portal.sync_roles")
        post_migrate.connect(ensure_after_migrate, dispatch_uid="privacy_portal.reference_data")
        self._forget_object_permissions_on_grant()

    @staticmethod
    def _forget_object_permissions_on_grant() -> None:
        """A grant given or taken during a request (assigning a case) is seen by the rest of it."""
        # Here, not at the top: guardian's models, and auth (which imports ContentType), need the
        # app registry, not ready when Django imports this module.
        from guardian.models import BaseObjectPermission

        from .auth import forget_object_permissions

        for model in apps.get_models():
            if issubclass(model, BaseObjectPermission):
                post_save.connect(
                    forget_object_permissions, sender=model, dispatch_uid=f"forget_perms_{model._meta.label}"
                )
                post_delete.connect(
                    forget_object_permissions, sender=model, dispatch_uid=f"forget_del_{model._meta.label}"
                )
