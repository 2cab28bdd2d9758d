from __future__ import annotations

from django.apps import AppConfig


class RequestsConfig(AppConfig):
    # Named `requests` by the product's design; it shadows the PyPI HTTP library of that
    # name, which this project must never depend on.
    name = "requests"
    label = "requests"
    verbose_name = "Rights requests and complaints"

    def ready(self):
        # seed_demo runs each app's demo step in turn; this one comes after the customers'
        # (INSTALLED_APPS order) and makes a case in every state for its named customers.
        from privacy_portal.management.commands.seed_demo import DEMO_DATA_STEPS

        from .demo import seed_demo_cases

        if seed_demo_cases not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_cases)

        # Complaints come after the cases: some are about the demo customers' requests.
        from .demo_complaints import seed_demo_complaints

        if seed_demo_complaints not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_complaints)

        # Breaches come last: the first is about the demo customers.
        from .demo_breaches import seed_demo_breaches

        if seed_demo_breaches not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_breaches)

        # Broken promises come after everything else: they use the demo customers and cast.
        from privacy_portal.demo_promises import seed_demo_promises

        if seed_demo_promises not in DEMO_DATA_STEPS:
            DEMO_DATA_STEPS.append(seed_demo_promises)
