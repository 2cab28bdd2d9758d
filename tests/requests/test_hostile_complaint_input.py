"""The complaint form's "rights requests it is about" (issue 12, finding 8): a reference that
names no request and one naming a request the user may not see get the same answer."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from requests.models import Complaint
from requests.services import complaints as svc
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db
NOWHERE = "R-2026-99999"


def log_complaint(client, customer, references: str):
    return client.post(
        reverse("requests:complaint_new"),
        {
            "customer_id": customer.pk,
            "received_on": timezone.localdate().strftime("%d/%m/%Y"),
            "channel": "phone",
            "category": Complaint.Category.choices[0][0],
            "description": "Unhappy with how the request was handled",
            "case_references": references,
        },
    )


def reference_errors(response) -> list[str]:
    assert response.status_code == 200, "the form is shown again"
    return response.context["form"].errors["case_references"]


def test_a_hidden_request_and_a_missing_one_get_the_same_answer_on_the_complaint_form(client_for, agent):
    customer = CustomerFactory()
    hidden = CaseFactory(customer=CustomerFactory())  # another customer's request the agent may not open
    client = client_for(agent)
    alone_missing = reference_errors(log_complaint(client, customer, NOWHERE))
    alone_hidden = reference_errors(log_complaint(client, customer, hidden.reference))
    assert alone_missing == [svc.ERR_CASE_UNKNOWN.format(reference=NOWHERE)]
    assert alone_hidden == [svc.ERR_CASE_UNKNOWN.format(reference=hidden.reference)]
    both = reference_errors(log_complaint(client, customer, f"{NOWHERE}, {hidden.reference}"))
    assert both == [svc.ERR_CASE_UNKNOWN.format(reference=", ".join(sorted([NOWHERE, hidden.reference])))]
    assert not Complaint.objects.exists()


def test_the_customers_own_request_is_linked_from_the_complaint_form(client_for, agent):
    customer = CustomerFactory()
    own = CaseFactory(customer=customer)
    response = log_complaint(client_for(agent), customer, own.reference.lower())
    assert response.status_code == 302
    assert list(Complaint.objects.get().cases.all()) == [own]


def test_a_hidden_request_and_a_missing_one_get_the_same_answer_when_linked_on_the_complaint_page(
    client_for, dpo, handler
):
    complaint = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    hidden = CaseFactory(customer=CustomerFactory())
    client = client_for(handler)
    answers = []
    for reference in (NOWHERE, hidden.reference):
        url = reverse("requests:complaint_action", args=[complaint.pk, "link_case"])
        response = client.post(url, {"reference": reference}, follow=True)
        answers.append([str(m).replace(reference, "<ref>") for m in response.context["messages"]])
    assert answers[0] == answers[1] == ["Request reference: " + svc.ERR_CASE_UNKNOWN.format(reference="<ref>")]
    assert not complaint.cases.exists()
