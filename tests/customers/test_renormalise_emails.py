"""Emails stored before every door applied the one email rule (NFKC) are rewritten to it, and the
old form's suppression carries over, so a person who opted out stays out."""

from __future__ import annotations

import io

from django.core.management import call_command

from customers.models import Channel, SuppressionEntry
from customers.services.renormalise import REASON_RENORMALISED, emails_renormalise
from customers.services.suppression import is_suppressed, suppression_add
from customers.subject import Identifiers
from tests.factories import CaseFactory, CustomerFactory

# Full-width domain letters, as Django's validator took them (IDNA) before staff entries were NFKC-normalised.
OLD = "pat@" + "".join(chr(0xFEE0 + ord(ch)) for ch in "example") + ".com"
NEW = "pat@example.com"


def test_a_stored_full_width_address_is_rewritten_and_stays_suppressed(db):
    customer = CustomerFactory(email=OLD)
    suppression_add(actor=None, channel=Channel.EMAIL, identifier=OLD, reason=SuppressionEntry.Reason.OPTED_OUT)
    ascii_customer = CustomerFactory(email="plain@example.org")
    case = CaseFactory(customer=customer, requester_email=OLD)
    assert not is_suppressed(channel=Channel.EMAIL, identifier=NEW)

    out = io.StringIO()
    call_command("renormalise_emails", stdout=out)

    customer.refresh_from_db()
    case.refresh_from_db()
    assert customer.email == NEW and case.requester_email == NEW
    assert is_suppressed(channel=Channel.EMAIL, identifier=NEW)
    assert is_suppressed(channel=Channel.EMAIL, identifier=OLD)
    assert customer.history.first().history_change_reason == REASON_RENORMALISED
    ascii_customer.refresh_from_db()
    assert ascii_customer.history.count() == 1
    text = out.getvalue()
    assert "1 customer(s), 1 request(s), 0 complaint(s)" in text and "carried to the new form: 1" in text
    assert NEW not in text and "pat" not in text

    again = emails_renormalise(actor=None)
    assert (again.customers, again.cases, again.complaints, again.suppressions_carried) == (0, 0, 0, 0)


def test_a_persons_identifiers_hold_both_the_stored_and_the_compared_form_of_an_old_address():
    ids = Identifiers.from_versions([{name: "" for name in Identifiers.FIELDS} | {"email": OLD}])
    assert {NEW, OLD} <= ids.emails
