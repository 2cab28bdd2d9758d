"""Fulfilment of rectification, restriction, objection and the right to be informed; Art 19 tasks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Channel, Customer, PreferenceChange, Purpose
from customers.services.customers import ERR_STALE
from customers.services.disclosures import GUARD_RESTRICTED, DisclosureRefused, disclosure_record
from customers.services.normalise import ERR_POSTCODE
from customers.services.preferences import may_market, preference_record
from customers.services.suppression import is_suppressed
from privacy_portal.private_storage import private_path
from requests.models import Case, CaseDocument, CaseTask
from requests.services import cases as svc
from requests.services import workflow
from requests.services.fulfilment import (
    ERR_CUSTOMER_ERASED,
    ERR_NOT_IN_PROGRESS,
    ERR_REASON_LONG,
    ERR_TASK,
    ERR_TASK_DONE,
    ERR_WRONG_RIGHT,
    REASON_MAX_LENGTH,
    art19_task_done,
)
from requests.services.informed import ERR_CHANNEL, case_inform
from requests.services.objection import case_object
from requests.services.rectification import ERR_FIELD, ERR_NOTHING_CHANGED, case_rectify
from requests.services.restriction import (
    ERR_ALREADY_RESTRICTED,
    ERR_NOT_RESTRICTED,
    case_lift_restriction,
    case_restrict,
)
from tests.factories import CaseFactory, CustomerFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def working_case(dpo, handler, right: str, **kwargs) -> Case:
    case = svc.case_assign(actor=dpo, case=CaseFactory(right=right, **kwargs), handler=handler)
    return svc.case_start(actor=handler, case=case)


def messages(exc_info) -> list[str]:
    return exc_info.value.messages


# --- Rectification -----------------------------------------------------------------------------


def test_rectification_corrects_the_record_with_the_reason_and_tells_recipients_of_contact_data(dpo, handler):
    customer = CustomerFactory(last_name="Smyth", postcode="SE5 9DF")
    courier = RecipientFactory(name="Swift Couriers Ltd")
    DisclosureFactory(customer=customer, recipient=courier, data_categories=["contact", "order"])
    DisclosureFactory(customer=customer, recipient=RecipientFactory(name="Auditors LLP"), data_categories=["order"])
    case = working_case(dpo, handler, "rectification", customer=customer)

    tasks = case_rectify(
        actor=handler, case=case, changes={"last_name": "Smith", "postcode": "se59df"}, reason="Misspelt at sign-up"
    )

    customer.refresh_from_db()
    assert customer.last_name == "Smith" and customer.postcode == "SE5 9DF"
    latest = customer.history.latest()
    assert latest.history_user == handler
    assert latest.history_change_reason == f"Rectification, {case.reference}: Misspelt at sign-up"
    # Only the recipient that received contact or identity data is told.
    assert [(t.title, t.recipient_id, t.kind) for t in tasks] == [
        ("Tell Swift Couriers Ltd about the rectification (Art 19)", courier.pk, CaseTask.Kind.ART19_NOTIFY)
    ]
    # The case's timeline says what was done: field names, not values.
    assert (
        case.history.latest().history_change_reason == "Record rectified (last_name); 1 recipient(s) to tell (Art 19)"
    )


def test_a_second_rectification_does_not_duplicate_an_open_art19_task(dpo, handler):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    case = working_case(dpo, handler, "rectification", customer=customer)
    assert len(case_rectify(actor=handler, case=case, changes={"first_name": "Ada"}, reason="Typo")) == 1
    assert case_rectify(actor=handler, case=case, changes={"town": "Leeds"}, reason="Moved") == []
    assert case.tasks.count() == 1


@pytest.mark.parametrize(
    ("changes", "reason", "expected"),
    [
        ({"first_name": "Ada"}, "", svc.ERR_REASON),
        ({"first_name": "Ada"}, "x" * (REASON_MAX_LENGTH + 1), ERR_REASON_LONG.format(limit=REASON_MAX_LENGTH)),
        ({"marketing_objected": True}, "Asked", ERR_FIELD.format(field="marketing_objected")),
        ({"postcode": "NOT A POSTCODE"}, "Asked", ERR_POSTCODE),
    ],
)
def test_rectification_refuses_bad_input_and_changes_nothing(dpo, handler, changes, reason, expected):
    customer = CustomerFactory(first_name="Ann")
    case = working_case(dpo, handler, "rectification", customer=customer)
    with pytest.raises(ValidationError) as exc:
        case_rectify(actor=handler, case=case, changes=changes, reason=reason)
    assert messages(exc) == [expected]
    customer.refresh_from_db()
    assert customer.first_name == "Ann" and customer.version == 1


def test_rectification_with_nothing_new_is_refused(dpo, handler):
    customer = CustomerFactory(first_name="Ann")
    case = working_case(dpo, handler, "rectification", customer=customer)
    with pytest.raises(ValidationError) as exc:
        case_rectify(actor=handler, case=case, changes={"first_name": " Ann "}, reason="Checked")
    assert messages(exc) == [ERR_NOTHING_CHANGED]


def test_rectification_from_a_stale_form_is_refused(dpo, handler, agent):
    customer = CustomerFactory(first_name="Ann")
    case = working_case(dpo, handler, "rectification", customer=customer)
    customer.first_name = "Anne"
    customer.version = 2
    customer.save()  # someone else saved meanwhile
    with pytest.raises(ValidationError) as exc:
        case_rectify(actor=handler, case=case, changes={"first_name": "Ana"}, reason="Asked", expected_version=1)
    assert messages(exc) == [ERR_STALE]


def test_fulfilment_is_refused_for_another_right_another_status_another_handler_or_an_erased_customer(
    dpo, handler, other_handler
):
    access = working_case(dpo, handler, "access")
    with pytest.raises(ValidationError) as exc:
        case_rectify(actor=handler, case=access, changes={"first_name": "Ada"}, reason="Asked")
    assert messages(exc) == [ERR_WRONG_RIGHT.format(expected="Rectification (Art 16)", actual="Access (Art 15)")]

    received = svc.case_assign(actor=dpo, case=CaseFactory(right="restriction"), handler=handler)
    with pytest.raises(ValidationError) as exc:
        case_restrict(actor=handler, case=received, reason="Accuracy contested")
    assert messages(exc) == [ERR_NOT_IN_PROGRESS.format(status="Received")]

    objection = working_case(dpo, handler, "objection")
    with pytest.raises(ValidationError) as exc:
        case_object(actor=other_handler, case=objection)
    assert messages(exc) == [workflow.ERR_NOT_HANDLER]

    erased = Customer.objects.get(pk=objection.customer_id)
    erased.erased_at = timezone.now()
    erased.save()
    objection.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        case_object(actor=handler, case=objection)
    assert messages(exc) == [ERR_CUSTOMER_ERASED]
    assert not PreferenceChange.objects.exists()


# --- Restriction -------------------------------------------------------------------------------


def test_restriction_refuses_marketing_and_disclosures_until_lifted_and_both_are_recorded(dpo, handler):
    customer = CustomerFactory()
    preference_record(
        actor=handler, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, granted=True,
        source="phone_call",
    )  # fmt: skip
    courier = RecipientFactory(name="Swift Couriers Ltd")
    DisclosureFactory(customer=customer, recipient=courier)
    case = working_case(dpo, handler, "restriction", customer=customer)
    assert may_market(customer, Channel.EMAIL)

    tasks = case_restrict(actor=handler, case=case, reason="Accuracy contested")

    customer.refresh_from_db()
    assert customer.processing_restricted and customer.restricted_at is not None
    assert (
        customer.history.latest().history_change_reason == f"Restricted (Art 18), {case.reference}: Accuracy contested"
    )
    assert [t.title for t in tasks] == ["Tell Swift Couriers Ltd about the restriction (Art 19)"]
    assert not may_market(customer, Channel.EMAIL)
    disclose = dict(
        actor=handler, customer=customer, recipient=courier, data_categories=["contact"], purpose="order_delivery",
        lawful_basis="contract",
    )  # fmt: skip
    with pytest.raises(DisclosureRefused) as exc:
        disclosure_record(**disclose)
    assert GUARD_RESTRICTED in messages(exc)
    with pytest.raises(ValidationError) as exc:
        case_restrict(actor=handler, case=case, reason="Again")
    assert messages(exc) == [ERR_ALREADY_RESTRICTED]

    lifted = case_lift_restriction(actor=handler, case=case, reason="Accuracy verified; requester told")

    customer.refresh_from_db()
    assert not customer.processing_restricted and customer.restricted_at is None
    assert customer.history.latest().history_change_reason == (
        f"Restriction lifted, {case.reference}: Accuracy verified; requester told"
    )
    assert [t.title for t in lifted] == ["Tell Swift Couriers Ltd about the lifting of the restriction (Art 19)"]
    assert case.history.latest().history_change_reason == "Restriction lifted: Accuracy verified; requester told"
    assert may_market(customer, Channel.EMAIL)
    disclosure_record(**disclose)
    with pytest.raises(ValidationError) as exc:
        case_lift_restriction(actor=handler, case=case, reason="Again")
    assert messages(exc) == [ERR_NOT_RESTRICTED]


def test_restriction_needs_a_reason(dpo, handler):
    case = working_case(dpo, handler, "restriction")
    with pytest.raises(ValidationError) as exc:
        case_restrict(actor=handler, case=case, reason="  ")
    assert messages(exc) == [svc.ERR_REASON]
    assert not Customer.objects.get(pk=case.customer_id).processing_restricted


# --- Objection ---------------------------------------------------------------------------------


def test_an_objection_withdraws_all_marketing_on_every_channel_and_suppresses_at_once(dpo, handler):
    customer = CustomerFactory()
    preference_record(
        actor=handler, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.SMS, granted=True,
        source="phone_call",
    )  # fmt: skip
    case = working_case(dpo, handler, "objection", customer=customer)

    changes = case_object(actor=handler, case=case)

    customer.refresh_from_db()
    assert customer.marketing_objected and customer.objected_at is not None
    # An objection also withdraws the reg 21(4) "calls despite the TPS" notification.
    assert {(c.purpose, c.channel) for c in changes} == {(Purpose.DIRECT_MARKETING, ch) for ch in Channel.values} | {
        (Purpose.PERSONALISED_ADS, ""),
        (Purpose.CALLS_DESPITE_TPS, ""),
    }
    assert {c.source for c in changes} == {PreferenceChange.Source.RIGHTS_REQUEST}
    assert all(not c.granted and c.evidence.endswith(case.reference) for c in changes)
    assert all(not may_market(customer, ch) for ch in Channel.values)
    assert is_suppressed(channel=Channel.EMAIL, identifier=customer.email)
    assert is_suppressed(channel=Channel.PHONE, identifier=customer.phone)
    assert case.history.latest().history_user == handler


# --- Informed ----------------------------------------------------------------------------------


def test_informing_attaches_the_supplementary_information_from_the_register_and_notes_it_was_sent(
    dpo, handler, django_capture_on_commit_callbacks
):
    case = working_case(dpo, handler, "informed", customer=None, requester_name="Jo Bloggs")
    with django_capture_on_commit_callbacks(execute=True):
        doc = case_inform(actor=handler, case=case, sent_by="email")
    assert doc.kind == CaseDocument.Kind.CORRESPONDENCE and doc.uploaded_by == handler
    html = private_path(doc.path).read_text()
    assert doc.size == len(html.encode())
    assert "How we use your personal data" in html and case.reference in html
    assert "The London Mint Office" in html and "Information Commissioner" in html
    note = case.notes.get()
    assert note.text == f"Supplementary information (Arts 13-14) sent by email; the copy sent is document #{doc.pk}."
    assert case.history.latest().history_change_reason == "Supplementary information sent by email"


def test_informing_needs_to_say_how_it_was_sent_and_stores_nothing_otherwise(dpo, handler, private_storage):
    case = working_case(dpo, handler, "informed")
    with pytest.raises(ValidationError) as exc:
        case_inform(actor=handler, case=case, sent_by="pigeon")
    assert messages(exc) == [ERR_CHANNEL]
    assert not case.documents.exists() and not list(private_storage.rglob("*"))


def test_no_file_is_left_behind_when_informing_rolls_back(
    dpo, handler, private_storage, django_capture_on_commit_callbacks
):
    case = working_case(dpo, handler, "informed")

    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):  # noqa: SIM117
        with transaction.atomic():
            case_inform(actor=handler, case=case, sent_by="post")
            raise Boom
    assert callbacks == [] and not list(private_storage.rglob("*.html")) and not case.documents.exists()


# --- Art 19 tasks ------------------------------------------------------------------------------


def test_an_art19_task_is_ticked_off_once_with_who_and_when(dpo, handler):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    case = working_case(dpo, handler, "restriction", customer=customer)
    (task,) = case_restrict(actor=handler, case=case, reason="Accuracy contested")

    done = art19_task_done(actor=handler, case=case, task_id=task.pk)

    assert done.done_by == handler and done.done_at is not None
    assert done.history.latest().history_user == handler
    with pytest.raises(ValidationError) as exc:
        art19_task_done(actor=handler, case=case, task_id=task.pk)
    assert messages(exc) == [ERR_TASK_DONE]
    other = working_case(dpo, handler, "access")
    with pytest.raises(ValidationError) as exc:
        art19_task_done(actor=handler, case=other, task_id=task.pk)
    assert messages(exc) == [ERR_TASK]


def test_after_an_erasure_closes_its_case_the_dpo_ticks_off_the_recipients_and_the_handler_cannot(
    agent, dpo, handler, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=timezone.localdate(), customer=customer
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Confirmed")
    with django_capture_on_commit_callbacks(execute=True):
        svc.case_signoff(actor=dpo, case=case, approve=True)
    task = case.tasks.get()
    handler = type(handler).objects.get(pk=handler.pk)  # fresh permission cache
    with pytest.raises(ValidationError) as exc:
        art19_task_done(actor=handler, case=case, task_id=task.pk)
    assert messages(exc) == [workflow.ERR_NOT_HANDLER]
    assert art19_task_done(actor=dpo, case=case, task_id=task.pk).done_by == dpo
