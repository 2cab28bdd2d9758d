"""The MPS Personal file (fixed width and CSV), matching customers, and bereavements stopping all
marketing on every channel."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Bereavement, Channel, MpsFile, MpsMatch, Purpose
from customers.services.imports import ImportRejected
from customers.services.mps import LAYOUT, RECORD_LENGTH, customer_record_bereavement, mps_load
from customers.services.preferences import ERR_DECEASED, preference_record, preference_states
from customers.services.screening import screen_number
from customers.services.suppression import channel_identifier, is_suppressed
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def fixed(flag="X", date="01112026", forename="M", surname="Smith", line1="12 High Street", postcode="SE5 9DF"):
    values = {"flag": flag, "request_date": date, "forename": forename, "surname": surname,
              "address_line1": line1, "town": "London", "postcode": postcode}  # fmt: skip
    record = [" "] * RECORD_LENGTH
    for name, start, end in LAYOUT:
        text = values.get(name, "").ljust(end - start + 1)
        record[start - 1 : end] = text[: end - start + 1]
    return "".join(record)


def csv_line(flag="P", date="01112026", forename="Mary", surname="Smith", line1="12 High Street", postcode="SE5 9DF"):
    cells = [flag, date, "", "", "Mrs", forename, surname, "", line1, "", "", "London", "", postcode, "1A"]
    return ",".join(f'"{c}"' for c in cells)


def load(actor, *lines, name="mps.txt"):
    return mps_load(actor=actor, file=io.BytesIO(("\r\n".join(lines) + "\r\n").encode()), name=name)


@pytest.fixture
def mary():
    return CustomerFactory(first_name="Mary", last_name="Smith", address_line1="12 High St.", postcode="SE5 9DF")


def opt_in_everything(actor, customer):
    for purpose, channel in [(Purpose.DIRECT_MARKETING, c) for c in Channel.values] + [(Purpose.PERSONALISED_ADS, "")]:
        preference_record(actor=actor, customer=customer, purpose=purpose, channel=channel, granted=True,
                          source="phone_call")  # fmt: skip


def test_a_deceased_record_matching_by_initial_name_and_address_stops_all_marketing(dpo, agent, mary):
    opt_in_everything(agent, mary)
    loaded = load(dpo, fixed(line1="12 HIGH STREET"), fixed(flag="P", surname="Jones"))
    assert (loaded.lines, loaded.deceased, loaded.removals, loaded.matched) == (2, 1, 1, 1)
    match = MpsMatch.objects.get(customer=mary)
    assert (match.flag, match.requested_on, match.line) == ("X", datetime.date(2026, 11, 1), 1)
    bereavement = Bereavement.objects.get(customer=mary)
    assert (bereavement.source, bereavement.reported_on, bereavement.mps_match) == ("mps_file", match.requested_on,
                                                                                     match)  # fmt: skip
    assert not any(state.granted for state in preference_states(mary))
    withdrawal = mary.preference_changes.filter(granted=False, channel="post").get()
    assert withdrawal.source == "mps_file" and withdrawal.history.exists()
    for channel in Channel.values:
        assert is_suppressed(channel=channel, identifier=channel_identifier(mary, channel)), channel
    assert "deceased" in [r.code for r in screen_number(mary.phone).reasons]


def test_a_later_opt_in_for_the_deceased_is_refused(dpo, agent, mary):
    customer_record_bereavement(actor=agent, customer=mary, source="agent", reported_on=datetime.date(2026, 11, 30))
    with pytest.raises(ValidationError, match=re.escape(ERR_DECEASED[:30])):
        preference_record(actor=agent, customer=mary, purpose=Purpose.DIRECT_MARKETING, channel="post", granted=True,
                          source="letter")  # fmt: skip


def test_the_csv_variant_is_read_and_a_removal_match_is_shown_without_stopping_marketing(dpo, agent, client_for, mary):
    load(dpo, csv_line(), name="mps.csv")
    assert MpsFile.objects.get().format == "csv"
    assert MpsMatch.objects.get(customer=mary).flag == "P"
    assert not Bereavement.objects.exists()
    page = client_for(agent).get(reverse("customers:detail", args=[mary.pk])).content.decode()
    assert "MPS: Registered with the MPS" in page


def test_a_different_forename_or_address_does_not_match(dpo, mary):
    loaded = load(dpo, fixed(forename="John"), fixed(line1="13 High Street"), fixed(postcode="SE5 9DG"))
    assert loaded.matched == 0 and not MpsMatch.objects.exists()


def test_a_deceased_record_with_another_initial_does_not_match_the_widow_at_the_address(dpo, mary):
    """Hostile review (r16): an X record carries initials only; "J Smith" (her husband) at Mary
    Smith's address must not mark her dead (any initials matched any forename)."""
    loaded = load(dpo, fixed(forename="J"), fixed(forename="J A"), fixed(forename="JA"))
    assert loaded.matched == 0 and not MpsMatch.objects.exists() and not Bereavement.objects.exists()
    assert load(dpo, fixed(forename="M A")).matched == 1


