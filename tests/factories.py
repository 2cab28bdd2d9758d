"""Factories for test data (factory_boy). Build where the database is not needed."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from privacy_portal.models import User
from privacy_portal.roles import group_name

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = ""
    access_ends_on = factory.LazyAttribute(
        lambda u: timezone.localdate() + datetime.timedelta(days=60) if u.role == User.Role.AUDITOR else None
    )
    # Approved by a DPO, as staff in post are (privacy_portal.services.staff.staff_approve).
    approved_at = factory.LazyFunction(timezone.now)

    # Hashed before the one INSERT (with the test settings' fast hasher): setting it after
    # creation saved the user a second time, an UPDATE and a history row per user for nothing
    # (the password is not a history field). UserFactory(password="...") is hashed the same way.
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def with_role_group(self, create, extracted, **kwargs):
        if create and self.role:
            # A new user has no groups: add, not set (which first reads the groups it has).
            self.groups.add(Group.objects.get(name=group_name(self.role)))


class CustomerFactory(factory.django.DjangoModelFactory):
    """A realistic UK customer with normalised contact details."""

    class Meta:
        model = "customers.Customer"

    title = factory.Iterator(["Mr", "Mrs", "Ms", "Dr", ""])
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    email = factory.Sequence(lambda n: f"customer{n}@example.co.uk")
    phone = factory.Sequence(lambda n: f"+447911{n % 1000000:06d}")
    address_line1 = factory.Faker("street_address", locale="en_GB")
    town = factory.Faker("city", locale="en_GB")
    postcode = factory.Iterator(["SW1A 1AA", "SE5 9DF", "M1 1AE", "EH1 1YZ", "B33 8TH", "CR2 6XH"])
    date_of_birth = factory.LazyFunction(lambda: datetime.date(1960, 5, 17))


class PurchaseFactory(factory.django.DjangoModelFactory):
    """A card purchase of a coin, with a two-year guarantee."""

    class Meta:
        model = "customers.Purchase"

    customer = factory.SubFactory(CustomerFactory)
    order_ref = factory.Sequence(lambda n: f"LMO-{n:07d}")
    ordered_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    description = "2024 Britannia silver 1 oz proof coin"
    amount = "89.95"
    payment_method = "card"
    guarantee_until = factory.LazyAttribute(lambda p: p.ordered_on + datetime.timedelta(days=730))


class CallFactory(factory.django.DjangoModelFactory):
    """A recorded inbound customer-service call from yesterday, with an AI transcript."""

    class Meta:
        model = "customers.Call"

    customer = factory.SubFactory(CustomerFactory)
    direction = "inbound"
    customer_number = factory.LazyAttribute(lambda c: c.customer.phone if c.customer else "+447700900123")
    our_number = "+442079460000"
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    duration_seconds = 245
    purpose = "customer_service"
    recording_ref = factory.Sequence(lambda n: f"rec://calls/2025/{n:08d}.wav")
    transcript = "Agent: Good morning, how can I help?\nCaller: I would like to update my address."
    transcript_provider = "Example Transcribe Inc. (US)"


class CorrespondenceFactory(factory.django.DjangoModelFactory):
    """A brief record of a letter from the customer, received yesterday."""

    class Meta:
        model = "customers.Correspondence"

    customer = factory.SubFactory(CustomerFactory)
    direction = "inbound"
    medium = "letter"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    summary = "Asked for a copy of the latest catalogue."


class CaseFactory(factory.django.DjangoModelFactory):
    """A rights request received today, clock running, unassigned."""

    class Meta:
        model = "requests.Case"
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"R-2026-{n + 90000:05d}")
    right = "access"
    channel = "phone"
    received_on = factory.LazyFunction(timezone.localdate)
    customer = factory.SubFactory(CustomerFactory)
    clock_started_on = factory.LazyAttribute(lambda c: c.received_on)

    @factory.post_generation
    def due(self, create, extracted, **kwargs):
        from requests.services.cases import recompute_due

        recompute_due(self)
        if create:
            self.save()


class RecipientFactory(factory.django.DjangoModelFactory):
    """An active UK processor whose agreement runs for another year."""

    class Meta:
        model = "customers.Recipient"

    code = factory.Sequence(lambda n: f"recipient-{n}")
    name = factory.Sequence(lambda n: f"Recipient {n} Ltd")
    category = "logistics"
    role = "processor"
    country = "GB"
    agreement_reference = factory.Sequence(lambda n: f"DPA-{n:04d}")
    agreement_renews_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))
    contact = "privacy@recipient.example.co.uk"


class DisclosureFactory(factory.django.DjangoModelFactory):
    """Contact and order details sent to a logistics partner yesterday (saved directly: no guards)."""

    class Meta:
        model = "customers.Disclosure"

    customer = factory.SubFactory(CustomerFactory)
    recipient = factory.SubFactory(RecipientFactory)
    data_categories = factory.LazyFunction(lambda: ["identity", "contact", "order"])
    purpose = "order_delivery"
    lawful_basis = "contract"
    disclosed_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    recipient_reference = factory.Sequence(lambda n: f"CONS-{n:08d}")
    recorded_by = factory.SubFactory(UserFactory)


class ComplaintFactory(factory.django.DjangoModelFactory):
    """A complaint from a customer received today: unassigned, not yet acknowledged."""

    class Meta:
        model = "requests.Complaint"

    reference = factory.Sequence(lambda n: f"CP-2026-{n + 90000:05d}")
    customer = factory.SubFactory(CustomerFactory)
    received_on = factory.LazyFunction(timezone.localdate)
    channel = "phone"
    category = "marketing"
    description = "Still getting catalogues after asking to stop."
    acknowledge_by = factory.LazyAttribute(lambda c: _complaint_acknowledge_by(c.received_on))


def _complaint_acknowledge_by(received_on: datetime.date) -> datetime.date:
    from requests.deadlines import complaint_acknowledge_by

    return complaint_acknowledge_by(received_on)
