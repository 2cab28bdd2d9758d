"""Calls and correspondence: the register, who may read transcripts, and brief records."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from customers.models import Call, Correspondence
from customers.services import calls as call_services
from customers.services.calls import call_attach_transcript, call_register, correspondence_record
from customers.services.normalise import ERR_PHONE
from privacy_portal.models import AccessEvent
from tests.factories import CallFactory, CorrespondenceFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TRANSCRIPT = "Caller: Please stop sending me the medal catalogue."


@pytest.fixture
def customer():
    return CustomerFactory(phone="+447911123456")


@pytest.fixture
def call(customer):
    return CallFactory(
        customer=customer,
        customer_number="+447911123456",
        our_number="+442079460000",
        duration_seconds=245,
        recording_ref="rec://calls/2025/00000042.wav",
        transcript=TRANSCRIPT,
        transcript_provider="Example Transcribe Inc. (US)",
    )


# --- Services ------------------------------------------------------------------------


def _letter(**overrides):
    data = {
        "direction": "inbound",
        "medium": "letter",
        "occurred_at": timezone.now() - datetime.timedelta(hours=2),
        "summary": "  Asked for the Coronation catalogue.  ",
    }
    return data | overrides


def test_correspondence_is_recorded_with_who_recorded_it_and_history(agent, customer):
    record = correspondence_record(actor=agent, customer=customer, **_letter())
    assert record.summary == "Asked for the Coronation catalogue."
    assert record.recorded_by == agent
    assert record.history.get().history_user == agent


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"direction": "sideways"}, "direction", call_services.ERR_DIRECTION),
        ({"medium": "pigeon"}, "medium", call_services.ERR_MEDIUM),
        (
            {"occurred_at": timezone.now() + datetime.timedelta(days=1)},
            "occurred_at",
            call_services.ERR_OCCURRED_FUTURE,
        ),
        (
            {"occurred_at": timezone.now() - datetime.timedelta(days=200)},
            "occurred_at",
            call_services.ERR_OCCURRED_EXPIRED,
        ),
        ({"summary": "   "}, "summary", call_services.ERR_SUMMARY_EMPTY),
        ({"summary": "x" * (call_services.SUMMARY_MAX_LENGTH + 1)}, "summary", call_services.ERR_SUMMARY_LONG),
    ],
)
def test_bad_correspondence_is_refused_naming_the_field_and_nothing_is_saved(
    agent, customer, overrides, field, message
):
    with pytest.raises(ValidationError) as exc:
        correspondence_record(actor=agent, customer=customer, **_letter(**overrides))
    assert exc.value.message_dict[field] == [message]
    assert not Correspondence.objects.exists()


def test_a_summary_of_exactly_the_maximum_length_is_accepted(agent, customer):
    summary = "x" * call_services.SUMMARY_MAX_LENGTH
    assert correspondence_record(actor=agent, customer=customer, **_letter(summary=summary)).summary == summary


def test_nothing_more_is_recorded_about_an_erased_customer(agent):
    erased = CustomerFactory(erased_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        correspondence_record(actor=agent, customer=erased, **_letter())
    assert exc.value.messages == [call_services.ERR_ERASED]


def _call_data(**overrides):
    data = {
        "direction": "inbound",
        "customer_number": "07911 123 456",
        "our_number": "+44 (0)20 7946 0000",
        "started_at": timezone.now() - datetime.timedelta(minutes=10),
        "duration_seconds": 300,
        "purpose": "complaint",
        "recording_ref": "rec://calls/2025/1.wav",
    }
    return data | overrides


def test_the_telephony_integration_registers_a_call_with_numbers_in_e164(customer):
    call = call_register(customer=customer, **_call_data())
    assert (call.customer_number, call.our_number) == ("+447911123456", "+442079460000")
    assert call.history.count() == 1


def test_a_call_from_an_unidentified_caller_is_registered_without_a_customer():
    assert call_register(customer=None, **_call_data()).customer is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"customer_number": "12345"}, "customer_number", ERR_PHONE),
        ({"our_number": ""}, "our_number", call_services.ERR_CALL_NUMBER),
        ({"direction": "both"}, "direction", call_services.ERR_CALL_DIRECTION),
        ({"purpose": "gossip"}, "purpose", call_services.ERR_CALL_PURPOSE),
        ({"duration_seconds": -1}, "duration_seconds", call_services.ERR_CALL_DURATION),
        (
            {"started_at": timezone.now() + datetime.timedelta(hours=1)},
            "started_at",
            call_services.ERR_CALL_STARTED_FUTURE,
        ),
        ({"recording_ref": " "}, "recording_ref", call_services.ERR_CALL_RECORDING),
        ({"transcript": "Hello"}, "transcript_provider", call_services.ERR_TRANSCRIPT_PROVIDER),
    ],
)
def test_a_bad_call_is_refused_naming_the_field(customer, overrides, field, message):
    with pytest.raises(ValidationError) as exc:
        call_register(customer=customer, **_call_data(**overrides))
    assert exc.value.message_dict[field] == [message]
    assert not Call.objects.exists()


def test_a_transcript_delivered_later_is_attached_with_its_provider(customer):
    call = call_register(customer=customer, **_call_data())
    call_attach_transcript(call=call, transcript=TRANSCRIPT, provider="Example Transcribe Inc. (US)")
    call.refresh_from_db()
    assert (call.transcript, call.transcript_provider) == (TRANSCRIPT, "Example Transcribe Inc. (US)")
    with pytest.raises(ValidationError):
        call_attach_transcript(call=call, transcript=TRANSCRIPT, provider=" ")


def test_a_call_sent_for_transcription_is_in_the_disclosure_log_so_art19_and_the_erasure_preview_name_it(
    customer,
):
    from customers.models import Disclosure, Recipient
    from customers.selectors.disclosures import art19_recipients
    from requests.services.erasure import erasure_preview

    transcriber = Recipient.objects.get(category=Recipient.Category.CALL_TRANSCRIPTION)
    assert transcriber.country == "US"
    call = call_register(customer=customer, **_call_data())
    assert not Disclosure.objects.filter(customer=customer).exists()  # no transcript yet: nothing sent
    call_attach_transcript(call=call, transcript=TRANSCRIPT, provider=transcriber.name)
    call_attach_transcript(call=call, transcript=TRANSCRIPT, provider=transcriber.name)  # delivered twice
    disclosure = Disclosure.objects.get(customer=customer)
    assert (disclosure.recipient, disclosure.purpose, disclosure.data_categories) == (
        transcriber,
        "call_transcription",
        ["call_recording"],
    )
    assert disclosure.recorded_by is None and disclosure.via == Disclosure.Via.TRANSCRIPTION
    assert disclosure.history.get().history_change_reason == "Call sent for transcription"
    assert [entry.recipient for entry in art19_recipients(customer)] == [transcriber]
    assert erasure_preview(customer=customer).recipients == [transcriber.name]
    # Registered with its transcript at once: recorded too.
    call_register(customer=customer, **_call_data(transcript=TRANSCRIPT, transcript_provider=transcriber.code))
    assert Disclosure.objects.filter(customer=customer, recipient=transcriber).count() == 2


def test_a_transcript_from_a_provider_missing_from_the_register_is_refused_and_nothing_is_stored(customer):
    from customers.models import Recipient
    from customers.services.disclosures import ERR_NO_TRANSCRIBER

    for recipient in Recipient.objects.filter(category=Recipient.Category.CALL_TRANSCRIPTION):
        recipient.active = False
        recipient.save()
    with pytest.raises(ValidationError) as exc:
        call_register(customer=customer, **_call_data(transcript=TRANSCRIPT, transcript_provider="Unknown AI Ltd"))
    assert exc.value.message_dict["transcript_provider"] == [ERR_NO_TRANSCRIBER.format(provider="Unknown AI Ltd")]
    assert not Call.objects.exists()


# --- The calls list ------------------------------------------------------------------


def test_the_dpo_sees_the_customers_calls_with_numbers_formatted(client_for, dpo, call):
    CallFactory(recording_ref="rec://someone-else.wav")
    response = client_for(dpo).get(reverse("customers:calls", args=[call.customer_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "07911 123456" in page
    assert "020 7946 0000" in page
    assert "4 min 05 s" in page
    assert "Customer service" in page
    assert "rec://calls/2025/00000042.wav" in page
    assert "rec://someone-else.wav" not in page
    assert reverse("customers:call_transcript", args=[call.pk]) in page
    # The list never shows the transcript itself.
    assert TRANSCRIPT not in page


def test_listing_calls_is_recorded_in_the_access_log(client_for, auditor, call):
    client_for(auditor).get(reverse("customers:calls", args=[call.customer_id]))
    event = AccessEvent.objects.get()
    assert (event.user, event.action, event.customer_id) == (auditor, AccessEvent.Action.VIEW_CALLS, call.customer_id)


def test_the_calls_list_takes_a_bounded_number_of_queries(client_for, dpo, customer, django_assert_max_num_queries):
    CallFactory.create_batch(15, customer=customer)
    client = client_for(dpo)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("customers:calls", args=[customer.pk])).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 403),  # knows the customer, never their calls
        ("handler", 404),  # no case on this customer: may not know it exists
        ("other_handler", 404),
        ("dpo", 200),
        ("auditor", 200),
        ("itadmin", 404),
        ("nobody", 403),
    ],
)
def test_only_the_dpo_and_auditors_may_list_calls(client_for, cast, call, role, status):
    response = client_for(cast[role]).get(reverse("customers:calls", args=[call.customer_id]))
    assert response.status_code == status
    assert AccessEvent.objects.filter(action=AccessEvent.Action.VIEW_CALLS).exists() == (status == 200)


def test_the_calls_list_rejects_post(client_for, dpo, call):
    assert client_for(dpo).post(reverse("customers:calls", args=[call.customer_id])).status_code == 405


def test_the_calls_list_of_an_unknown_customer_is_not_found(client_for, dpo):
    assert client_for(dpo).get(reverse("customers:calls", args=[999999])).status_code == 404


# --- Transcripts ---------------------------------------------------------------------


def test_the_dpo_reads_a_transcript_and_which_provider_made_it(client_for, dpo, call):
    response = client_for(dpo).get(reverse("customers:call_transcript", args=[call.pk]))
    assert response.status_code == 200
    assert TRANSCRIPT in response.content.decode()
    assert "Example Transcribe Inc. (US)" in response.content.decode()


def test_reading_a_transcript_is_recorded_with_the_call(client_for, auditor, call):
    client_for(auditor).get(reverse("customers:call_transcript", args=[call.pk]))
    event = AccessEvent.objects.get()
    assert event.action == AccessEvent.Action.VIEW_TRANSCRIPT
    assert (event.customer_id, event.object_type, event.object_id) == (call.customer_id, "customers.Call", call.pk)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 404),
        ("handler", 404),
        ("other_handler", 404),
        ("dpo", 200),
        ("auditor", 200),
        ("itadmin", 404),
        ("nobody", 403),
    ],
)
def test_agents_and_handlers_without_the_case_cannot_read_transcripts(client_for, cast, call, role, status):
    response = client_for(cast[role]).get(reverse("customers:call_transcript", args=[call.pk]))
    assert response.status_code == status
    assert (TRANSCRIPT in response.content.decode()) == (status == 200)
    assert AccessEvent.objects.exists() == (status == 200)


def test_a_handler_on_the_customers_case_reads_its_transcripts_only(client_for, handler, call):
    assign_perm("customers.view_transcript", handler, call.customer)
    other_call = CallFactory()
    client = client_for(handler)
    assert client.get(reverse("customers:call_transcript", args=[call.pk])).status_code == 200
    assert client.get(reverse("customers:call_transcript", args=[other_call.pk])).status_code == 404


def test_an_unidentified_callers_transcript_needs_the_model_wide_permission(client_for, dpo, handler, call):
    anonymous_call = CallFactory(customer=None)
    assign_perm("customers.view_transcript", handler, call.customer)
    assert client_for(handler).get(reverse("customers:call_transcript", args=[anonymous_call.pk])).status_code == 404
    assert client_for(dpo).get(reverse("customers:call_transcript", args=[anonymous_call.pk])).status_code == 200


def test_a_missing_call_and_a_forbidden_one_look_the_same(client_for, agent, call):
    client = client_for(agent)
    assert client.get(reverse("customers:call_transcript", args=[call.pk])).status_code == 404
    assert client.get(reverse("customers:call_transcript", args=[call.pk + 1000])).status_code == 404


def test_the_transcript_page_rejects_post(client_for, dpo, call):
    assert client_for(dpo).post(reverse("customers:call_transcript", args=[call.pk])).status_code == 405


# --- Correspondence ------------------------------------------------------------------


def test_an_agent_sees_the_correspondence_and_the_form_to_add_one(client_for, agent, customer):
    CorrespondenceFactory(customer=customer, summary="Asked for the Coronation catalogue.")
    CorrespondenceFactory(summary="Someone else's letter.")
    response = client_for(agent).get(reverse("customers:correspondence", args=[customer.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Asked for the Coronation catalogue." in page
    assert "Someone else&#x27;s letter." not in page
    assert reverse("customers:correspondence_add", args=[customer.pk]) in page
    event = AccessEvent.objects.get()
    assert (event.user, event.customer_id) == (agent, customer.pk)


def test_an_auditor_reads_correspondence_but_gets_no_form(client_for, auditor, customer):
    response = client_for(auditor).get(reverse("customers:correspondence", args=[customer.pk]))
    assert response.status_code == 200
    assert reverse("customers:correspondence_add", args=[customer.pk]) not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 200),
        ("handler", 404),  # no case on this customer: may not know it exists
        ("other_handler", 404),
        ("dpo", 200),
        ("auditor", 200),
        ("itadmin", 404),
        ("nobody", 403),
    ],
)
def test_who_may_read_correspondence(client_for, cast, customer, role, status):
    assert client_for(cast[role]).get(reverse("customers:correspondence", args=[customer.pk])).status_code == status


def test_an_agent_records_correspondence(client_for, agent, customer):
    response = client_for(agent).post(
        reverse("customers:correspondence_add", args=[customer.pk]),
        {
            "direction": "outbound",
            "medium": "email",
            "occurred_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
            "summary": "Sent the returns label.",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:correspondence", args=[customer.pk])
    record = Correspondence.objects.get()
    assert (record.customer, record.recorded_by, record.medium) == (customer, agent, "email")


def test_a_too_long_summary_gets_a_clear_message_and_nothing_is_saved(client_for, agent, customer):
    response = client_for(agent).post(
        reverse("customers:correspondence_add", args=[customer.pk]),
        {
            "direction": "inbound",
            "medium": "letter",
            "occurred_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
            "summary": "x" * (call_services.SUMMARY_MAX_LENGTH + 1),
        },
    )
    assert response.status_code == 400
    assert call_services.ERR_SUMMARY_LONG in response.content.decode()
    assert not Correspondence.objects.exists()


def test_a_future_date_gets_a_clear_message(client_for, agent, customer):
    tomorrow = timezone.localtime() + datetime.timedelta(days=1)
    response = client_for(agent).post(
        reverse("customers:correspondence_add", args=[customer.pk]),
        {"direction": "inbound", "medium": "sms", "occurred_at": tomorrow.strftime("%d/%m/%Y %H:%M"), "summary": "Hi"},
    )
    assert response.status_code == 400
    assert call_services.ERR_OCCURRED_FUTURE in response.content.decode()
    assert not Correspondence.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 302),
        ("handler", 403),
        ("other_handler", 403),
        ("dpo", 302),
        ("auditor", 403),
        ("itadmin", 403),
        ("nobody", 403),
    ],
)
def test_who_may_record_correspondence(client_for, cast, customer, role, status):
    response = client_for(cast[role]).post(
        reverse("customers:correspondence_add", args=[customer.pk]),
        {"direction": "inbound", "medium": "phone", "occurred_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
         "summary": "Called about a delivery."},
    )  # fmt: skip
    assert response.status_code == status
    assert Correspondence.objects.exists() == (status == 302)


def test_the_correspondence_pages_reject_the_wrong_method(client_for, agent, customer):
    client = client_for(agent)
    assert client.post(reverse("customers:correspondence", args=[customer.pk])).status_code == 405
    assert client.get(reverse("customers:correspondence_add", args=[customer.pk])).status_code == 405
