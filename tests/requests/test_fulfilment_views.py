"""Fulfilment on the case page: the actions for each right, the erasure preview, Art 19 tasks, by role."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, PreferenceChange
from customers.services.customers import CONTACT_FIELDS, ERR_STALE
from requests.models import Case, CaseDocument, CaseTask
from requests.services import cases as svc
from requests.services.restriction import case_restrict
from requests.views import fulfilment
from tests.factories import CaseFactory, CustomerFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db

FULFILMENT_ACTIONS = ["rectify", "restrict", "lift_restriction", "object", "inform", "art19_done"]
# The action offered on the page for each right, by its button.
BUTTONS = {
    "rectification": "Save the correction",
    "restriction": "Restrict processing",
    "objection": "Stop all marketing now",
    "informed": "Attach it and record it as sent",
}


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def working_case(dpo, handler, right: str, **kwargs) -> Case:
    case = svc.case_assign(actor=dpo, case=CaseFactory(right=right, **kwargs), handler=handler)
    return svc.case_start(actor=handler, case=case)


def act(client, case, action, **data):
    return client.post(reverse("requests:case_action", args=[case.pk, action]), data, follow=True)


def page(client, case) -> str:
    response = client.get(reverse("requests:case", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("right", [*BUTTONS, "access", "erasure"])
def test_the_page_offers_the_action_for_the_cases_right_only_while_in_progress(client_for, dpo, handler, right):
    client = client_for(handler)
    received = svc.case_assign(actor=dpo, case=CaseFactory(right=right), handler=handler)
    assert not [b for b in BUTTONS.values() if b in page(client, received)]
    case = svc.case_start(actor=handler, case=received)
    body = page(client, case)
    assert [b for b in BUTTONS.values() if b in body] == ([BUTTONS[right]] if right in BUTTONS else [])


def test_the_handler_corrects_the_record_from_the_prefilled_form(client_for, dpo, handler):
    customer = CustomerFactory(last_name="Smyth")
    DisclosureFactory(customer=customer, recipient=RecipientFactory(name="Swift Couriers Ltd"))
    case = working_case(dpo, handler, "rectification", customer=customer)
    client = client_for(handler)
    assert 'value="Smyth"' in page(client, case)
    data = {f: getattr(customer, f) or "" for f in CONTACT_FIELDS} | {"date_of_birth": "17/05/1960"}
    data |= {"last_name": "Smith", "reason": "Misspelt at sign-up", "expected_version": customer.version}

    response = act(client, case, "rectify", **data)

    assert fulfilment.MSG_RECTIFIED + fulfilment.MSG_TASKS.format(n=1) in response.content.decode()
    customer.refresh_from_db()
    assert customer.last_name == "Smith"
    assert "Tell Swift Couriers Ltd about the rectification (Art 19)" in response.content.decode()


def test_a_correction_from_a_stale_page_is_refused_with_a_message(client_for, dpo, handler):
    customer = CustomerFactory(last_name="Smyth")
    case = working_case(dpo, handler, "rectification", customer=customer)
    client = client_for(handler)
    data = {f: getattr(customer, f) or "" for f in CONTACT_FIELDS} | {"date_of_birth": ""}
    data |= {"last_name": "Smith", "reason": "Misspelt", "expected_version": customer.version - 1}
    response = act(client, case, "rectify", **data)
    assert ERR_STALE in response.content.decode()
    customer.refresh_from_db()
    assert customer.last_name == "Smyth"


def test_the_handler_restricts_then_lifts_from_the_page(client_for, dpo, handler):
    case = working_case(dpo, handler, "restriction")
    client = client_for(handler)
    response = act(client, case, "restrict", reason="Accuracy contested")
    body = response.content.decode()
    assert fulfilment.MSG_RESTRICTED + fulfilment.MSG_TASKS.format(n=0) in body
    assert "Lift the restriction" in body
    assert Customer.objects.get(pk=case.customer_id).processing_restricted
    response = act(client, case, "lift_restriction", reason="Verified; requester told")
    assert fulfilment.MSG_LIFTED in response.content.decode()
    assert not Customer.objects.get(pk=case.customer_id).processing_restricted


def test_a_restriction_without_a_reason_is_refused_with_a_message(client_for, dpo, handler):
    case = working_case(dpo, handler, "restriction")
    client = client_for(handler)
    assert "This field is required." in act(client, case, "restrict", reason="").content.decode()
    assert not Customer.objects.get(pk=case.customer_id).processing_restricted


def test_the_handler_records_an_objection_from_the_page(client_for, dpo, handler):
    case = working_case(dpo, handler, "objection")
    client = client_for(handler)
    body = act(client, case, "object").content.decode()
    # Five marketing purposes and channels, and the reg 21(4) "calls despite the TPS" notification.
    assert fulfilment.MSG_OBJECTED.format(n=6) in body
    assert "objection to marketing is recorded" in body
    assert Customer.objects.get(pk=case.customer_id).marketing_objected
    assert PreferenceChange.objects.filter(source="rights_request").count() == 6


def test_the_handler_sends_the_supplementary_information_and_can_download_what_was_sent(
    client_for, dpo, handler, django_capture_on_commit_callbacks
):
    case = working_case(dpo, handler, "informed")
    client = client_for(handler)
    with django_capture_on_commit_callbacks(execute=True):
        body = act(client, case, "inform", sent_by="post").content.decode()
    assert "The supplementary information is attached under Documents" in body
    assert "Supplementary information (Arts 13-14) sent by post" in body
    doc = case.documents.get(kind=CaseDocument.Kind.CORRESPONDENCE)
    response = client.get(reverse("requests:document", args=[case.pk, doc.pk]))
    assert response.status_code == 200
    assert b"How we use your personal data" in b"".join(response.streaming_content)


def test_the_dpo_sees_what_erasure_will_do_before_signing_off_and_the_erased_record_after(
    client_for, agent, dpo, handler, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(first_name="Ottoline", last_name="Fairweather")
    DisclosureFactory(customer=customer, recipient=RecipientFactory(name="Swift Couriers Ltd"))
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=timezone.localdate(), customer=customer
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Identity confirmed")
    client = client_for(dpo)
    body = page(client, case)
    assert "What erasure will do" in body
    assert "Recipients to tell of the erasure (Art 19): Swift Couriers Ltd" in body
    assert "Purchases, detached from the person" in body

    with django_capture_on_commit_callbacks(execute=True):
        body = act(client, case, "signoff", approve="yes").content.decode()

    assert "Signed off." in body and "What erasure will do" not in body
    assert "Certificate of erasure" in body and "Fairweather" not in body
    assert "Tell Swift Couriers Ltd about the erasure (Art 19)" in body
    assert "Erased" in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_the_preview_is_shown_only_for_erasure_cases(client_for, dpo, handler):
    client = client_for(handler)
    assert "What erasure will do" not in page(client, working_case(dpo, handler, "access"))
    assert "What erasure will do" in page(client, working_case(dpo, handler, "erasure"))


def test_the_dpo_marks_a_recipient_told_on_a_closed_erasure_case(
    client_for, dpo, handler, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    case = working_case(dpo, handler, "erasure", customer=customer)
    svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Confirmed")
    with django_capture_on_commit_callbacks(execute=True):
        svc.case_signoff(actor=dpo, case=case, approve=True)
    task = case.tasks.get()
    client = client_for(dpo)
    assert "Mark as done" in page(client, case)
    body = act(client, case, "art19_done", task_id=task.pk).content.decode()
    assert f"Done: {task.title}." in body and "Mark as done" not in body
    task.refresh_from_db()
    assert task.done_by == dpo


def test_the_tasks_show_each_recipients_contact(client_for, dpo, handler):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer, recipient=RecipientFactory(contact="dpo@swift.example.co.uk"))
    case = working_case(dpo, handler, "restriction", customer=customer)
    case_restrict(actor=handler, case=case, reason="Accuracy contested")
    client = client_for(handler)
    assert "dpo@swift.example.co.uk" in page(client, case)


@pytest.mark.parametrize("action", FULFILMENT_ACTIONS)
def test_fulfilment_actions_need_post(client_for, dpo, handler, action):
    case = working_case(dpo, handler, "restriction")
    client = client_for(handler)
    assert client.get(reverse("requests:case_action", args=[case.pk, action])).status_code == 405


@pytest.mark.parametrize(
    ("role", "status"),
    [("auditor", 403), ("other_handler", 404), ("agent", 404), ("itadmin", 404), ("nobody", 403), ("handler", 302)],
)
def test_only_the_handler_or_the_dpo_fulfils(client_for, cast, dpo, role, status):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    case = working_case(dpo, cast["handler"], "restriction", customer=customer)
    client = client_for(cast[role])
    url = reverse("requests:case_action", args=[case.pk, "restrict"])
    assert client.post(url, {"reason": "Accuracy contested"}).status_code == status
    assert Customer.objects.get(pk=customer.pk).processing_restricted == (role == "handler")
    task = CaseTask.objects.filter(case=case).first()
    if task is not None:
        url = reverse("requests:case_action", args=[case.pk, "art19_done"])
        client = client_for(cast["other_handler"])
        assert client.post(url, {"task_id": task.pk}).status_code == 404
        task.refresh_from_db()
        assert task.done_at is None
