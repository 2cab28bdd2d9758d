"""Recording one disclosure: bad input named by field, and each guard refusing with its own message."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Disclosure, Purpose
from customers.services import disclosures as svc
from customers.services.disclosures import DisclosureRefused, Guard, disclosure_record
from customers.services.preferences import preference_record
from tests.factories import CustomerFactory, RecipientFactory

pytestmark = pytest.mark.django_db


def record(actor, **overrides):
    values = {
        "customer": overrides.pop("customer", None) or CustomerFactory(),
        "recipient": overrides.pop("recipient", None) or RecipientFactory(),
        "data_categories": ["identity", "contact", "order"],
        "purpose": "order_delivery",
        "lawful_basis": "contract",
        "disclosed_at": timezone.now() - datetime.timedelta(hours=1),
        "recipient_reference": "CONS-1",
    }
    values.update(overrides)
    return disclosure_record(actor=actor, **values)


def refusals(excinfo) -> list[str]:
    return [r.guard for r in excinfo.value.refusals]


def restrict(customer, at=None):
    customer.processing_restricted = True
    customer.restricted_at = at or timezone.now() - datetime.timedelta(days=2)
    customer.save()


def opt_in_to_sensitive_sharing(customer, actor, at=None):
    preference_record(
        actor=actor,
        customer=customer,
        purpose=Purpose.SENSITIVE_SHARING,
        granted=True,
        source="letter",
        received_at=at or timezone.now() - datetime.timedelta(days=3),
    )


# --- Recorded ------------------------------------------------------------------------------------


def test_a_disclosure_is_recorded_with_who_recorded_it_and_its_history(dpo):
    disclosure = record(dpo, data_categories=["order", "identity", "contact", "order"])
    assert disclosure.recorded_by == dpo
    assert disclosure.via == Disclosure.Via.FORM
    # Deduplicated and in the vocabulary's order, however they were given.
    assert disclosure.data_categories == ["identity", "contact", "order"]
    history = disclosure.history.get()
    assert (history.history_user, history.history_change_reason, history.history_type) == (dpo, "Recorded", "+")


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"data_categories": ["identity", "shoe_size"]},
            "data_categories",
            svc.ERR_CATEGORY.format(value="shoe_size", choices=", ".join(svc.CATEGORY_ORDER)),
        ),
        ({"data_categories": []}, "data_categories", svc.ERR_NO_CATEGORY),
        ({"purpose": "curiosity"}, "purpose", svc.ERR_PURPOSE),
        ({"lawful_basis": "because"}, "lawful_basis", svc.ERR_BASIS),
        ({"sensitive": True}, "special_category_condition", svc.ERR_CONDITION_NEEDED),
        (
            {"special_category_condition": "explicit_consent"},
            "special_category_condition",
            svc.ERR_CONDITION_NOT_SENSITIVE,
        ),
        (
            {"sensitive": True, "special_category_condition": "whim"},
            "special_category_condition",
            svc.ERR_CONDITION_UNKNOWN,
        ),
        ({"disclosed_at": timezone.now() + datetime.timedelta(days=1)}, "disclosed_at", svc.ERR_FUTURE),
        ({"recipient_reference": "X" * 101}, "recipient_reference", "At most 100 characters."),
    ],
)
def test_bad_input_is_refused_naming_the_field(dpo, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        record(dpo, **overrides)
    assert not isinstance(excinfo.value, DisclosureRefused)
    assert any(message in m for m in excinfo.value.message_dict[field])
    assert not Disclosure.objects.exists()


def test_consent_claimed_where_none_is_recorded_is_refused(dpo):
    with pytest.raises(ValidationError) as excinfo:
        record(dpo, lawful_basis="consent")
    assert excinfo.value.message_dict == {"lawful_basis": [svc.ERR_CONSENT_NOT_RECORDED]}


def test_consent_on_record_supports_consent_as_the_basis(dpo):
    customer = CustomerFactory()
    opt_in_to_sensitive_sharing(customer, dpo)
    assert record(dpo, customer=customer, lawful_basis="consent").lawful_basis == "consent"


def test_a_marketing_opt_in_covers_consent_only_for_a_direct_marketing_service(dpo):
    customer = CustomerFactory()
    preference_record(
        actor=dpo, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel="post", granted=True, source="letter",
        received_at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    mailing_house = RecipientFactory(category="direct_marketing")
    record(dpo, customer=customer, recipient=mailing_house, lawful_basis="consent", purpose="direct_marketing")
    with pytest.raises(ValidationError) as excinfo:
        record(dpo, customer=customer, lawful_basis="consent", recipient_reference="CONS-2")
    assert excinfo.value.message_dict == {"lawful_basis": [svc.ERR_CONSENT_NOT_RECORDED]}


def test_a_recipient_reference_is_recorded_once(dpo):
    recipient = RecipientFactory()
    record(dpo, recipient=recipient, recipient_reference="FIN-77")
    with pytest.raises(ValidationError) as excinfo:
        record(dpo, recipient=recipient, recipient_reference="FIN-77")
    assert excinfo.value.message_dict == {"recipient_reference": [svc.ERR_REFERENCE_TAKEN]}
    # Another recipient may use the same number for its own file.
    record(dpo, recipient_reference="FIN-77")
    assert Disclosure.objects.count() == 2


def test_an_override_reason_without_a_restriction_is_refused(dpo):
    with pytest.raises(ValidationError) as excinfo:
        record(dpo, override_reason="Just in case")
    assert excinfo.value.message_dict == {"override_reason": [svc.ERR_NOTHING_TO_OVERRIDE]}


# --- Guard: restriction (Art 18) -----------------------------------------------------------------


def test_a_restricted_customer_is_refused(dpo):
    customer = CustomerFactory()
    restrict(customer)
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer)
    assert excinfo.value.messages == [svc.GUARD_RESTRICTED]
    assert refusals(excinfo) == [Guard.RESTRICTED]
    assert not Disclosure.objects.exists()


def test_a_restricted_customer_is_refused_for_legal_claims_without_the_dpos_override(dpo):
    customer = CustomerFactory()
    restrict(customer)
    debt_collector = RecipientFactory(category="debt_collection")
    with pytest.raises(DisclosureRefused) as excinfo:
        record(
            dpo,
            customer=customer,
            recipient=debt_collector,
            purpose="debt_recovery",
            lawful_basis="legitimate_interests",
        )
    assert excinfo.value.messages == [svc.GUARD_RESTRICTED]


def test_the_dpo_overrides_a_restriction_for_legal_claims_with_a_reason_kept_in_the_history(dpo):
    customer = CustomerFactory()
    restrict(customer)
    debt_collector = RecipientFactory(category="debt_collection")
    disclosure = record(
        dpo,
        customer=customer,
        recipient=debt_collector,
        purpose="debt_recovery",
        lawful_basis="legitimate_interests",
        override_reason="Unpaid instalments: exercising our legal claim (Art 18(2)).",
    )
    assert (disclosure.overridden_by, disclosure.override_reason) == (
        dpo,
        "Unpaid instalments: exercising our legal claim (Art 18(2)).",
    )
    history = disclosure.history.get()
    assert history.history_change_reason == "Recorded, overriding the processing restriction (Art 18(2))"
    assert (history.overridden_by_id, history.override_reason) == (dpo.pk, disclosure.override_reason)


def test_the_dpo_overrides_a_restriction_under_a_legal_obligation(dpo):
    customer = CustomerFactory()
    restrict(customer)
    hmrc = RecipientFactory(category="authorities", role="independent_controller", agreement_reference="")
    disclosure = record(
        dpo,
        customer=customer,
        recipient=hmrc,
        purpose="legal_requirement",
        lawful_basis="legal_obligation",
        override_reason="HMRC information notice under FA 2008 Sch 36.",
    )
    assert disclosure.overridden_by == dpo


def test_even_the_dpo_cannot_override_a_restriction_for_anything_but_a_legal_obligation_or_claims(dpo):
    customer = CustomerFactory()
    restrict(customer)
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer, override_reason="The parcel is already packed.")
    assert excinfo.value.messages == [svc.GUARD_RESTRICTED_GROUND]


def test_only_the_dpo_may_override_a_restriction(dpo, auditor, handler):
    customer = CustomerFactory()
    restrict(customer)
    for someone in (auditor, handler):
        with pytest.raises(DisclosureRefused) as excinfo:
            record(
                someone,
                customer=customer,
                purpose="legal_claims",
                lawful_basis="legitimate_interests",
                override_reason="Court claim",
            )
        assert excinfo.value.messages == [svc.GUARD_OVERRIDE_DPO]


def test_a_disclosure_made_before_the_restriction_is_still_recorded_for_art_19(dpo):
    customer = CustomerFactory()
    restrict(customer, at=timezone.now() - datetime.timedelta(hours=1))
    disclosure = record(dpo, customer=customer, disclosed_at=timezone.now() - datetime.timedelta(days=1))
    assert disclosure.override_reason == ""


# --- Guard: sensitive data without opt-in ----------------------------------------------------------


def test_sensitive_data_is_refused_without_opt_in_to_sharing_it(dpo):
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, sensitive=True, special_category_condition="explicit_consent")
    assert excinfo.value.messages == [svc.GUARD_SENSITIVE]
    assert refusals(excinfo) == [Guard.SENSITIVE]


def test_sensitive_data_is_shared_with_the_opt_in_on_record(dpo):
    customer = CustomerFactory()
    opt_in_to_sensitive_sharing(customer, dpo)
    disclosure = record(dpo, customer=customer, sensitive=True, special_category_condition="explicit_consent")
    assert disclosure.sensitive


def test_sensitive_data_is_refused_once_the_opt_in_is_withdrawn(dpo):
    customer = CustomerFactory()
    opt_in_to_sensitive_sharing(customer, dpo, at=timezone.now() - datetime.timedelta(days=5))
    preference_record(
        actor=dpo, customer=customer, purpose=Purpose.SENSITIVE_SHARING, granted=False, source="email",
        received_at=timezone.now() - datetime.timedelta(days=2),
    )  # fmt: skip
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer, sensitive=True, special_category_condition="explicit_consent")
    assert excinfo.value.messages == [svc.GUARD_SENSITIVE]
    # Recorded late, a disclosure made while the opt-in stood is still allowed.
    disclosure = record(
        dpo,
        customer=customer,
        sensitive=True,
        special_category_condition="explicit_consent",
        disclosed_at=timezone.now() - datetime.timedelta(days=4),
        recipient_reference="CONS-EARLIER",
    )
    assert disclosure.sensitive


def test_an_opt_in_recorded_after_the_disclosure_does_not_cover_it(dpo):
    customer = CustomerFactory()
    opt_in_to_sensitive_sharing(customer, dpo, at=timezone.now() - datetime.timedelta(hours=1))
    with pytest.raises(DisclosureRefused):
        record(
            dpo,
            customer=customer,
            sensitive=True,
            special_category_condition="explicit_consent",
            disclosed_at=timezone.now() - datetime.timedelta(days=1),
        )


# --- Guard: transfers outside the UK ---------------------------------------------------------------


def test_a_recipient_outside_the_uk_without_adequacy_or_mechanism_is_refused(dpo):
    us_provider = RecipientFactory(name="Transcribe Corp.", country="US")
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, recipient=us_provider)
    assert excinfo.value.messages == [svc.GUARD_TRANSFER.format(recipient="Transcribe Corp.")]
    assert refusals(excinfo) == [Guard.TRANSFER]


def test_a_recipient_outside_the_uk_with_a_transfer_mechanism_is_allowed(dpo):
    us_provider = RecipientFactory(
        country="US", transfer_mechanism="eu_sccs_uk_addendum", tra_date=datetime.date(2025, 5, 12), tra_reference="T-1"
    )
    assert record(dpo, recipient=us_provider, data_categories=["call_recording"], purpose="call_transcription")


def test_a_recipient_in_an_adequate_country_is_allowed(dpo):
    irish_psp = RecipientFactory(country="IE", country_adequate=True)
    assert record(dpo, recipient=irish_psp, purpose="payment", data_categories=["payment"])


# --- Guard: inactive recipient, lapsed agreement ----------------------------------------------------


def test_an_inactive_recipient_is_refused(dpo):
    old_courier = RecipientFactory(name="Old Courier Ltd", active=False)
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, recipient=old_courier)
    assert excinfo.value.messages == [svc.GUARD_INACTIVE.format(recipient="Old Courier Ltd")]
    assert refusals(excinfo) == [Guard.RECIPIENT]


def test_a_recipient_whose_agreement_has_lapsed_is_refused(dpo):
    lapsed_on = timezone.localdate() - datetime.timedelta(days=2)
    courier = RecipientFactory(name="Courier Ltd", agreement_renews_on=lapsed_on)
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, recipient=courier)
    assert excinfo.value.messages == [svc.GUARD_LAPSED.format(recipient="Courier Ltd", date=lapsed_on)]
    # While the agreement still ran, it was fine.
    assert record(dpo, recipient=courier, disclosed_at=timezone.now() - datetime.timedelta(days=5))


def test_every_guard_that_applies_is_reported_at_once(dpo):
    customer = CustomerFactory()
    restrict(customer)
    recipient = RecipientFactory(country="US", active=False)
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer, recipient=recipient, sensitive=True, special_category_condition="legal_claims")
    assert refusals(excinfo) == [Guard.RECIPIENT, Guard.TRANSFER, Guard.RESTRICTED, Guard.SENSITIVE]


# --- Other guards --------------------------------------------------------------------------------


def test_nothing_is_disclosed_for_marketing_after_an_objection(dpo):
    customer = CustomerFactory(marketing_objected=True, objected_at=timezone.now() - datetime.timedelta(days=1))
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer, purpose="direct_marketing", lawful_basis="legitimate_interests")
    assert excinfo.value.messages == [svc.GUARD_OBJECTED]


def test_nothing_more_is_disclosed_about_an_erased_customer(dpo):
    customer = CustomerFactory(erased_at=timezone.now() - datetime.timedelta(days=1))
    with pytest.raises(DisclosureRefused) as excinfo:
        record(dpo, customer=customer)
    assert excinfo.value.messages == [svc.GUARD_ERASED]
