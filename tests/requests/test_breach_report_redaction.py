"""The ICO breach report's redaction is erasure's: every value an affected customer has ever
had (history too), however it is written, through requests.services.redaction."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from requests.services import breach_report
from requests.services import breaches as svc
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _person():
    person = CustomerFactory(
        title="Mrs", first_name="Zoë", last_name="Quillfeather", email="zoe.q@example.co.uk", phone="+447700900123",
        address_line1="14 Station Road", town="Ludlow", postcode="SY8 1AB", date_of_birth=datetime.date(1961, 9, 4),
    )  # fmt: skip
    # A former surname, email and number: in history only.
    person.last_name, person.email, person.phone = "Brown", "zoe.brown@example.co.uk", "+447700900555"
    person.save()
    return person


TEXT = (
    "Parcel for Mrs Quillfeather (née Zoe Brown, born 4th Sept 1961, formerly zoe.BROWN@example.co.uk, "
    "447700900555) went to 14 Station Rd, sy81ab; she rang from +44 (0)7700 900123. In May we wrote "
    "in a brown envelope."
)
PERSONAL = ["quillfeather", "zoe brown", "1961", "zoe.brown", "900555", "station", "sy81ab", "900123"]


def _breach(agent, dpo, person):
    breach = svc.breach_report(
        actor=agent,
        summary="Parcel sent next door",
        what_happened=TEXT,
        aware_at=timezone.now() - datetime.timedelta(hours=2),
    )
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[person])
    return breach


@pytest.mark.parametrize("read_all_up_to", [1000, 0])  # every affected person read / only those the text names
def test_the_ico_report_redacts_every_value_an_affected_person_ever_had_in_any_writing(
    agent, dpo, monkeypatch, read_all_up_to
):
    monkeypatch.setattr(breach_report, "READ_ALL_UP_TO", read_all_up_to)
    person = _person()
    breach = _breach(agent, dpo, person)
    (what,) = breach_report.redact_affected(breach, [breach.what_happened])
    for value in PERSONAL:
        assert value not in what.lower(), (value, what)
    assert "In May we wrote in a brown envelope." in what  # a common-word surname alone stays
    assert breach_report.REDACTED in what


def test_the_ico_report_uses_the_same_identifiers_as_erasure(agent, dpo):
    from customers.subject import Identifiers

    person = _person()
    breach = _breach(agent, dpo, person)
    assert breach_report.affected_identifiers(breach, [TEXT]) == Identifiers.of(person)
