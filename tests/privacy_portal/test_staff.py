"""The IT administrator manages staff accounts and roles, with history."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy_portal import services
from privacy_portal.models import User

pytestmark = pytest.mark.django_db


def test_staff_list_shows_accounts_in_a_fixed_number_of_queries(client, itadmin, agent, django_assert_max_num_queries):
    from tests.factories import UserFactory

    UserFactory.create_batch(20, role="agent")
    client.force_login(itadmin)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("staff_list"))
    assert response.status_code == 200
    assert agent.username.encode() in response.content


def test_it_admin_creates_an_agent_who_gets_the_role_group(client, itadmin):
    client.force_login(itadmin)
    response = client.post(
        reverse("staff_create"),
        {
            "username": "newbie",
            "first_name": "New",
            "last_name": "Agent",
            "email": "newbie@example.org",
            "role": "agent",
            "password": "a-long-unusual-passphrase-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.role == "agent"
    assert user.has_perm("privacy_portal.use_portal")
    assert user.password.startswith("md5$") or user.password.startswith("argon2")
    assert user.history.count() == 1
    assert user.history.first().history_user == itadmin


def test_creating_an_auditor_needs_an_end_date(client, itadmin):
    client.force_login(itadmin)
    response = client.post(
        reverse("staff_create"),
        {
            "username": "extaudit",
            "first_name": "Ex",
            "last_name": "Auditor",
            "email": "ex@example.org",
            "role": "auditor",
            "password": "a-long-unusual-passphrase-42",
        },
    )
    assert response.status_code == 200
    assert services.ERR_AUDITOR_NEEDS_END.encode() in response.content
    assert not User.objects.filter(username="extaudit").exists()


def test_a_weak_password_is_refused_with_a_message(client, itadmin):
    client.force_login(itadmin)
    response = client.post(
        reverse("staff_create"),
        {"username": "weak", "first_name": "W", "last_name": "K", "email": "w@example.org", "role": "agent",
         "password": "password"},
    )  # fmt: skip
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert not User.objects.filter(username="weak").exists()


def test_changing_a_role_records_who_and_why(client, itadmin, agent):
    client.force_login(itadmin)
    response = client.post(
        reverse("staff_edit", args=[agent.pk]),
        {"role": "handler", "is_active": "on", "access_ends_on": "", "reason": "Moved to the privacy team"},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role == "handler"
    assert list(agent.groups.values_list("name", flat=True)) == ["Privacy case handler"]
    latest = agent.history.first()
    assert latest.history_user == itadmin
    assert latest.history_change_reason == "Moved to the privacy team"


def test_a_role_change_needs_a_reason(client, itadmin, agent):
    client.force_login(itadmin)
    response = client.post(reverse("staff_edit", args=[agent.pk]), {"role": "dpo", "is_active": "on", "reason": ""})
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.role == "agent"


def test_it_admin_cannot_change_its_own_role(itadmin):
    with pytest.raises(Exception, match="own role"):
        services.staff_update(
            actor=itadmin, user=itadmin, role="dpo", is_active=True, access_ends_on=None, reason="promote myself"
        )


def test_an_end_date_in_the_past_is_refused(itadmin, auditor):
    with pytest.raises(Exception, match="past"):
        services.staff_update(
            actor=itadmin,
            user=auditor,
            role="auditor",
            is_active=True,
            access_ends_on=timezone.localdate() - datetime.timedelta(days=1),
            reason="typo",
        )


def test_reset_second_factor_removes_devices_and_needs_post(client, itadmin, agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client.force_login(itadmin)
    assert client.get(reverse("staff_reset_mfa", args=[agent.pk])).status_code == 405
    response = client.post(reverse("staff_reset_mfa", args=[agent.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=agent).exists()


def test_editing_an_unknown_account_is_404(client, itadmin):
    client.force_login(itadmin)
    assert client.get(reverse("staff_edit", args=[999999])).status_code == 404
