"""Ids, references and cursors typed or tampered with: only ASCII digits are numbers.

str.isdigit() is true for "²" (and other Unicode digits) while int() refuses it, so every parse
of an id from text goes through bounds.parse_id; the pages answer as for any unknown id."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer
from privacy_portal import bounds
from tests.factories import CustomerFactory, RecipientFactory

SUPERSCRIPT = "\u00b2"  # "²": isdigit() is True, int() raises


@pytest.mark.parametrize("text", [SUPERSCRIPT, "1" + SUPERSCRIPT, "\u0663", "\uff11", "-1", "", " ", "1" * 25])
def test_only_ascii_digits_within_range_parse_as_an_id(text):
    assert bounds.parse_id(text) is None


def test_an_ascii_id_parses_and_one_past_the_column_does_not():
    assert bounds.parse_id(" 42 ") == 42
    assert bounds.parse_id(str(bounds.BIGINT_MAX)) == bounds.BIGINT_MAX
    assert bounds.parse_id(str(bounds.BIGINT_MAX + 1)) is None


def test_a_customer_reference_with_a_unicode_digit_names_no_customer():
    assert Customer.pk_from_reference("C-" + SUPERSCRIPT) is None
    assert Customer.pk_from_reference("C-12") == 12


@pytest.mark.django_db
def test_cursors_with_a_unicode_digit_get_the_first_page_not_a_server_error(client_for, dpo, auditor):
    customer = CustomerFactory()
    recipient = RecipientFactory()
    client = client_for(auditor)
    url = reverse("customer_access", args=[customer.pk])
    assert client.get(url, {"before": SUPERSCRIPT}).status_code == 200
    client = client_for(dpo)
    assert client.get(reverse("customers:recipient", args=[recipient.pk]), {"after": SUPERSCRIPT}).status_code == 200


@pytest.mark.django_db
def test_breach_evidence_ids_with_a_unicode_digit_are_refused_by_field(client_for, dpo):
    response = client_for(dpo).post(
        reverse("requests:breach_from_access"), {"event_ids": SUPERSCRIPT, "summary": "x", "next": "/"}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_turning_access_entries_into_a_breach_never_redirects_to_another_site(client_for, dpo):
    response = client_for(dpo).post(
        reverse("requests:breach_from_access"), {"event_ids": "", "next": "https://evil.example/phish"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
