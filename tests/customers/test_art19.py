"""Art 19: for any customer, every recipient their data went to, when and what; paged lists; the chart's numbers."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from customers.selectors.disclosures import (
    _nice_ceiling,
    art19_recipients,
    customer_disclosures,
    disclosure_chart,
    forget_monthly_counts,
    monthly_counts,
    recipient_disclosures,
)
from tests.factories import CustomerFactory, DisclosureFactory, RecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_chart_counts():
    forget_monthly_counts()


def days_ago(n: int, hour: int = 12) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=n)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_art19_lists_each_recipient_once_with_when_and_what(django_assert_max_num_queries):
    customer = CustomerFactory()
    lender = RecipientFactory(name="Lender Ltd", category="finance_provider")
    courier = RecipientFactory(name="Courier Ltd")
    DisclosureFactory(customer=customer, recipient=courier, disclosed_at=days_ago(40), recipient_reference="C-1")
    DisclosureFactory(
        customer=customer,
        recipient=courier,
        disclosed_at=days_ago(3),
        data_categories=["contact", "payment"],
        recipient_reference="C-2",
    )
    DisclosureFactory(
        customer=customer,
        recipient=lender,
        disclosed_at=days_ago(10),
        data_categories=["credit_finance", "identity"],
        recipient_reference="APP-9",
    )
    DisclosureFactory(recipient=courier)  # another customer's

    with django_assert_max_num_queries(2):
        entries = art19_recipients(customer)

    assert [e.recipient.name for e in entries] == ["Courier Ltd", "Lender Ltd"]  # most recent first
    courier_entry, lender_entry = entries
    assert (courier_entry.first_at, courier_entry.last_at, courier_entry.count) == (days_ago(40), days_ago(3), 2)
    assert courier_entry.data_categories == ["identity", "contact", "order", "payment"]
    assert courier_entry.references == ["C-2", "C-1"]
    assert lender_entry.data_category_labels == ["Identity", "Credit and finance"]
    assert lender_entry.recipient.contact


def test_art19_is_empty_for_a_customer_whose_data_went_nowhere():
    assert art19_recipients(CustomerFactory().pk) == []


def test_a_customers_disclosures_are_keyset_paged_newest_first(django_assert_max_num_queries):
    customer = CustomerFactory()
    same_moment = days_ago(2)
    made = [DisclosureFactory(customer=customer, disclosed_at=same_moment) for _ in range(3)]
    made += [DisclosureFactory(customer=customer, disclosed_at=days_ago(n)) for n in (1, 5, 9)]
    DisclosureFactory()  # someone else's

    expected = sorted(made, key=lambda d: (d.disclosed_at, d.pk), reverse=True)
    seen, after = [], None
    while True:
        with django_assert_max_num_queries(2):
            page = customer_disclosures(customer, after=after, limit=2)
        seen += page.rows
        if page.next_after is None:
            break
        after = page.next_after
    assert [d.pk for d in seen] == [d.pk for d in expected]


def test_a_page_after_an_unknown_row_is_empty():
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    other = DisclosureFactory()
    assert customer_disclosures(customer, after=other.pk).rows == []


def test_a_recipients_disclosures_are_paged_too():
    recipient = RecipientFactory()
    made = [DisclosureFactory(recipient=recipient, disclosed_at=days_ago(n)) for n in range(5)]
    first = recipient_disclosures(recipient, limit=3)
    second = recipient_disclosures(recipient, after=first.next_after, limit=3)
    assert [d.pk for d in first.rows + second.rows] == [d.pk for d in made]
    assert second.next_after is None


def test_monthly_counts_group_by_recipient_and_month():
    today = timezone.localdate()
    courier, lender = RecipientFactory(), RecipientFactory()
    this_month = today.replace(day=1)
    DisclosureFactory.create_batch(2, recipient=courier, disclosed_at=days_ago(0))
    DisclosureFactory(recipient=lender, disclosed_at=days_ago(0))
    DisclosureFactory(recipient=courier, disclosed_at=days_ago(500))  # outside the 12 months
    months, counts = monthly_counts(today=today)
    assert len(months) == 12 and months[-1] == this_month
    assert counts == {(courier.pk, this_month): 2, (lender.pk, this_month): 1}


def test_the_chart_stacks_recipients_per_month_on_a_round_scale():
    courier = RecipientFactory(name="A Courier")
    lender = RecipientFactory(name="B Lender")
    DisclosureFactory.create_batch(3, recipient=courier, disclosed_at=days_ago(0))
    DisclosureFactory(recipient=lender, disclosed_at=days_ago(0))
    chart = disclosure_chart()
    assert chart.total == 4
    assert chart.max_value == 5
    assert [name for name, _ in chart.legend] == ["A Courier", "B Lender"]
    current = chart.months[-1]
    assert current.total == 4
    assert [s.count for s in current.segments] == [3, 1]
    # Stacked: the second segment sits on top of the first.
    first, second = current.segments
    assert second.y + second.height == pytest.approx(first.y, abs=0.2)
    assert ("A Courier", [0] * 11 + [3]) in chart.table


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (4500, 5000)])
def test_the_chart_scale_rounds_up_to_1_2_or_5(value, ceiling):
    assert _nice_ceiling(value) == ceiling


def test_the_charts_counts_are_reused_until_a_disclosure_is_recorded(
    dpo, django_assert_num_queries, django_capture_on_commit_callbacks
):
    recipient = RecipientFactory(name="Cached Courier")
    DisclosureFactory(recipient=recipient, disclosed_at=days_ago(0))
    assert disclosure_chart().total == 1
    DisclosureFactory(recipient=recipient, disclosed_at=days_ago(0))  # behind the service's back
    with django_assert_num_queries(1):  # the recipients' names only
        assert disclosure_chart().total == 1
    with django_capture_on_commit_callbacks(execute=True):
        record_through_the_service(dpo, recipient)
    assert disclosure_chart().total == 3


def record_through_the_service(actor, recipient):
    from customers.services.disclosures import disclosure_record

    disclosure_record(
        actor=actor,
        customer=CustomerFactory(),
        recipient=recipient,
        data_categories=["order"],
        purpose="order_delivery",
        lawful_basis="contract",
    )
