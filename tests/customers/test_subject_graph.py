"""The subject graph: one answer to "what does the portal hold about this person?", and a walk
over every model so that a model added later cannot be forgotten by it."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps
from django.utils import timezone

from customers.models import Call, Customer, Disclosure, InboundSms, Purchase
from customers.services.customers import customer_create, customer_update_contact
from customers.subject import COVERAGE, EXCLUDED, Identifiers, party_matches, subject_records, unaccounted
from requests.models import Case, CaseDocument, CaseNote, ClockStop, Complaint, IcoCase, IcoDeadline
from requests.services import cases as svc
from tests.factories import CallFactory, CaseFactory, ComplaintFactory, CustomerFactory, DisclosureFactory


def test_every_model_related_to_a_customer_is_covered_by_the_subject_graph_or_excluded_with_a_reason():
    assert unaccounted() == []


def test_every_covered_or_excluded_model_exists_and_each_exclusion_says_why():
    for label in [*COVERAGE, *EXCLUDED]:
        assert apps.get_model(label)
    assert all(len(reason) > 20 for reason in EXCLUDED.values())
    assert not set(COVERAGE) & set(EXCLUDED)


@isolate_apps("customers")
def test_the_walk_fails_when_a_new_model_relating_to_a_customer_is_neither_covered_nor_excluded():
    class LoyaltyCard(models.Model):  # noqa: DJ008 — points at the customer directly
        customer = models.ForeignKey(Customer, on_delete=models.CASCADE)

        class Meta:
            app_label = "customers"

    class LoyaltyStamp(models.Model):  # noqa: DJ008 — only through the card: a path, not a direct link
        card = models.ForeignKey(LoyaltyCard, on_delete=models.CASCADE)

        class Meta:
            app_label = "customers"

    class Voucher(models.Model):  # noqa: DJ008 — a plain id column, no foreign key
        customer_id = models.BigIntegerField()

        class Meta:
            app_label = "customers"

    class CaseSticker(models.Model):  # noqa: DJ008 — through a case
        case = models.ForeignKey(Case, on_delete=models.CASCADE)

        class Meta:
            app_label = "customers"

    class Unrelated(models.Model):  # noqa: DJ008
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "customers"

    everything = [*apps.get_models(), LoyaltyCard, LoyaltyStamp, Voucher, CaseSticker, Unrelated]
    assert unaccounted(everything) == [
        "customers.CaseSticker",
        "customers.LoyaltyCard",
        "customers.LoyaltyStamp",
        "customers.Voucher",
    ]


# --- What the graph holds ---------------------------------------------------------------------------


@pytest.fixture
def person(agent):
    customer = customer_create(
        actor=agent, title="Mrs", first_name="Morwenna", last_name="Trevithick", email="m.trevithick@old.example.com",
        phone="07912 555461", address_line1="2 Quay Street", town="Fowey", county="Cornwall", postcode="PL23 1AB",
        date_of_birth=datetime.date(1961, 7, 14),
    )  # fmt: skip
    return customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason="Moved",
        email="morwenna@new.example.com", phone="07912 555462", address_line1="9 Harbour Row", postcode="TR1 2AA",
    )  # fmt: skip


@pytest.mark.django_db
def test_the_identifiers_are_every_value_the_person_ever_had(person):
    ids = Identifiers.of(person)
    assert ids.emails == {"m.trevithick@old.example.com", "morwenna@new.example.com"}
    assert ids.phones == {"+447912555461", "+447912555462"}
    assert ids.postcodes == {"PL23 1AB", "TR1 2AA"}
    assert ids.address_lines == {"2 Quay Street", "9 Harbour Row"}
    assert (ids.towns, ids.counties, ids.titles) == ({"Fowey"}, {"Cornwall"}, {"Mrs"})
    assert ids.dates_of_birth == {datetime.date(1961, 7, 14)}
    assert ids.postal_keys == {"2 QUAY STREET|PL231AB", "9 HARBOUR ROW|TR12AA"}


@pytest.mark.django_db
def test_the_graph_holds_rows_of_both_apps_with_history_and_calls_from_a_former_number(person, agent, dpo):
    other = CustomerFactory()
    mine = CallFactory(customer=person)
    from_old_number = CallFactory(customer=None, customer_number="+447912555461")
    CallFactory(customer=None, customer_number="+447912555999")  # a stranger's unmatched call
    CallFactory(customer=other)
    detached = Purchase.objects.create(
        customer=person, order_ref="LMO-1", ordered_on=timezone.localdate(), description="Coin", amount="1.00",
        payment_method="card",
    )  # fmt: skip
    detached.customer = None
    detached.save()  # its history still says whose it was
    DisclosureFactory(customer=person)
    DisclosureFactory(customer=other)
    InboundSms.objects.create(message_id="m1", outcome="opted_out", customer_id=person.pk)
    case = CaseFactory(customer=person)
    ClockStop.objects.create(case=case, started_on=timezone.localdate())
    CaseNote.objects.create(case=case, text="n", author=agent)
    CaseDocument.objects.create(case=case, kind="identity", path="cases/x/id.pdf", content_type="a", size=1)
    linked = ComplaintFactory(customer=None, complainant_name="A Solicitor")
    linked.cases.add(case)  # a complaint linked to the person's request is about them
    ico = IcoCase.objects.create(
        complaint=linked, ico_reference="IC-1", contacted_on=timezone.localdate(), contact_method="email", requested="x"
    )
    IcoDeadline.objects.create(ico_case=ico, what="w", due_on=timezone.localdate())
    CaseFactory(customer=other)

    graph = subject_records(person)

    assert graph.ids(Call) == {mine.pk, from_old_number.pk}
    assert graph.ids(Purchase) == set()  # detached now...
    assert set(graph.history(Purchase).values_list("id", flat=True)) == {detached.pk}  # ...but its history is theirs
    assert graph.ids(Disclosure) == {person.disclosures.get().pk}
    assert graph.rows(InboundSms).count() == 1
    assert graph.case_ids == {case.pk}
    assert graph.complaint_ids == {linked.pk} and graph.ico_ids == {ico.pk}
    assert graph.rows(IcoDeadline).count() == 1 and graph.rows(ClockStop).count() == 1
    assert graph.history(Customer).count() == 2
    assert [(f.path, f.kind) for f in graph.files()] == [("cases/x/id.pdf", "identity")]
    # Every covered model answers, live and history.
    for model in graph.models():
        graph.rows(model).count()
        if graph.history(model) is not None:
            graph.history(model).count()


@pytest.mark.django_db
def test_requests_and_complaints_logged_without_the_customer_are_offered_not_taken(person, agent):
    today = timezone.localdate()
    (by_email,) = svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=today,
        requester_name="M. T.", requester_email="M.TREVITHICK@OLD.EXAMPLE.COM",
    )  # fmt: skip
    (by_phone,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=today,
        requester_name="Caller", requester_phone="+44 (0)7912 555462",
    )  # fmt: skip
    (by_name,) = svc.case_log(
        actor=agent, rights=["access"], channel="post", received_on=today,
        requester_name="Mrs Trevithick's daughter", requester_address="TR12AA",
    )  # fmt: skip
    (stranger,) = svc.case_log(
        actor=agent, rights=["access"], channel="post", received_on=today,
        requester_name="Morwenna Trevithickson", requester_address="1 Other Road, EX1 1AA",
    )  # fmt: skip
    complaint = Complaint.objects.create(
        reference="CP-X-1", complainant_name="Morwenna Trevithick", received_on=today, channel="email",
        category="marketing", description="d", acknowledge_by=today,
    )  # fmt: skip

    graph = subject_records(person)
    offered = {c.key: c.matched for c in graph.candidates}
    assert offered == {
        f"case:{by_email.pk}": ("email",),
        f"case:{by_phone.pk}": ("phone",),
        f"case:{by_name.pk}": ("name",),  # a postcode without the address line is no contact match
        f"complaint:{complaint.pk}": ("name",),
    }
    assert graph.case_ids == set() and graph.complaint_ids == set()
    assert f"case:{stranger.pk}" not in offered  # "Trevithickson" is not "Trevithick"

    graph = subject_records(person, include=[f"case:{by_email.pk}", f"complaint:{complaint.pk}"])
    assert graph.case_ids == {by_email.pk} and graph.complaint_ids == {complaint.pk}
    assert {c.key for c in graph.included} == {f"case:{by_email.pk}", f"complaint:{complaint.pk}"}
    assert len(graph.candidates) == 2


@pytest.mark.parametrize(
    ("name", "email", "phone", "address", "expected"),
    [
        ("Smith's wife", "", "", "", []),  # a surname alone is not enough
        ("Mrs Smith's letter", "", "", "", ["name"]),
        ("J Smith", "", "", "", ["name"]),
        ("Jane Smithson", "", "", "", []),
        ("", "JANE@EXAMPLE.COM ", "", "", ["email"]),
        ("", "", "+44 (0)20 7946 0001", "", ["phone"]),
        ("", "", "not a number", "", []),
        ("Smith", "", "", "1 Road, sw1a1aa", []),  # a postcode without the address line
        ("", "", "", "1 mill road, sw1a1aa", ["address"]),
    ],
)
def test_a_requesters_typed_details_match_the_person_however_they_are_written(name, email, phone, address, expected):
    ids = Identifiers(
        titles=frozenset({"Mrs"}),
        first_names=frozenset({"Jane"}),
        last_names=frozenset({"Smith"}),
        emails=frozenset({"jane@example.com"}),
        phones=frozenset({"+442079460001"}),
        postcodes=frozenset({"SW1A 1AA"}),
        address_lines=frozenset({"1 Mill Road"}),
    )
    assert party_matches(ids, name=name, email=email, phone=phone, address=address) == expected


JANE = Identifiers(
    titles=frozenset({"Mrs"}),
    first_names=frozenset({"Jane"}),
    last_names=frozenset({"Smith"}),
    emails=frozenset({"jane@example.com"}),
    phones=frozenset({"+442079460001"}),
    postcodes=frozenset({"SW1A 1AA"}),
    address_lines=frozenset({"1 Mill Road"}),
)


@pytest.mark.parametrize(
    ("name", "email", "phone", "address"),
    [
        ("Mrs J Smith", "", "", ""),  # a compatible name alone
        ("Mr Smith", "", "", ""),
        ("Jane Smith", "", "", "1 Other Lane, SW1A 1AA"),  # her postcode, not her address
        ("Jane Smith", "", "", "1 Mill Road, SW1B 1AA"),  # her address line, not her postcode
        ("Joan Smith", "jane@example.com", "", ""),  # her email, another forename
        ("K. Smith", "", "020 7946 0001", ""),  # her number, another initial
        ("Jane Smithson", "JANE@example.com", "", ""),  # another surname
        ("Jane Smith", "jane@example.co", "+44 20 7946 0002", ""),  # near-miss contact details
    ],
)
def test_a_name_alone_or_with_a_near_miss_never_makes_typed_details_the_same_person(name, email, phone, address):
    from customers.subject import same_person

    assert not same_person(JANE, name=name, email=email, phone=phone, address=address)


@pytest.mark.parametrize(
    ("name", "email", "phone", "address"),
    [
        ("Mrs J Smith", "JANE@EXAMPLE.COM ", "", ""),
        ("J. Smith", "", "+44 (0)20 7946 0001", ""),
        ("Smith", "", "", "1 mill road, sw1a1aa"),
        ("", "jane@example.com", "", ""),
    ],
)
def test_a_contact_identifier_with_a_compatible_name_makes_typed_details_the_same_person(name, email, phone, address):
    from customers.subject import same_person

    assert same_person(JANE, name=name, email=email, phone=phone, address=address)
