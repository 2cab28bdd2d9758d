"""The five roles of PRODUCT.md and the model permissions each carries.

Roles are Django groups (created by a data migration and kept in step after every
migrate). Object-level grants (a handler's own cases) go through django-guardian.
Patterns use fnmatch syntax over "app_label.codename".
"""

from __future__ import annotations

import hashlib
from fnmatch import fnmatchcase
from functools import cache

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from .models import User

Role = User.Role

# Apps whose models hold the portal's records; auditors read all of them.
DOMAIN_APPS = ("privacy_portal", "customers", "requests")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.AGENT: (
        "privacy_portal.use_portal",
        # Contact details and preferences; never transcripts, purchases or exports.
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_preferencechange",
        "customers.add_preferencechange",
        "customers.view_correspondence",
        "customers.add_correspondence",
        # Record a bereavement the family tells us of (stops all marketing at once).
        "customers.add_bereavement",
        # Read customers' text messages that are not a STOP, and mark them handled.
        "customers.view_inboundsms",
        "customers.change_inboundsms",
        # Log a rights request or complaint and follow its status; nothing inside.
        "requests.add_case",
        "requests.view_case_status",
        "requests.add_complaint",
        "requests.view_complaint_status",
        # Report a suspected personal-data breach (starts the 72-hour clock); never the register.
        "requests.report_breach",
        # Mark done a breach's remedial task the DPO gave it (the view: only its own tasks).
        "requests.change_breachtask",
        # The register of processing activities and the privacy notice archive (no personal data).
        "privacy_portal.view_processingactivity",
        "privacy_portal.view_privacynoticeversion",
    ),
    Role.HANDLER: (
        "privacy_portal.use_portal",
        # Cases, their customers, calls and transcripts only through per-case (guardian) grants.
        "requests.add_case",
        "requests.view_queue",
        "requests.add_complaint",
        # Report a suspected breach; read the breaches linked to its own cases (no model grant).
        "requests.report_breach",
        # Mark done a breach's remedial task the DPO gave it (the view: only its own tasks).
        "requests.change_breachtask",
        # A customer outside its cases: only with a reason, flagged, the DPO told.
        "privacy_portal.break_glass",
        # The register of processing activities and the privacy notice archive (no personal data).
        "privacy_portal.view_processingactivity",
        "privacy_portal.view_privacynoticeversion",
    ),
    Role.DPO: (
        "privacy_portal.use_portal",
        "customers.*",
        "requests.*",
        "privacy_portal.view_accessevent",
        "privacy_portal.search_history",
        # Four eyes on accounts that see customer data (the IT admin creates, the DPO approves).
        "privacy_portal.approve_staff",
        # Reviews every break-glass opening; reads the promise report (the auditor has both by view_*).
        "privacy_portal.review_break_glass",
        "privacy_portal.view_breakglassreview",
        "privacy_portal.view_promise_report",
        # Has the dashboard's promise summary made now, without waiting for the hourly job.
        "privacy_portal.summarise_promises",
        # Keeps the register of processing activities and archives each published privacy notice.
        "privacy_portal.view_processingactivity",
        "privacy_portal.add_processingactivity",
        "privacy_portal.change_processingactivity",
        "privacy_portal.view_privacynoticeversion",
        "privacy_portal.add_privacynoticeversion",
    ),
    Role.AUDITOR: (
        "privacy_portal.use_portal",
        # Read everything, change nothing (staff accounts included, for who-did-what).
        *(f"{app}.view_*" for app in DOMAIN_APPS),
        "privacy_portal.search_history",
    ),
    Role.ITADMIN: (
        "privacy_portal.use_portal",
        "privacy_portal.manage_staff",
        "privacy_portal.view_user",
        "privacy_portal.add_user",
        "privacy_portal.change_user",
    ),
}

ROLE_HOME_TITLES: dict[str, str] = {
    Role.AGENT: "Customer desk",
    Role.HANDLER: "My cases",
    Role.DPO: "DPO dashboard",
    Role.AUDITOR: "Audit",
    Role.ITADMIN: "Staff accounts",
}


def group_name(role: str) -> str:
    return Role(role).label


def resolve_permissions(role: str, available: list[tuple[str, str, int]]) -> list[int]:
    """Permission ids for `role`, given (app_label, codename, id) of every permission."""
    patterns = ROLE_PERMISSIONS[role]
    return [pk for app, codename, pk in available if any(fnmatchcase(f"{app}.{codename}", p) for p in patterns)]


def sync_role_groups(group_model, permission_model) -> None:
    """Create one group per role and set its permissions exactly to ROLE_PERMISSIONS."""
    available = list(permission_model.objects.values_list("content_type__app_label", "codename", "pk"))
    for role in Role.values:
        group, _ = group_model.objects.get_or_create(name=group_name(role))
        group.permissions.set(resolve_permissions(role, available))


def sync_roles_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.name != "privacy_portal":
        return
    # Later apps' permissions are created by their own post_migrate; make sure they
    # exist now so every role gets them in this same run.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_role_groups(Group, Permission)


@cache
def roles_fingerprint() -> str:
    """A digest of every role's permissions as the code defines them: a deploy that changes a
    role's permissions changes it, so no session keeps the permissions it read before."""
    canonical = sorted((role, sorted(patterns)) for role, patterns in ROLE_PERMISSIONS.items())
    return hashlib.sha256(repr(canonical).encode()).hexdigest()[:16]
