"""Findings of the security and need-to-know review of the request and complaint pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from privacy_portal.models import AccessEvent
from requests.services import cases as case_svc
from requests.services import complaints as complaint_svc
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_queue_lists_customers_by_name_so_opening_it_is_recorded_with_whom_it_showed(client_for, dpo, handler):
    mine = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    theirs = CaseFactory()
    body = client_for(handler).get(reverse("requests:queue")).content.decode()
    assert escape(mine.customer.full_name) in body and escape(theirs.customer.full_name) not in body
    event = AccessEvent.objects.get(user=handler)
    assert (event.action, event.result_ids, event.search_kind) == (
        AccessEvent.Action.SEARCH,
        [mine.customer_id],
        "queue",
    )


def test_the_complaints_list_names_customers_so_opening_it_is_recorded_with_whom_it_showed(client_for, dpo, handler):
    mine = complaint_svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    theirs = ComplaintFactory()
    body = client_for(handler).get(reverse("requests:complaints")).content.decode()
    assert escape(mine.customer.full_name) in body and escape(theirs.customer.full_name) not in body
    event = AccessEvent.objects.get(user=handler)
    assert (event.action, event.result_ids, event.search_kind) == (
        AccessEvent.Action.SEARCH,
        [mine.customer_id],
        "complaints",
    )


@pytest.mark.parametrize("route", ["requests:intake", "requests:complaint_new"])
def test_logging_a_request_or_complaint_for_a_named_customer_records_the_read_of_the_customer(client_for, agent, route):
    customer = CustomerFactory()
    body = client_for(agent).get(reverse(route), {"customer": customer.pk}).content.decode()
    assert escape(customer.full_name) in body
    event = AccessEvent.objects.get(user=agent)
    assert (event.action, event.customer_id) == (AccessEvent.Action.VIEW_CUSTOMER, customer.pk)


@pytest.mark.parametrize("route", ["requests:intake", "requests:complaint_new"])
def test_a_handler_cannot_log_a_request_or_complaint_for_a_customer_outside_its_cases(client_for, other_handler, route):
    customer = CustomerFactory()
    assert client_for(other_handler).get(reverse(route), {"customer": customer.pk}).status_code == 404
    assert not AccessEvent.objects.filter(user=other_handler).exists()


@pytest.mark.parametrize("route", ["requests:intake", "requests:complaint_new"])
def test_a_customer_id_that_is_not_a_number_answers_not_found_rather_than_a_server_error(client_for, agent, route):
    assert client_for(agent).get(reverse(route), {"customer": "abc"}).status_code == 404


def test_opening_a_request_with_no_customer_record_still_records_the_read_of_the_requesters_details(client_for, dpo):
    case = CaseFactory(customer=None, requester_name="Jo Bloggs", requester_email="jo@example.com")
    body = client_for(dpo).get(reverse("requests:case", args=[case.pk])).content.decode()
    assert "Jo Bloggs" in body
    event = AccessEvent.objects.get(user=dpo)
    assert (event.action, event.customer_id, event.object_type, event.object_id) == (
        AccessEvent.Action.VIEW_CASE,
        None,
        "requests.Case",
        case.pk,
    )


def test_a_complaint_without_a_customer_cannot_be_linked_to_a_request_its_handler_may_not_open(
    dpo, handler, other_handler
):
    from django.core.exceptions import ValidationError

    complaint_services = complaint_svc
    theirs = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=other_handler)
    # Linking two records without a customer needs a shared contact identifier, not only the name
    # (requests.services.complaints._same_person, merged today): both carry Jo's email.
    complaint = ComplaintFactory(customer=None, complainant_name="Jo Bloggs", complainant_email="jo.bloggs@example.com")
    complaint_services.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    with pytest.raises(ValidationError, match="No request has the reference"):
        complaint_services.complaint_link_case(actor=handler, complaint=complaint, case=theirs)
    assert not complaint.cases.exists()
    mine = case_svc.case_assign(
        actor=dpo,
        case=CaseFactory(customer=None, requester_name="Jo Bloggs", requester_email="jo.bloggs@example.com"),
        handler=handler,
    )
    complaint_services.complaint_link_case(actor=handler, complaint=complaint, case=mine)
    assert list(complaint.cases.all()) == [mine]
