"""The buttons that run one step through privacy_portal.views.helpers.step_done: a refused step
is told as an error message (the service's own words), a step done as its success message, and
the page goes back where it did before."""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from customers.services import legal_holds
from privacy_portal.services import staff
from tests.factories import CustomerFactory


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_releasing_a_hold_says_so_and_releasing_it_again_is_refused_in_the_services_words(client_for, dpo):
    customer = CustomerFactory()
    ends = timezone.localdate() + relativedelta(months=2)
    hold = legal_holds.legal_hold_place(actor=dpo, customer=customer, reason="Claim notified", ends_on=ends)
    url = reverse("customers:legal_hold_release", args=[hold.pk])
    client = client_for(dpo)
    response = client.post(url)
    assert response["Location"] == customer.get_absolute_url()
    assert flashed(response) == [
        ("success", "Legal hold released: the next nightly run purges what is past its period.")
    ]
    client.get(response["Location"])  # the message is shown there, and so used up
    again = client.post(url + "?from=list")
    assert again["Location"] == reverse("customers:legal_holds")
    assert flashed(again) == [("error", legal_holds.ERR_ALREADY_RELEASED)]


def test_unlocking_an_account_that_is_not_locked_is_refused_in_the_services_words(client_for, itadmin, agent):
    response = client_for(itadmin).post(reverse("staff_unlock", args=[agent.pk]))
    assert response["Location"] == reverse("staff_list")
    assert flashed(response) == [("error", staff.ERR_NOT_LOCKED.format(username=agent.username))]
