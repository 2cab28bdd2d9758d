"""Reference data the portal cannot work without (the recipient register, the register of
processing activities, the archived privacy notice), seeded by data migrations.

A flush (which transactional tests do after each test) empties those tables and emits
post_migrate; seeding again here keeps them present. Every seed is idempotent.
"""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import connections

SEED_MIGRATIONS = (
    "customers.migrations.0005_seed_recipients",
    "privacy_portal.migrations.0005_seed_register",
)
REQUIRED_TABLES = {"customers_recipient", "privacy_portal_processingactivity", "privacy_portal_privacynoticeversion"}


def ensure_reference_data(using: str = "default") -> None:
    if not set(connections[using].introspection.table_names()) >= REQUIRED_TABLES:
        return  # part-migrated database (e.g. migrating backwards): nothing to seed into
    for module in SEED_MIGRATIONS:
        importlib.import_module(module).seed(apps, None)


def ensure_after_migrate(sender, using: str = "default", **kwargs) -> None:
    if sender.name == "privacy_portal":
        from .history_search import ensure_history_indexes

        ensure_reference_data(using)
        ensure_history_indexes(using)
