"""The create and edit pages that save through privacy_portal.views.helpers.form_saved: each goes
where it went before its own try/except was folded into the helper (to what it saved, or to the
page it names with `to=`), says what it said, and shows the form again when the service refuses."""

from __future__ import annotations

import datetime

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from tests.factories import CustomerFactory


def flashed(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def test_a_new_customer_opens_with_its_reference(client_for, agent):
    data = {"first_name": "Zed", "last_name": "Quill", "phone": "07911 123457"}
    response = client_for(agent).post(reverse("customers:create"), data)
    customer = Customer.objects.get(last_name="Quill")
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert flashed(response) == [f"Customer {customer.reference} created."]


def test_an_objection_goes_back_to_the_customer(client_for, agent):
    customer = CustomerFactory()
    response = client_for(agent).post(reverse("customers:object", args=[customer.pk]), {"source": "letter"})
    assert response["Location"] == customer.get_absolute_url()
    assert flashed(response) == ["Objection recorded: all marketing on every channel is withdrawn."]


def test_a_bereavement_goes_back_to_the_customer(client_for, agent):
    customer = CustomerFactory()
    url = reverse("customers:bereavement", args=[customer.pk])
    response = client_for(agent).post(url, {"reported_on": "2026-11-30", "evidence": "Son, by phone"})
    assert response["Location"] == customer.get_absolute_url()
    assert flashed(response) == ["Bereavement recorded: all marketing on every channel is stopped."]


def test_a_legal_hold_goes_back_to_the_customer_and_a_refused_one_shows_the_form(client_for, dpo):
    customer = CustomerFactory()
    url = reverse("customers:legal_hold_place", args=[customer.pk])
    ends = timezone.localdate() + datetime.timedelta(days=60)
    response = client_for(dpo).post(url, {"reason": "Solicitors' letter", "ends_on": ends.strftime("%d/%m/%Y")})
    assert response["Location"] == customer.get_absolute_url()
    assert flashed(response) == ["Legal hold placed: the nightly purge skips this customer's records."]
    refused = client_for(dpo).post(url, {"reason": " ", "ends_on": ends.strftime("%d/%m/%Y")})
    assert refused.status_code == 200 and refused.context["form"].errors


def test_correspondence_goes_back_to_the_correspondence_page_and_a_refused_one_is_a_400(client_for, agent):
    customer = CustomerFactory()
    url = reverse("customers:correspondence_add", args=[customer.pk])
    data = {
        "direction": "outbound",
        "medium": "email",
        "occurred_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        "summary": "Sent the returns label.",
    }
    response = client_for(agent).post(url, data)
    assert response["Location"] == reverse("customers:correspondence", args=[customer.pk])
    assert flashed(response) == ["Correspondence recorded."]
    assert client_for(agent).post(url, data | {"summary": ""}).status_code == 400


def test_a_staff_edit_goes_back_to_the_staff_list(client_for, itadmin, agent):
    data = {"role": "handler", "is_active": "on", "access_ends_on": "", "reason": "Moved to the privacy team"}
    response = client_for(itadmin).post(reverse("staff_edit", args=[agent.pk]), data)
    assert response["Location"] == reverse("staff_list")
    assert flashed(response) == [f"Account {agent.username} updated."]


def test_a_message_template_edit_names_its_new_version_and_goes_back_to_the_list(client_for, dpo):
    url = reverse("requests:message_template", args=["complaint_ack"])
    data = {"subject": "Complaint ${reference} received", "body": "Dear complainant, ref ${reference}.", "reason": "x"}
    response = client_for(dpo).post(url, data)
    assert response["Location"] == reverse("requests:message_templates")
    assert flashed(response) == ["Saved as version 2. Messages sent from now on use it."]