def test_a_line_shorter_than_the_layout_is_refused_by_line_and_nothing_is_stored(dpo, mary):
    with pytest.raises(ImportRejected) as refused:
        load(dpo, fixed(), fixed()[:300])
    assert [(e.line, "415" in e.message) for e in refused.value.errors] == [(2, True)]
    assert not MpsFile.objects.exists() and not Bereavement.objects.exists()


def test_a_bad_flag_or_date_is_refused_by_line(dpo):
    with pytest.raises(ImportRejected) as refused:
        load(dpo, fixed(flag="R"), fixed(date="31022026"))
    assert [(e.line, e.column) for e in refused.value.errors] == [(1, "flag"), (2, "request_date")]


def test_the_same_file_is_not_loaded_twice(dpo, mary):
    load(dpo, fixed())
    with pytest.raises(ImportRejected, match="problem"):
        load(dpo, fixed())
    assert MpsMatch.objects.count() == 1


def test_an_agent_records_a_bereavement_from_the_customer_page(client_for, agent, mary):
    opt_in_everything(agent, mary)
    client = client_for(agent)
    url = reverse("customers:bereavement", args=[mary.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reported_on": "2026-11-30", "evidence": "Son, by phone"})
    assert response.status_code == 302
    bereavement = Bereavement.objects.get(customer=mary)
    assert (bereavement.source, bereavement.recorded_by) == ("agent", agent)
    assert not any(state.granted for state in preference_states(mary))
    page = client.get(reverse("customers:detail", args=[mary.pk])).content.decode()
    assert "Deceased: recorded" in page
    assert client.post(url, {"reported_on": "2026-11-30"}).status_code == 302  # once: the first kept
    assert Bereavement.objects.count() == 1


def test_a_future_bereavement_date_is_refused_naming_the_field(client_for, agent, mary):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client_for(agent).post(reverse("customers:bereavement", args=[mary.pk]), {"reported_on": tomorrow})
    assert response.status_code == 200 and "cannot be in the future" in response.content.decode()
    assert not Bereavement.objects.exists()


@pytest.mark.parametrize("role, status", [("auditor", 403), ("itadmin", 403), ("nobody", 403), ("agent", 200)])
def test_who_may_record_a_bereavement(client_for, cast, mary, role, status):
    assert client_for(cast[role]).get(reverse("customers:bereavement", args=[mary.pk])).status_code == status


def test_the_command_loads_an_mps_file(dpo, tmp_path, mary):
    from django.core.management import call_command

    path = tmp_path / "mps.txt"
    path.write_text(fixed() + "\r\n")
    out = io.StringIO()
    call_command("import_mps", str(path), "--user", dpo.username, stdout=out)
    assert "1 matched a customer" in out.getvalue()


def move(actor, customer, line1, postcode, **more):
    from customers.services.customers import customer_update_contact

    return customer_update_contact(actor=actor, customer_id=customer.pk, expected_version=customer.version,
                                   reason="Moved house", address_line1=line1, postcode=postcode, email=customer.email,
                                   phone=customer.phone, first_name=customer.first_name,
                                   last_name=customer.last_name, **more)  # fmt: skip


def test_a_deceased_record_on_an_address_the_customer_once_held_stops_all_marketing(dpo, agent, client_for, mary):
    # The family moved Mary to her daughter's; the MPS has her death at her own, former, address.
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    opt_in_everything(agent, mary)
    loaded = load(dpo, fixed(line1="12 HIGH STREET"))
    assert loaded.matched == 1
    match = MpsMatch.objects.get(customer=mary)
    assert match.flag == "X" and match.on_former_address
    assert Bereavement.objects.get(customer=mary).mps_match == match
    assert not any(state.granted for state in preference_states(mary))
    assert match.review == MpsMatch.Review.APPLIED
    page = client_for(agent).get(reverse("customers:detail", args=[mary.pk])).content.decode()
    assert "on a former address: 12 High St., SE5 9DF" in page
    assert f"To review: {escape(MpsMatch.Review.APPLIED.label)}." in page


def test_a_deceased_record_on_the_current_address_says_so(dpo, agent, client_for, mary):
    load(dpo, fixed())
    match = MpsMatch.objects.get(customer=mary)
    assert not match.on_former_address and match.review == MpsMatch.Review.NONE
    page = client_for(agent).get(reverse("customers:detail", args=[mary.pk])).content.decode()
    assert "on the current address" in page and "To review" not in page


def test_a_namesake_at_a_former_address_is_shown_for_review_and_the_command_counts_it(dpo, agent, client_for, mary,
                                                                                     tmp_path):  # fmt: skip
    from django.core.management import call_command

    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    path = tmp_path / "mps.txt"
    path.write_text(fixed(flag="P") + "\r\n")
    out = io.StringIO()
    call_command("import_mps", str(path), "--user", dpo.username, stdout=out)
    assert "0 matched a customer; 1 match(es) at a former address to review" in out.getvalue()
    page = client_for(agent).get(reverse("customers:detail", args=[mary.pk])).content.decode()
    assert f"To review: {escape(MpsMatch.Review.NOT_APPLIED.label)}." in page
    assert "on a former address: 12 High St., SE5 9DF" in page


def test_a_deceased_record_matching_someone_living_at_the_address_does_not_also_mark_a_former_resident(dpo, agent,
                                                                                                     mary):  # fmt: skip
    """Hostile review (r16): one death, "M Smith" at 12 High Street, marked two people deceased:
    Margaret, who lives there now, and Mary, who moved away (her former address). The person
    living at the address is the one the record names; a former resident only when nobody is."""
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    margaret = CustomerFactory(first_name="Margaret", last_name="Smith", address_line1="12 High Street",
                               postcode="SE5 9DF")  # fmt: skip
    loaded = load(dpo, fixed(forename="M"))
    assert loaded.matched == 1
    assert list(Bereavement.objects.values_list("customer_id", flat=True)) == [margaret.pk]
    # Mary's namesake match is not applied, and not dropped silently either: it is there to review.
    review = MpsMatch.objects.get(customer=mary)
    assert (review.review, review.on_former_address) == (MpsMatch.Review.NOT_APPLIED, True)
    assert MpsMatch.objects.get(customer=margaret).review == MpsMatch.Review.NONE


def test_a_removal_record_on_a_former_address_does_not_match(dpo, agent, mary):
    # The MPS registers a name at an address: the person asked for no mail *there*, and has moved.
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    loaded = load(dpo, fixed(flag="P"))
    assert loaded.matched == 0
    # Not applied, but recorded for an agent or the DPO to check with the customer (not silent).
    match = MpsMatch.objects.get(customer=mary)
    assert (match.flag, match.review, match.on_former_address) == ("P", MpsMatch.Review.NOT_APPLIED, True)
    assert not Bereavement.objects.exists()


def test_a_former_address_under_a_former_surname_matches_a_deceased_record(dpo, agent, mary):
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    from customers.services.customers import customer_update_contact

    mary = customer_update_contact(actor=agent, customer_id=mary.pk, expected_version=mary.version, reason="Married",
                                   last_name="Brown", first_name="Mary", address_line1=mary.address_line1,
                                   postcode=mary.postcode, email=mary.email, phone=mary.phone)  # fmt: skip
    assert load(dpo, fixed(surname="Smith")).matched == 1
    assert Bereavement.objects.filter(customer=mary).exists()


def test_a_deceased_and_a_removal_record_for_one_customer_in_one_file_keep_the_deceased(dpo, agent, mary):
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    loaded = load(dpo, fixed(flag="P", forename="Mary", surname="Smith", line1="3 Elm Rd", postcode="N1 1AA"),
                  fixed(line1="12 High Street"))  # fmt: skip
    assert loaded.matched == 1  # one match per customer and file: the deceased record
    match = MpsMatch.objects.get(customer=mary)
    assert (match.flag, match.line, match.on_former_address) == ("X", 2, True)
    assert Bereavement.objects.filter(customer=mary).exists()


def test_an_erased_customer_is_not_matched_on_a_former_address(dpo, agent, mary):
    mary = move(agent, mary, "3 Elm Road", "N1 1AA")
    mary.erased_at = timezone.now()
    mary.save()
    assert load(dpo, fixed()).matched == 0


def test_matching_reads_the_former_addresses_in_a_constant_number_of_queries(dpo, agent, django_assert_max_num_queries):
    from customers.services.mps import matches, parse_fixed

    people = [CustomerFactory(first_name="Ann", last_name=f"Jones{i}", address_line1=f"{i} Old Lane",
                              postcode="SE5 9DF") for i in range(12)]  # fmt: skip
    for i, person in enumerate(people):
        move(agent, person, f"{i} New Road", "N1 1AA")
    records = parse_fixed("\n".join(fixed(forename="A", surname=f"Jones{i}", line1=f"{i} Old Ln") for i in range(12)))
    with django_assert_max_num_queries(3):
        pairs = matches(records)
    assert sorted(c.pk for _, c, _ in pairs) == sorted(p.pk for p in people)
