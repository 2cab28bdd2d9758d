"""A message the mail server accepted can still bounce later: SendGrid's signed Event Webhook
reports "bounce" or "dropped" for it, naming the unique arg the portal put in the message's
X-SMTPAPI header. That correspondence is then marked bounced and the handler sees it on the
case. Events are signed as SendGrid signs them (checked with SendGrid's own library)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from customers.models import EmailEvent
from requests.models import Case, CaseCorrespondence
from requests.services import cases as case_svc
from requests.services import messages
from tests.factories import CaseFactory, CustomerFactory
from tests.fixtures.sendgrid import deliver, event

EMAIL = "pat@example.org"

pytestmark = pytest.mark.usefixtures("sendgrid_key")


@pytest.fixture
def sent_message(db, handler, dpo, smtp_server, django_capture_on_commit_callbacks):
    """One identity request emailed to an online requester, as the SMTP server received it."""
    case = CaseFactory(
        channel=Case.Channel.WEB_FORM,
        customer=CustomerFactory(email=EMAIL),
        requester_email=EMAIL,
        email_verified_at=timezone.now(),
    )
    case_svc.case_assign(actor=dpo, case=case, handler=handler)
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_identity(actor=handler, case=case)
    (message,) = smtp_server.wait_for(EMAIL)
    return case, message


def provider_event(message, kind: str, event_id: str, **extra) -> dict:
    """The event SendGrid posts about `message`: its unique args copied in, smtp-id its Message-ID."""
    unique_args = json.loads(message["X-SMTPAPI"])["unique_args"]
    return event(kind, event_id, email=EMAIL, **{"smtp-id": message["Message-ID"], **unique_args, **extra})


def item_of(case) -> CaseCorrespondence:
    return CaseCorrespondence.objects.get(case=case, direction="outbound")


@pytest.mark.django_db
def test_each_message_carries_its_own_id_for_the_provider_to_report_on(sent_message):
    case, message = sent_message
    item = item_of(case)
    assert message["Message-ID"] == item.message_id and item.message_id.startswith("<pp-")
    assert json.loads(message["X-SMTPAPI"]) == {"unique_args": {messages.CUSTOM_ARG: item.message_id}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "extra"),
    [("bounce", {"type": "bounce"}), ("bounce", {"type": "blocked"}), ("dropped", {"reason": "Bounced Address"})],
)
def test_a_bounce_or_drop_reported_by_sendgrid_marks_the_message_bounced_and_the_handler_sees_it(
    client, client_for, handler, sent_message, kind, extra
):
    case, message = sent_message
    assert item_of(case).delivery == "sent"
    response = deliver(client, [provider_event(message, kind, "sg-1", **extra)])
    assert response.status_code == 200
    item = item_of(case)
    assert item.delivery == CaseCorrespondence.Delivery.BOUNCED
    assert item.history.first().history_change_reason == "Reported bounced by the email provider"
    assert EmailEvent.objects.get(event_id="sendgrid:sg-1").outcome in ("message_bounced", "bounce_flagged")
    html = client_for(handler).get(case.get_absolute_url()).content.decode()
    assert "Bounced" in html


@pytest.mark.django_db
def test_a_redelivered_event_changes_nothing_more(client, sent_message):
    case, message = sent_message
    deliver(client, [provider_event(message, "dropped", "sg-2")])
    count = item_of(case).history.count()
    assert deliver(client, [provider_event(message, "dropped", "sg-2")]).status_code == 200
    assert item_of(case).history.count() == count
    assert EmailEvent.objects.filter(event_id="sendgrid:sg-2").count() == 1


@pytest.mark.django_db
def test_a_delivered_or_opened_message_stays_sent(client, sent_message):
    case, message = sent_message
    deliver(client, [provider_event(message, "delivered", "sg-3"), provider_event(message, "open", "sg-4")])
    assert item_of(case).delivery == "sent"


@pytest.mark.django_db
def test_a_drop_for_a_message_id_we_never_sent_changes_no_correspondence(client, sent_message):
    case, _message = sent_message
    stranger = event("dropped", "sg-5", email=EMAIL, **{messages.CUSTOM_ARG: "<pp-0000@elsewhere>"})
    assert deliver(client, [stranger]).status_code == 200
    assert item_of(case).delivery == "sent"
    assert EmailEvent.objects.get(event_id="sendgrid:sg-5").outcome == "unknown_message"


@pytest.mark.django_db
def test_an_unsigned_bounce_report_is_refused_and_changes_nothing(client, sent_message):
    case, message = sent_message
    assert deliver(client, [provider_event(message, "bounce", "sg-6")], signed=False).status_code == 403
    assert item_of(case).delivery == "sent"


@pytest.mark.django_db
def test_an_over_long_message_id_is_refused_naming_the_event_and_field(client, sent_message):
    _case, _ = sent_message
    bad = event("dropped", "sg-7", email=EMAIL, **{messages.CUSTOM_ARG: "<pp-" + "x" * 200})
    response = deliver(client, [bad])
    assert response.status_code == 400
    assert f"Event 1: field '{messages.CUSTOM_ARG}'" in response.content.decode()
    assert not EmailEvent.objects.exists()
