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


# --- Normalised-token matching: the same value in other writings ------------------------------------

OTHER = Identifiers(
    titles=frozenset({"Ms"}),
    first_names=frozenset({"Zoë", "Siobhán"}),
    last_names=frozenset({"O'Brien", "Quennell-Pryce"}),
    emails=frozenset({"zoe.obrien@example.org"}),
    phones=frozenset({"+447700900123"}),
    postcodes=frozenset({"SW1A 1AA"}),
    address_lines=frozenset({"14 Station Road", "3 St Mary's Street"}),
    towns=frozenset({"Chipping Sodbury"}),
    counties=frozenset(),
    dates_of_birth=frozenset({datetime.date(1961, 9, 4)}),
)
redact_other = redactor(OTHER)


@pytest.mark.parametrize(
    "text",
    [
        "born 4-Sep-1961",
        "born 4 Sept 1961",
        "born 04091961",
        "born 19610904",
        "born 4th September 1961",
        "born Sept. 4, 1961",
        "born 04/09/61",
        "born 1961.09.04",
        "born 4th of Sept 1961",
    ],
)
def test_a_date_of_birth_is_redacted_in_other_writings(text):
    assert redact_other(text) == f"born {REDACTED}", redact_other(text)


@pytest.mark.parametrize(
    "text",
    [
        "call 447700900123 now",
        "call +44 (0)7700 900123 now",
        "call 07700/900123 now",
        "call 07700-900-123 now",
        "call 0044 7700 900 123 now",
        "call (07700) 900123 now",
    ],
)
def test_a_phone_number_is_redacted_however_it_is_spaced_or_punctuated(text):
    assert redact_other(text) == f"call {REDACTED} now", redact_other(text)


@pytest.mark.parametrize("text", ["post to SW1A-1AA today", "post to sw1a1aa today", "post to Sw1a 1aa today"])
def test_a_postcode_is_redacted_with_any_separator_or_case(text):
    assert redact_other(text) == f"post to {REDACTED} today"


@pytest.mark.parametrize(
    "text",
    [
        "Ms O\u2019Brien wrote",  # curly apostrophe, value typed with a straight one
        "OBRIEN wrote",
        "o'brien wrote",
        "Zoe wrote",  # no diacritic, value has one
        "ZOË wrote",
        "Siobhan wrote",
        "quennell-pryce wrote",
        "Quennell Pryce wrote",
    ],
)
def test_a_name_is_redacted_across_apostrophes_diacritics_and_case(text):
    assert redact_other(text) == f"{REDACTED} wrote", redact_other(text)


def test_a_name_written_with_diacritics_in_the_text_is_redacted_when_the_value_has_none():
    plain = redactor(Identifiers(first_names=frozenset({"Zoe"}), last_names=frozenset({"Quennell"})))
    assert plain("Zoë Quennell rang") == f"{REDACTED} rang"


@pytest.mark.parametrize(
    "text",
    [
        "at 14 Station Rd",
        "at 14 station road",
        "at 14 STATION RD.",
        "at 3 St. Mary\u2019s St",
        "at 3 Saint Mary's Street",
    ],
)
def test_an_address_line_is_redacted_with_its_words_abbreviated(text):
    assert redact_other(text).startswith(f"at {REDACTED}"), redact_other(text)
    assert "Station" not in redact_other(text) and "Mary" not in redact_other(text)


def test_an_email_is_redacted_in_capitals_but_not_inside_a_longer_address():
    assert redact_other("to ZOE.OBRIEN@EXAMPLE.ORG.") == f"to {REDACTED}."
    only_email = redactor(Identifiers(emails=OTHER.emails))
    assert only_email("to xzoe.obrien@example.org.uk") == "to xzoe.obrien@example.org.uk"


@pytest.mark.parametrize(
    "text",
    [
        "Station Roadworks on 14 Stationery Road",  # token boundaries
        "born 4/9/1962, paid 09/04/1961",  # another day; the American order is another day in the UK
        "call 07700 9001234",
        "post SW1A 1AB",
        "Obrienne and Zoella",
    ],
)
def test_other_values_that_share_tokens_are_left_alone(text):
    assert redact_other(text) == text


# --- Common-word names: only in name context ----------------------------------------------------------

COMMON = Identifiers(
    titles=frozenset({"Mrs"}),
    first_names=frozenset({"Jane", "Rose"}),
    last_names=frozenset({"May", "Brown"}),
    emails=frozenset(),
    phones=frozenset(),
)
redact_common = redactor(COMMON)


@pytest.mark.parametrize(
    "text",
    [
        "in May we wrote to the customer",
        "a brown envelope arrived",
        "we miss may deadlines",
        "a rose bush was sent",
        "Brown goods and White goods",
        "a brown-paper parcel",
    ],
)
def test_a_surname_that_is_a_common_word_survives_alone(text):
    assert redact_common(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Mrs Brown phoned",
        "Mrs. May phoned",
        "Jane Brown phoned",
        "J. Brown phoned",
        "J Brown phoned",
        "Brown, Jane phoned",
        "Dr May phoned",
        "Jane R. May phoned",
        "MRS BROWN phoned",
    ],
)
def test_a_surname_that_is_a_common_word_is_redacted_beside_a_forename_title_or_initial(text):
    assert redact_common(text) == f"{REDACTED} phoned", redact_common(text)


def test_a_common_word_forename_survives_alone_but_an_unusual_one_does_not():
    assert redact_common("a rose for Jane") == f"a rose for {REDACTED}"


def test_an_unusual_surname_is_redacted_alone():
    assert redact("Trevithick rang; Trevithick's letter") == f"{REDACTED} rang; {REDACTED}'s letter"


def test_a_lower_case_article_is_not_an_initial():
    ann = redactor(Identifiers(first_names=frozenset({"Ann"}), last_names=frozenset({"Brown"})))
    assert ann("sent a brown envelope") == "sent a brown envelope"
    assert ann("sent to A Brown") == f"sent to {REDACTED}"


def test_a_replacement_can_be_chosen():
    assert redactor(IDS, replacement="[removed]")("Mrs Smith") == "[removed]"
