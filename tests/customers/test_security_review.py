"""Findings of the security and need-to-know review of the customer desk."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("route", ["customers:record_preference", "customers:object"])
def test_the_preference_and_objection_forms_name_the_customer_so_showing_them_records_the_read(
    client_for, agent, route
):
    customer = CustomerFactory()
    body = client_for(agent).get(reverse(route, args=[customer.pk])).content.decode()
    assert escape(customer.full_name) in body
    event = AccessEvent.objects.get(user=agent)
    assert (event.action, event.customer_id) == (AccessEvent.Action.VIEW_CUSTOMER, customer.pk)
