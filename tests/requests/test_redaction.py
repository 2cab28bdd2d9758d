"""Redaction of kept free text: every identifying value the person ever had, however written,
and nothing that merely looks like one."""

from __future__ import annotations

import datetime

import pytest

from customers.subject import Identifiers
from requests.services.redaction import REDACTED, redactor

IDS = Identifiers(
    titles=frozenset({"Mrs"}),
    first_names=frozenset({"Morwenna"}),
    last_names=frozenset({"Smith", "Trevithick"}),
    emails=frozenset({"morwenna.smith@example.co.uk"}),
    phones=frozenset({"+447912555123"}),
    postcodes=frozenset({"TR1 2AA"}),
    address_lines=frozenset({"9 Harbour Row"}),
    towns=frozenset({"Lower Quibbleton"}),
    counties=frozenset({"Cornwall"}),
    dates_of_birth=frozenset({datetime.date(1961, 7, 14)}),
)
redact = redactor(IDS)


@pytest.mark.parametrize(
    "text",
    [
        "DOB 14/07/1961 confirmed",
        "DOB 14-07-61 confirmed",
        "DOB 14.07.1961 confirmed",
        "DOB 14/7/61 confirmed",
        "DOB 14 July 1961 confirmed",
        "DOB 14th July 1961 confirmed",
        "DOB 14th of July 1961 confirmed",
        "DOB 14 Jul 1961 confirmed",
        "DOB July 14, 1961 confirmed",
        "DOB 1961-07-14 confirmed",
        "lives in Lower Quibbleton, Cornwall",
        "lives in lower  quibbleton, CORNWALL",
        "Mrs Smith phoned",
        "Mrs. Trevithick phoned",
        "Smith's letter arrived",
        "mail MORWENNA.SMITH@EXAMPLE.CO.UK today",
        "mobile +44 (0)7912 555123",
        "mobile (07912) 555123",
        "mobile 07912-555-123",
        "mobile 0044 7912 555 123",
        "post to tr12aa",
        "post to TR1  2AA",
        "at 9 harbour row",
    ],
)
def test_each_identifying_value_is_redacted_however_it_is_written(text):
    redacted = redact(text)
    assert REDACTED in redacted, redacted
    for value in ["14", "1961", "Quibbleton", "Cornwall", "Smith", "Trevithick", "555", "TR1", "tr1", "arbour"]:
        assert value.lower() not in redacted.lower().replace("confirmed", ""), (text, redacted)


def test_a_kept_case_note_keeps_nothing_of_the_person():
    note = "DOB 14/07/1961, lives in Lower Quibbleton, Cornwall; mobile +44 (0)7912 555123; Mrs Smith's request"
    assert redact(note) == f"DOB {REDACTED}, lives in {REDACTED}, {REDACTED}; mobile {REDACTED}; {REDACTED}'s request"


@pytest.mark.parametrize(
    "text",
    [
        "Smithson called about Smithfield market",
        "Blacksmith's forge",
        "Cornwallis Road",
        "Order 14/07/1962 and 15/07/1961",
        "Invoice 1961-07-140",
        "Call 07912 5551234",
        "Postcode TR1 2AB",
    ],
)
def test_text_that_merely_contains_part_of_a_value_is_left_alone(text):
    assert redact(text) == text
