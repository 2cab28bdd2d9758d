"""Emails to staff go through privacy_portal/mail.py (the one home: tests/test_one_home_rules.py):
the DPO told of a break-glass opening, a breach, a broken access log; each sent through the real
SMTP path, and logged by its kind and ids, never its subject, body or address."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from privacy_portal.mail import email_dpo, email_staff
from requests.services import breaches as breach_svc
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
REASON = "Customer rang the complaints line; their case is with a colleague on leave."


def _mail_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.mail"]


def test_an_email_to_the_dpo_goes_to_the_dpo_and_the_log_names_its_kind_and_ids_only(settings, caplog):
    settings.DPO_EMAIL = "dpo@example.org"
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        email_dpo(subject="About Ms Ashcombe", body="Ms Ashcombe, 5 Oak Lane", kind="test", customer_id=12)
    (sent,) = mail.outbox
    assert sent.to == ["dpo@example.org"] and sent.from_email == settings.DEFAULT_FROM_EMAIL
    assert sent.subject == "About Ms Ashcombe" and sent.body == "Ms Ashcombe, 5 Oak Lane"
    assert _mail_log(caplog) == ["email sent kind=test recipients=1 customer_id=12"]


def test_an_email_to_staff_names_no_address_in_the_log(caplog):
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        email_staff(to=["h.ashcombe@example.org"], subject="s", body="b", kind="password_link", user_id=3)
    assert mail.outbox[0].to == ["h.ashcombe@example.org"]
    assert _mail_log(caplog) == ["email sent kind=password_link recipients=1 user_id=3"]


def test_a_break_glass_opening_tells_the_dpo_through_the_home_and_logs_ids(client_for, handler, settings, caplog):
    settings.DPO_EMAIL = "dpo@example.org"
    customer = CustomerFactory(last_name="Quennell")
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        client_for(handler).post(reverse("customers:break_glass"), {"reference": customer.reference, "reason": REASON})
    assert [m.to for m in mail.outbox] == [["dpo@example.org"]]
    assert _mail_log(caplog) == [
        f"email sent kind=break_glass recipients=1 user_id={handler.pk} customer_id={customer.pk}"
    ]
    assert "Quennell" not in caplog.text and customer.reference not in caplog.text


def test_a_reported_breach_tells_the_dpo_through_the_home(agent, settings, caplog, django_capture_on_commit_callbacks):
    settings.DPO_EMAIL = "dpo@example.org"
    with caplog.at_level(logging.INFO, logger="portal.mail"), django_capture_on_commit_callbacks(execute=True):
        breach = breach_svc.breach_report(
            actor=agent, summary="Parcel to the wrong address", what_happened="Left next door.", aware_at=timezone.now()
        )
    assert [m.to for m in mail.outbox] == [["dpo@example.org"]] and breach.reference in mail.outbox[0].subject
    assert _mail_log(caplog) == [f"email sent kind=breach_reported recipients=1 breach_id={breach.pk}"]
