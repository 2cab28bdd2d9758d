from __future__ import annotations

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self):
        # seed_demo runs the demo data steps of each app; the customers' step adds twenty
        # named customers with their preferences, calls, letters and purchases.
        from privacy_portal.management.commands.seed_demo import DEMO_DATA_STEPS

        from .demo import seed_demo_customers

        if seed_demo_customers not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_customers)
        # Then what their purchases disclosed to the logistics, payment and finance partners.
        from .demo_disclosures import seed_demo_disclosures

        if seed_demo_disclosures not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_disclosures)
