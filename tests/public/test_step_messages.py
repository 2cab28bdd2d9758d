"""Every step of a request filed on the public form emails the requester, from the DPO's
templates, once the step has committed: identity request, clarification request, extension (with
its reason), refusal (reason, complaint to us, to the ICO, to court), completion. Each message is
in the case's correspondence with its sending time and delivery status, read back here from a
real SMTP server (aiosmtpd). A step rolled back sends nothing; a retried task sends nothing more."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import transaction
from django.utils import timezone

from requests import tasks
from requests.models import Case, CaseCorrespondence
from requests.services import cases as case_svc
from requests.services import messages
from tests.factories import CaseFactory, CustomerFactory

EMAIL = "pat@example.org"


@pytest.fixture
def web_case(db, handler, dpo):
    case = CaseFactory(
        channel=Case.Channel.WEB_FORM,
        customer=CustomerFactory(email=EMAIL),
        requester_name="Pat Online",
        requester_email=EMAIL,
        email_verified_at=timezone.now(),
    )
    case_svc.case_assign(actor=dpo, case=case, handler=handler)
    return case


def sent(case) -> list[tuple[str, str]]:
    items = CaseCorrespondence.objects.filter(case=case, direction="outbound").order_by("pk")
    return [(c.template_key, c.delivery) for c in items]


@pytest.mark.django_db
def test_each_step_emails_the_requester_its_message_and_records_when_and_whether_it_was_sent(
    web_case,
    handler,
    dpo,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    box = smtp_server
    run = django_capture_on_commit_callbacks
    with run(execute=True):
        case_svc.case_request_identity(actor=handler, case=web_case)
    with run(execute=True):
        case_svc.case_decide_identity(actor=handler, case=web_case, verified=True)
    with run(execute=True):
        case_svc.case_request_clarification(actor=handler, case=web_case, question="Which of your two accounts?")
    case_svc.case_clarification_received(actor=handler, case=web_case)
    with run(execute=True):
        case_svc.case_request_signoff(actor=handler, case=web_case, kind="extension", reason="Ten years of recordings")
    with run(execute=True):
        case_svc.case_signoff(actor=dpo, case=web_case, approve=True, notified_on=timezone.localdate())
    with run(execute=True):
        case_svc.case_complete(actor=handler, case=web_case, outcome="Your data was sent to you.")

    mails = box.wait_for(EMAIL, 4)
    assert len(mails) == 4  # sign-off requests and identity decisions are staff steps: no email
    identity, clarification, extension, completion = mails
    assert "confirm your identity" in identity["Subject"] and "/p/case/" in box.body(identity)
    assert "Which of your two accounts?" in box.body(clarification)
    web_case.refresh_from_db()
    body = box.body(extension)
    assert "More time is needed" in extension["Subject"] and "Ten years of recordings" in body
    assert f"{web_case.due_on:%-d %B %Y}" in body
    body = box.body(completion)
    assert web_case.reference in completion["Subject"] and "Your data was sent to you." in body
    assert "Download the copy of your data from your secure page" in body and "/p/case/" in body
    assert sent(web_case) == [
        ("identity_request", "sent"),
        ("clarification_request", "sent"),
        ("extension", "sent"),
        ("completion", "sent"),
    ]
    for item in CaseCorrespondence.objects.filter(case=web_case, direction="outbound"):
        assert item.sent_at is not None and item.template_version == 1
        assert item.history.filter(history_change_reason__endswith="emailed (Sent)").exists()


@pytest.mark.django_db
def test_a_refusal_tells_the_reason_and_the_right_to_complain_to_us_the_ico_and_a_court(
    web_case,
    handler,
    dpo,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    case_svc.case_start(actor=handler, case=web_case)
    case_svc.case_request_signoff(
        actor=handler, case=web_case, kind="refusal", reason="The fifth identical request", refusal_ground="excessive"
    )
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_signoff(actor=dpo, case=web_case, approve=True, notified_on=timezone.localdate())
    (message,) = smtp_server.wait_for(EMAIL)
    body = " ".join(smtp_server.body(message).split())
    assert "The fifth identical request" in body
    assert Case.RefusalGround.EXCESSIVE.label in body
    assert "complain to us first" in body and "/p/complaint/" in body
    assert "Data (Use and Access) Act 2025" in body
    assert "Information Commissioner's Office" in body and "go to court" in body
    assert sent(web_case) == [("refusal", "sent")]


@pytest.mark.django_db
def test_the_messages_use_the_dpos_current_template_version(
    web_case,
    handler,
    dpo,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    messages.message_template_update(
        actor=dpo,
        key="completion",
        subject="Done: ${reference}",
        body="All finished: ${outcome}",
        reason="Shorter",
    )
    case_svc.case_start(actor=handler, case=web_case)
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_complete(actor=handler, case=web_case, outcome="Sent by post.")
    (message,) = smtp_server.wait_for(EMAIL)
    assert message["Subject"] == f"Done: {web_case.reference}"
    assert "All finished: Sent by post." in smtp_server.body(message)
    item = CaseCorrespondence.objects.get(case=web_case, direction="outbound")
    assert (item.template_key, item.template_version) == ("completion", 2)


@pytest.mark.django_db
def test_a_step_rolled_back_sends_nothing_and_records_nothing(
    web_case,
    handler,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        case_svc.case_request_identity(actor=handler, case=web_case)
        raise RuntimeError("the step fails after its message was queued")
    assert callbacks == []
    time.sleep(0.5)
    assert smtp_server.to(EMAIL) == []
    assert sent(web_case) == []


@pytest.mark.django_db
def test_a_retried_or_repeated_send_task_sends_the_message_once(
    web_case,
    handler,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_identity(actor=handler, case=web_case)
    smtp_server.wait_for(EMAIL)
    item = CaseCorrespondence.objects.get(case=web_case, direction="outbound")
    assert tasks.send_case_message.apply(args=[item.pk]).get() == "sent"  # a second delivery of the task
    tasks.send_case_message(item.pk)
    messages.messages_sweep(now=timezone.now() + datetime.timedelta(hours=1))
    time.sleep(0.5)
    assert len(smtp_server.to(EMAIL)) == 1
    assert sent(web_case) == [("identity_request", "sent")]


@pytest.mark.django_db
def test_a_message_whose_task_was_lost_is_sent_by_the_sweep_once(web_case, handler, smtp_server):
    # No on-commit callbacks run here: as if the broker was down when the step committed.
    case_svc.case_request_identity(actor=handler, case=web_case)
    assert sent(web_case) == [("identity_request", "queued")]
    assert messages.messages_sweep() == 0  # too recent: its task may still be on its way
    assert messages.messages_sweep(now=timezone.now() + messages.QUEUED_SWEEP_AFTER * 2) == 1
    smtp_server.wait_for(EMAIL)
    assert messages.messages_sweep(now=timezone.now() + messages.QUEUED_SWEEP_AFTER * 2) == 0
    time.sleep(0.5)
    assert len(smtp_server.to(EMAIL)) == 1
    assert sent(web_case) == [("identity_request", "sent")]


@pytest.mark.django_db
def test_a_step_on_a_case_not_from_the_public_form_emails_nobody(
    handler,
    dpo,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(requester_email=EMAIL)  # logged by an agent: no verified address
    case_svc.case_assign(actor=dpo, case=case, handler=handler)
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_identity(actor=handler, case=case)
    time.sleep(0.5)
    assert smtp_server.to(EMAIL) == [] and sent(case) == []


@pytest.mark.django_db
def test_a_message_the_server_refuses_is_recorded_bounced_and_shown_to_the_handler(
    web_case,
    handler,
    smtp_server,
    client_for,
    django_capture_on_commit_callbacks,
):
    smtp_server.refuse.add(EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_identity(actor=handler, case=web_case)
    assert sent(web_case) == [("identity_request", "bounced")]
    html = client_for(handler).get(web_case.get_absolute_url()).content.decode()
    assert "Bounced" in html
