"""Every response to a signed-in member of staff is `Cache-Control: private, no-store` (issue 12,
'Also seen'): pages, CSVs and downloads alike, walked over the whole URLconf."""

from __future__ import annotations

import pytest
from django.urls import reverse

from privacy_portal import urlwalk
from privacy_portal.middleware import NO_STORE
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.slow  # a walk over every page
def test_every_page_a_signed_in_member_of_staff_gets_is_private_and_never_stored(client_for, dpo):
    client = client_for(dpo)
    client.raise_request_exception = False
    CustomerFactory(pk=1)
    CaseFactory(pk=1)
    walked = 0
    for route in urlwalk.walk():
        if route.namespace == urlwalk.ADMIN_NAMESPACE or "logout" in (route.name or ""):
            continue
        response = client.get(route.sample_path())
        assert response.get("Cache-Control") == NO_STORE, (route.pattern, response.status_code)
        walked += 1
    assert walked > 50


@pytest.mark.parametrize("role", ["agent", "handler", "dpo", "auditor", "itadmin", "nobody"])
def test_the_customer_page_is_never_stored_whoever_asks(client_for, cast, role):
    customer = CustomerFactory()
    response = client_for(cast[role]).get(reverse("customers:detail", args=[customer.pk]))
    assert response["Cache-Control"] == NO_STORE


def test_the_history_and_register_csvs_are_never_stored(client_for, auditor):
    client = client_for(auditor)
    for name in ("history_export", "register_csv"):
        response = client.get(reverse(name))
        assert response.status_code == 200 and response["Cache-Control"] == NO_STORE, name
