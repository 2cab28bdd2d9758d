"""Rights-request pages: intake, queues, the case page, actions and documents, by role."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from privacy_portal.models import AccessEvent
from requests.models import Case
from requests.services import cases as svc
from tests.factories import CaseFactory, CustomerFactory
from tests.fixtures.access_log import (
    assert_form_hides_the_customer_unrecorded,
    assert_form_records_the_customer_read,
    assert_list_records_whom_it_showed,
)

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def case(dpo, handler):
    return svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)


def act(client, case, action, **data):
    return client.post(reverse("requests:case_action", args=[case.pk, action]), data, follow=True)


def test_agent_logs_a_phoned_in_request_for_a_customer_and_sees_its_status(client_for, agent):
    customer = CustomerFactory()
    client = client_for(agent)
    url = reverse("requests:intake") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"customer_id": customer.pk, "rights": ["access"], "channel": "phone",
         "received_on": timezone.localdate().strftime("%d/%m/%Y")},
        follow=True,
    )  # fmt: skip
    case = Case.objects.get()
    assert response.redirect_chain[-1][0] == reverse("requests:logged")
    assert case.reference.encode() in response.content and b"Received" in response.content
    # The agent sees the status, not the case.
    assert client.get(reverse("requests:case", args=[case.pk])).status_code == 404


def test_the_dpo_who_logs_a_request_lands_on_the_new_case(client_for, dpo):
    # The DPO opens any case by the model permission (no grant on the new one): case_for lets it in.
    customer = CustomerFactory()
    response = client_for(dpo).post(
        reverse("requests:intake") + f"?customer={customer.pk}",
        {"customer_id": customer.pk, "rights": ["access"], "channel": "phone",
         "received_on": timezone.localdate().strftime("%d/%m/%Y")},
    )  # fmt: skip
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == case.get_absolute_url()


def test_intake_with_bad_input_names_the_fields_and_logs_nothing(client_for, agent):
    client = client_for(agent)
    response = client.post(reverse("requests:intake"), {"channel": "phone", "received_on": "31/02/2026"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rights asked for" in body and "Date received" in body and "There is a problem" in body
    assert not Case.objects.exists()


def test_handler_queue_shows_only_its_cases_soonest_due_first(client_for, dpo, handler, other_handler):
    today = timezone.localdate()
    late = svc.case_assign(
        actor=dpo, case=CaseFactory(received_on=today - datetime.timedelta(days=40)), handler=handler
    )
    soon = svc.case_assign(
        actor=dpo, case=CaseFactory(received_on=today - datetime.timedelta(days=25)), handler=handler
    )
    theirs = svc.case_assign(actor=dpo, case=CaseFactory(), handler=other_handler)
    client = client_for(handler)
    body = client.get(reverse("requests:queue")).content.decode()
    assert body.index(late.reference) < body.index(soon.reference)
    assert theirs.reference not in body
    assert "1 overdue" in body


@pytest.mark.slow  # bench-like: the queue grown to compare query counts
def test_dpo_queue_filters_and_stays_within_a_fixed_number_of_queries(
    client_for, dpo, handler, django_assert_max_num_queries
):
    for _ in range(30):
        svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    CaseFactory(right="erasure")
    client = client_for(dpo)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("requests:queue"), {"right": "erasure"})
    assert response.content.decode().count("Erasure (Art 17)") >= 1
    assert client.get(reverse("requests:queue"), {"window": "overdue"}).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("itadmin", 403), ("nobody", 403), ("auditor", 200)])
def test_queue_access_by_role(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("requests:queue")).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("handler", 200), ("dpo", 200), ("auditor", 200), ("other_handler", 404), ("agent", 404), ("itadmin", 404)],
)
def test_case_page_access_by_role(client_for, cast, case, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("requests:case", args=[case.pk])).status_code == status


def test_case_page_shows_the_clock_and_records_the_read(client_for, handler, case):
    client = client_for(handler)
    body = client.get(reverse("requests:case", args=[case.pk])).content.decode()
    assert f"{case.due_on:%-d %b %Y}" in body and "days left" in body
    assert AccessEvent.objects.filter(user=handler, customer_id=case.customer_id, object_type="requests.Case").exists()


def test_handler_verifies_identity_through_the_page(
    client_for, handler, case, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    client = client_for(handler)
    act(client, case, "request_identity")
    with django_capture_on_commit_callbacks(execute=True):  # the file is written once the upload commits
        response = act(client, case, "upload_identity", file=SimpleUploadedFile("id.png", PNG),
                       received_on=timezone.localdate().strftime("%d/%m/%Y"))  # fmt: skip
    assert b"stored privately" in response.content
    doc = case.documents.get()
    download = client.get(reverse("requests:document", args=[case.pk, doc.pk]))
    assert download.status_code == 200 and download["Cache-Control"] == "private, no-store"
    act(client, case, "decide_identity", verified="yes")
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert client.get(reverse("requests:document", args=[case.pk, doc.pk])).status_code == 404


def test_a_fake_pdf_upload_is_refused_with_a_message(client_for, handler, case, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    client = client_for(handler)
    act(client, case, "request_identity")
    response = act(client, case, "upload_identity", file=SimpleUploadedFile("passport.pdf", b"MZ not a pdf"),
                   received_on=timezone.localdate().strftime("%d/%m/%Y"))  # fmt: skip
    assert b"This file is not one of those" in response.content
    assert not case.documents.exists()


def test_an_illegal_move_through_the_page_is_refused_with_a_message(client_for, handler, case):
    client = client_for(handler)
    response = act(client, case, "clarification_received", on=timezone.localdate().strftime("%d/%m/%Y"))
    assert b"cannot be moved" in response.content
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED


@pytest.mark.parametrize(
    ("role", "status"), [("auditor", 403), ("other_handler", 404), ("agent", 404), ("itadmin", 404)]
)
def test_only_the_handler_or_the_dpo_may_act_on_a_case(client_for, cast, case, role, status):
    client = client_for(cast[role])
    assert client.post(reverse("requests:case_action", args=[case.pk, "start"])).status_code == status
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED


def test_actions_need_post(client_for, handler, case):
    client = client_for(handler)
    assert client.get(reverse("requests:case_action", args=[case.pk, "start"])).status_code == 405


def test_an_unknown_action_is_404(client_for, handler, case):
    client = client_for(handler)
    assert client.post(reverse("requests:case_action", args=[case.pk, "explode"])).status_code == 404


def test_the_handler_cannot_sign_off_its_own_refusal_through_the_page(client_for, dpo, handler, case):
    client = client_for(handler)
    act(client, case, "start")
    act(client, case, "request_signoff", kind="refusal", reason="Repeat request", refusal_ground="excessive")
    assert (
        client.post(reverse("requests:case_action", args=[case.pk, "signoff"]), {"approve": "yes"}).status_code == 403
    )
    client = client_for(dpo)
    act(client, case, "signoff", approve="yes", notified_on=timezone.localdate().strftime("%d/%m/%Y"))
    case.refresh_from_db()
    assert case.status == Case.Status.REFUSED


def test_logged_page_is_for_agents(client_for, cast):
    client = client_for(cast["agent"])
    assert client.get(reverse("requests:logged")).status_code == 200
    client = client_for(cast["itadmin"])
    assert client.get(reverse("requests:logged")).status_code == 403


def test_the_queue_lists_customers_by_name_so_opening_it_is_recorded_with_whom_it_showed(client_for, dpo, handler):
    mine = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    assert_list_records_whom_it_showed(
        client_for(handler), reverse("requests:queue"), user=handler, shown=mine, hidden=CaseFactory(),
        search_kind="queue",
    )  # fmt: skip


def test_logging_a_request_for_a_named_customer_records_the_read_of_the_customer(client_for, agent):
    url = reverse("requests:intake")
    assert_form_records_the_customer_read(client_for(agent), url, user=agent, customer=CustomerFactory())


def test_a_handler_cannot_log_a_request_for_a_customer_outside_its_cases(client_for, other_handler):
    url = reverse("requests:intake")
    assert_form_hides_the_customer_unrecorded(
        client_for(other_handler), url, user=other_handler, customer=CustomerFactory()
    )


def test_a_request_intake_customer_id_that_is_not_a_number_answers_not_found_rather_than_a_server_error(
    client_for, agent
):
    assert client_for(agent).get(reverse("requests:intake"), {"customer": "abc"}).status_code == 404


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
