from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from customers.models import Call, Correspondence, Customer, PreferenceChange, Purchase
from demo.customers import DEMO_CUSTOMERS
from privacy_portal.models import User
from tests.seed_once import DEMO_PASSWORD, seed_demo_once

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """seed_demo's output, seeded once for the class (tests/seed_once.py): the tests below the class
    need a database it never seeded."""
    with seed_demo_once(django_db_blocker, tmp_path_factory.mktemp("demo")) as out:
        yield out


class TestSeededOnce:
    """These read one seed_demo run (and run it again), each in a savepoint of it rolled back after."""

    def test_seed_demo_creates_one_user_per_role_and_is_idempotent(self, seeded):
        call_command("seed_demo", stdout=io.StringIO())
        users = {
            u.username: u for u in User.objects.filter(username__in=["agent", "handler", "dpo", "auditor", "itadmin"])
        }
        assert {u: users[u].role for u in users} == {
            "agent": "agent",
            "handler": "handler",
            "dpo": "dpo",
            "auditor": "auditor",
            "itadmin": "itadmin",
        }
        assert users["auditor"].access_ends_on is not None
        assert all(u.check_password(DEMO_PASSWORD) for u in users.values())
        assert DEMO_PASSWORD in seeded

    def test_seed_demo_adds_the_demo_customers_once_with_their_story(self, seeded):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        assert Customer.objects.count() == len(DEMO_CUSTOMERS) >= 20
        emails = [p.email for p in DEMO_CUSTOMERS if p.email]
        assert sorted(Customer.objects.exclude(email="").values_list("email", flat=True)) == sorted(emails)
        agent = User.objects.get(username="agent")
        assert PreferenceChange.objects.filter(granted=False, recorded_by=agent).exists()
        objecting = [p.email for p in DEMO_CUSTOMERS if p.objection]
        assert len(objecting) == 1  # the customers' story has one Art 21 objection (the cases' demo may add another)
        assert Customer.objects.get(email=objecting[0]).marketing_objected
        assert Call.objects.exclude(transcript="").exists() and Correspondence.objects.exists()
        assert Purchase.objects.filter(customer__email="ann.leeming@example.co.uk").count() == 2
        assert f"0 created, {len(DEMO_CUSTOMERS)} already present" in out.getvalue()


def test_seed_demo_generates_and_prints_a_password_when_none_is_set(settings):
    settings.DEMO_PASSWORD = ""
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue().split("agent")[1].split("/")[1].split()[0]
    assert User.objects.get(username="agent").check_password(printed)


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.filter(username="agent").exists()
