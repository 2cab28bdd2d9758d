from __future__ import annotations

from django.apps import AppConfig


class RequestsConfig(AppConfig):
    # Named `requests` by the product's design; it shadows the PyPI HTTP library of that
    # name, which this project must never depend on.
    name = "requests"
    label = "requests"
    verbose_name = "Rights requests and complaints"
