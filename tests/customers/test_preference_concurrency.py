"""The same preference submitted twice at once (two agents, two clicks) is stored once.

Real threads on real PostgreSQL connections, released together by a barrier, many pairs:
without the lock on the customer row both "already recorded?" reads can miss the other's
insert and both record a change.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from customers.models import Channel, PreferenceChange, Purpose, SuppressionEntry
from customers.services.preferences import customer_object_to_marketing, preference_record
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAIRS = 40


def at_once(*calls):
    """Run each call in its own thread with its own database connection, all released at
    the same instant; returns their results in order (re-raising the first error)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i, call):
        try:
            barrier.wait(10)
            results[i] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]
    return results


def test_the_same_opt_out_submitted_by_two_agents_at_once_is_recorded_once():
    agents = [UserFactory(role="agent"), UserFactory(role="agent")]
    customers = [CustomerFactory() for _ in range(PAIRS)]
    for customer in customers:

        def opt_out(agent, customer=customer):
            return preference_record(
                actor=agent,
                customer=customer,
                purpose=Purpose.DIRECT_MARKETING,
                channel=Channel.POST,
                granted=False,
                source=PreferenceChange.Source.PHONE_CALL,
            )

        first, second = at_once(lambda: opt_out(agents[0]), lambda: opt_out(agents[1]))
        # One of them recorded it; the other got the normal "already recorded" outcome: the same change.
        assert sorted([first[1], second[1]]) == [False, True]
        assert first[0].pk == second[0].pk

    for customer in customers:
        assert PreferenceChange.objects.filter(customer=customer).count() == 1
        assert PreferenceChange.history.filter(customer_id=customer.pk).count() == 1
    assert SuppressionEntry.objects.filter(channel=Channel.POST).count() == PAIRS


def test_an_opt_in_and_an_opt_out_at_once_are_both_recorded_in_order():
    """Different changes are not duplicates: both are kept, and the current one is the later."""
    agent = UserFactory(role="agent")
    customer = CustomerFactory()

    def record(granted):
        return preference_record(
            actor=agent,
            customer=customer,
            purpose=Purpose.DIRECT_MARKETING,
            channel=Channel.EMAIL,
            granted=granted,
            source=PreferenceChange.Source.EMAIL,
        )

    results = at_once(lambda: record(True), lambda: record(False))
    assert all(created for _, created in results)
    assert PreferenceChange.objects.filter(customer=customer).count() == 2


def test_the_same_objection_recorded_twice_at_once_withdraws_marketing_once():
    agents = [UserFactory(role="agent"), UserFactory(role="agent")]
    # Direct marketing on four channels, personalised advertising, and the reg 21(4) "calls despite
    # the TPS" notification (an objection withdraws it too).
    marketing_keys = 6
    customers = [CustomerFactory() for _ in range(PAIRS // 4)]
    for customer in customers:

        def objection(agent, customer=customer):
            return customer_object_to_marketing(actor=agent, customer=customer, source=PreferenceChange.Source.LETTER)

        first, second = at_once(lambda: objection(agents[0]), lambda: objection(agents[1]))
        assert sorted([len(first), len(second)]) == [0, marketing_keys]
        customer.refresh_from_db()
        assert customer.marketing_objected
        assert customer.history.filter(marketing_objected=True).count() == 1
        assert PreferenceChange.objects.filter(customer=customer).count() == marketing_keys


def test_a_change_is_checked_against_the_customers_committed_state_not_a_stale_copy():
    """The rules run on the locked row, not the caller's stale copy."""
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone

    from customers.models import Customer
    from customers.services.preferences import ERR_ERASED

    customer = CustomerFactory()
    stale = Customer.objects.get(pk=customer.pk)
    with transaction.atomic():
        row = Customer.objects.select_for_update().get(pk=customer.pk)
        row.erased_at = timezone.now()
        row.save()
    with pytest.raises(ValidationError) as caught:
        preference_record(
            actor=None,
            customer=stale,
            purpose=Purpose.DIRECT_MARKETING,
            channel=Channel.SMS,
            granted=True,
            source=PreferenceChange.Source.PHONE_CALL,
        )
    assert ERR_ERASED in caught.value.messages


def test_an_unsubscribe_link_clicked_twice_at_once_records_one_opt_out():
    from customers.services.unsubscribe import unsubscribe_confirm, unsubscribe_token

    customers = [CustomerFactory() for _ in range(PAIRS // 4)]
    for customer in customers:
        token = unsubscribe_token(customer, Channel.EMAIL)
        first, second = at_once(
            lambda t=token: unsubscribe_confirm(token=t), lambda t=token: unsubscribe_confirm(token=t)
        )
        assert sorted([first[2], second[2]]) == [False, True]
        assert PreferenceChange.objects.filter(customer=customer).count() == 1


def test_two_stop_texts_from_one_number_at_once_record_one_opt_out():
    """Two different messages (the customer texted STOP twice): each is recorded, the opt-out once."""
    from customers.models import InboundSms
    from customers.services import sms

    customers = [CustomerFactory() for _ in range(PAIRS // 4)]
    for n, customer in enumerate(customers):
        messages = [sms.InboundMessage(message_id=f"stop-{n}-{i}", sender=customer.phone, text="STOP") for i in (1, 2)]
        at_once(*(lambda m=m: sms.sms_inbound_record(message=m) for m in messages))
        assert InboundSms.objects.filter(customer_id=customer.pk).count() == 2
        assert PreferenceChange.objects.filter(customer=customer).count() == 1
