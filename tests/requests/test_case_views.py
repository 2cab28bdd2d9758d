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

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def case(dpo, handler):
    return svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)


def act(client, case, action, **data):
    return client.post(reverse("requests:case_action", args=[case.pk, action]), data, follow=True)


def test_agent_logs_a_phoned_in_request_for_a_customer_and_sees_its_status(client, agent):
    customer = CustomerFactory()
    client.force_login(agent)
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


def test_intake_with_bad_input_names_the_fields_and_logs_nothing(client, agent):
    client.force_login(agent)
    response = client.post(reverse("requests:intake"), {"channel": "phone", "received_on": "31/02/2026"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rights asked for" in body and "Date received" in body and "There is a problem" in body
    assert not Case.objects.exists()


def test_handler_queue_shows_only_its_cases_soonest_due_first(client, dpo, handler, other_handler):
    today = timezone.localdate()
    late = svc.case_assign(
        actor=dpo, case=CaseFactory(received_on=today - datetime.timedelta(days=40)), handler=handler
    )
    soon = svc.case_assign(
        actor=dpo, case=CaseFactory(received_on=today - datetime.timedelta(days=25)), handler=handler
    )
    theirs = svc.case_assign(actor=dpo, case=CaseFactory(), handler=other_handler)
    client.force_login(handler)
    body = client.get(reverse("requests:queue")).content.decode()
    assert body.index(late.reference) < body.index(soon.reference)
    assert theirs.reference not in body
    assert "1 overdue" in body


def test_dpo_queue_filters_and_stays_within_a_fixed_number_of_queries(
    client, dpo, handler, django_assert_max_num_queries
):
    for _ in range(30):
        svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    CaseFactory(right="erasure")
    client.force_login(dpo)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("requests:queue"), {"right": "erasure"})
    assert response.content.decode().count("Erasure (Art 17)") >= 1
    assert client.get(reverse("requests:queue"), {"window": "overdue"}).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("itadmin", 403), ("nobody", 403), ("auditor", 200)])
def test_queue_access_by_role(client, cast, role, status):
    client.force_login(cast[role])
    assert client.get(reverse("requests:queue")).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("handler", 200), ("dpo", 200), ("auditor", 200), ("other_handler", 404), ("agent", 404), ("itadmin", 404)],
)
def test_case_page_access_by_role(client, cast, case, role, status):
    client.force_login(cast[role])
    assert client.get(reverse("requests:case", args=[case.pk])).status_code == status


def test_case_page_shows_the_clock_and_records_the_read(client, handler, case):
    client.force_login(handler)
    body = client.get(reverse("requests:case", args=[case.pk])).content.decode()
    assert f"{case.due_on:%-d %b %Y}" in body and "days left" in body
    assert AccessEvent.objects.filter(user=handler, customer_id=case.customer_id, object_type="requests.Case").exists()


def test_handler_verifies_identity_through_the_page(
    client, handler, case, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    client.force_login(handler)
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


def test_a_fake_pdf_upload_is_refused_with_a_message(client, handler, case, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    client.force_login(handler)
    act(client, case, "request_identity")
    response = act(client, case, "upload_identity", file=SimpleUploadedFile("passport.pdf", b"MZ not a pdf"),
                   received_on=timezone.localdate().strftime("%d/%m/%Y"))  # fmt: skip
    assert b"This file is not one of those" in response.content
    assert not case.documents.exists()


def test_an_illegal_move_through_the_page_is_refused_with_a_message(client, handler, case):
    client.force_login(handler)
    response = act(client, case, "clarification_received", on=timezone.localdate().strftime("%d/%m/%Y"))
    assert b"cannot be moved" in response.content
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED


@pytest.mark.parametrize(
    ("role", "status"), [("auditor", 403), ("other_handler", 404), ("agent", 404), ("itadmin", 404)]
)
def test_only_the_handler_or_the_dpo_may_act_on_a_case(client, cast, case, role, status):
    client.force_login(cast[role])
    assert client.post(reverse("requests:case_action", args=[case.pk, "start"])).status_code == status
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED


def test_actions_need_post(client, handler, case):
    client.force_login(handler)
    assert client.get(reverse("requests:case_action", args=[case.pk, "start"])).status_code == 405


def test_an_unknown_action_is_404(client, handler, case):
    client.force_login(handler)
    assert client.post(reverse("requests:case_action", args=[case.pk, "explode"])).status_code == 404


def test_the_handler_cannot_sign_off_its_own_refusal_through_the_page(client, dpo, handler, case):
    client.force_login(handler)
    act(client, case, "start")
    act(client, case, "request_signoff", kind="refusal", reason="Repeat request", refusal_ground="excessive")
    assert (
        client.post(reverse("requests:case_action", args=[case.pk, "signoff"]), {"approve": "yes"}).status_code == 403
    )
    client.force_login(dpo)
    act(client, case, "signoff", approve="yes", notified_on=timezone.localdate().strftime("%d/%m/%Y"))
    case.refresh_from_db()
    assert case.status == Case.Status.REFUSED


def test_logged_page_is_for_agents(client, cast):
    client.force_login(cast["agent"])
    assert client.get(reverse("requests:logged")).status_code == 200
    client.force_login(cast["itadmin"])
    assert client.get(reverse("requests:logged")).status_code == 403
