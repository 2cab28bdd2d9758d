"""Run by test_settings.test_every_page_of_the_sqlite_demo_renders (in a subprocess, on the demo's
SQLite database): every GET route, as every demo user, must answer without a server error."""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacy_portal.settings")
django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from customers.models import Call, Customer, Recipient  # noqa: E402
from privacy_portal.models import User  # noqa: E402
from privacy_portal.urlwalk import ADMIN_NAMESPACE, walk  # noqa: E402
from requests.models import Case, Complaint  # noqa: E402

setup_test_environment()
IDS = {
    "customers/": Customer.objects.order_by("pk").values_list("pk", flat=True).first(),
    "customers/calls/": Call.objects.order_by("pk").values_list("pk", flat=True).first(),
    "customers/recipients/": Recipient.objects.order_by("pk").values_list("pk", flat=True).first(),
    "cases/complaints/": Complaint.objects.order_by("pk").values_list("pk", flat=True).first(),
    "cases/": Case.objects.order_by("pk").values_list("pk", flat=True).first(),
    "staff/": User.objects.order_by("pk").values_list("pk", flat=True).first(),
    "audit/": Customer.objects.order_by("pk").values_list("pk", flat=True).first(),
}


def concrete(path: str) -> str:
    for prefix, pk in IDS.items():
        if path.startswith("/" + prefix) and pk:
            return path.replace("/1/", f"/{pk}/", 1)
    return path


failures = []
for username in ("agent", "handler", "dpo", "auditor", "itadmin"):
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    for route in walk():
        if route.namespace == ADMIN_NAMESPACE or route.rule is None or route.rule.kind == "public":
            continue
        path = concrete(route.sample_path())
        response = client.get(path)
        if response.status_code >= 500:
            failures.append(f"{username} GET {path} -> {response.status_code}")
print("\n".join(failures) or "ok")
sys.exit(1 if failures else 0)
