"""Break-glass: a handler opens a customer outside its cases only with a reason; flagged; DPO told."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
REASON = "Customer rang the complaints line; their case is with a colleague on leave."


def test_without_a_reason_the_customer_stays_404(client, handler):
    customer = CustomerFactory()
    client.force_login(handler)
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 404
    response = client.post(reverse("customers:break_glass"), {"reference": customer.reference, "reason": ""})
    assert response.status_code == 200 and b"There is a problem" in response.content
    assert customer.last_name.encode() not in response.content
    assert not AccessEvent.objects.filter(action="break_glass").exists()


def test_with_a_reason_it_opens_flagged_and_the_dpo_is_told(client, handler, dpo, settings):
    settings.DPO_EMAIL = "dpo@example.org"
    customer = CustomerFactory()
    client.force_login(handler)
    response = client.post(reverse("customers:break_glass"), {"reference": customer.reference, "reason": REASON})
    assert response.status_code == 200
    assert escape(customer.last_name).encode() in response.content and b"Break-glass access" in response.content
    event = AccessEvent.objects.get(action="break_glass")
    assert event.flagged and event.reason == REASON and event.customer_id == customer.pk and event.user == handler
    assert len(mail.outbox) == 1 and customer.reference in mail.outbox[0].body
    assert customer.last_name not in mail.outbox[0].body
    # The DPO sees it on the dashboard.
    client.force_login(dpo)
    assert REASON.encode() in client.get(reverse("home")).content
    # It does not stay open.
    client.force_login(handler)
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 404


def test_an_unknown_reference_opens_nothing(client, handler):
    client.force_login(handler)
    response = client.post(reverse("customers:break_glass"), {"reference": "C-999999", "reason": REASON})
    assert b"No customer has that reference" in response.content


@pytest.mark.parametrize("role", ["agent", "auditor", "itadmin", "nobody"])
def test_only_handlers_have_break_glass(client, cast, role):
    client.force_login(cast[role])
    assert client.get(reverse("customers:break_glass")).status_code == 403


@pytest.mark.parametrize("reason", ["", "urgent", "urgentneedtoseethiscustomernow"])
def test_an_empty_or_one_word_reason_is_refused(client, handler, reason):
    customer = CustomerFactory()
    client.force_login(handler)
    response = client.post(reverse("customers:break_glass"), {"reference": customer.reference, "reason": reason})
    assert b"There is a problem" in response.content
    assert not AccessEvent.objects.filter(action="break_glass").exists()
