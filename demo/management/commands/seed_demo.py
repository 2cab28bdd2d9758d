"""Create the demo cast (one user per role) and a small realistic data set. Idempotent.

The data set is made by `DEMO_DATA_STEPS`, in order: each step uses what the ones before it
made, and each is idempotent on its own.
"""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from demo.breaches import seed_demo_breaches
from demo.cases import seed_demo_cases
from demo.complaints import seed_demo_complaints
from demo.customers import seed_demo_customers
from demo.disclosures import seed_demo_disclosures
from demo.promises import seed_demo_promises, summarise_demo_promises
from privacy_portal.models import User
from privacy_portal.roles import group_name
from privacy_portal.tracked import save_tracked

DEMO_USERS = [
    ("agent", "Amira", "Agent", User.Role.AGENT),
    ("handler", "Harry", "Handler", User.Role.HANDLER),
    ("dpo", "Dana", "Protection", User.Role.DPO),
    ("auditor", "Avery", "Auditor", User.Role.AUDITOR),
    ("itadmin", "Ivan", "Admin", User.Role.ITADMIN),
]

# The demo data, in order; each step takes the command's stdout.
DEMO_DATA_STEPS = (
    seed_demo_customers,  # twenty named customers with preferences, calls, letters and purchases
    seed_demo_disclosures,  # what their purchases disclosed to the logistics, payment and finance partners
    seed_demo_cases,  # a rights request in every state for those customers
    seed_demo_complaints,  # a complaint in every state, some about those requests, one with the ICO
    seed_demo_breaches,  # three breaches, the first about the demo customers
    seed_demo_promises,  # broken promises, using the customers and the cast: the promise report's demo
    summarise_demo_promises,  # the quarter's promise summary, so the DPO's dashboard shows them at once
)


class Command(BaseCommand):
    help = "Create one demo user per role and a small realistic data set (never in production)."

    def handle(self, *args, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("seed_demo refuses to run when DJANGO_ENV=production.")
        password = settings.DEMO_PASSWORD or secrets.token_urlsafe(12)
        # A demo auditor's engagement ends 90 days from today.
        engagement_end = timezone.localdate() + datetime.timedelta(days=90)
        with transaction.atomic():
            for username, first, last, role in DEMO_USERS:
                user = User.objects.filter(username=username).first() or User(username=username)
                user.first_name, user.last_name, user.email = first, last, f"{username}@example.org"
                user.role = role
                user.is_active = True
                user.access_ends_on = engagement_end if role == User.Role.AUDITOR else None
                user.approved_at = user.approved_at or timezone.now()  # demo staff are approved
                user.set_password(password)
                save_tracked(user, actor=None, reason="Demo data")
                user.groups.set([Group.objects.get(name=group_name(role))])
            for step in DEMO_DATA_STEPS:
                step(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo sign-ins (username / password):"))
        for username, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<8} / {password}")
