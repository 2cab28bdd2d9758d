"""Reference data the portal cannot work without (the recipient register, the register of
processing activities, the archived privacy notice), seeded by data migrations.

A flush (which transactional tests do after each test) empties those tables and emits
post_migrate; seeding again here keeps them present. Every seed is idempotent.
"""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from privacy_portal.services.history_search import ensure_history_indexes

SEED_MIGRATIONS = (
    "customers.migrations.0005_seed_recipients",
    # The transcription provider holds call data: flagged again after a flush re-seeds the register.
    "customers.migrations.0013_deletion_tasks",
    "privacy_portal.migrations.0005_seed_register",
)
SEEDED_MODELS = ("customers.Recipient", "privacy_portal.ProcessingActivity", "privacy_portal.PrivacyNoticeVersion")
REQUIRED_TABLES = {"customers_recipient", "privacy_portal_processingactivity", "privacy_portal_privacynoticeversion"}


def ensure_reference_data(using: str = "default") -> None:
    connection = connections[using]
    if not set(connection.introspection.table_names()) >= REQUIRED_TABLES:
        return  # part-migrated database (e.g. migrating backwards): nothing to seed into
    if all(apps.get_model(label).objects.using(using).exists() for label in SEEDED_MODELS):
        return
    # The seeds write their own history rows, as in a migration: run them against the
    # migration state's models (no history signals), not the live ones (which would add a
    # second history row per record).
    state_apps = MigrationExecutor(connection).loader.project_state().apps
    for module in SEED_MIGRATIONS:
        importlib.import_module(module).seed(state_apps, None)


def ensure_after_migrate(sender, using: str = "default", **kwargs) -> None:
    if sender.name == "privacy_portal":
        ensure_reference_data(using)
        ensure_history_indexes(using)
