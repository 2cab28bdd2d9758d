"""The IT administrator manages staff accounts and roles, with history."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy_portal.models import User
from privacy_portal.services import staff as services
from tests.factories import UserFactory
from tests.fixtures.sign_in import sign_in

pytestmark = pytest.mark.django_db


def test_staff_list_shows_accounts_in_a_fixed_number_of_queries(
    client_for, itadmin, agent, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    UserFactory.create_batch(20, role="agent")
    client = client_for(itadmin)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("staff_list"))
    assert response.status_code == 200
    assert agent.username.encode() in response.content


NEW_AGENT = {"username": "newbie", "first_name": "New", "last_name": "Agent", "email": "newbie@example.org",
             "role": "agent"}  # fmt: skip


def _link_from(mail_message) -> str:
    return re.search(r"https?://\S+", mail_message.body).group(0)


def test_it_admin_creates_an_agent_who_gets_the_role_group_but_no_password(
    client_for, itadmin, django_capture_on_commit_callbacks
):
    client = client_for(itadmin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff_create"), NEW_AGENT)
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.role == "agent" and user.has_perm("privacy_portal.use_portal")
    assert not user.has_usable_password()  # nobody but its holder ever chooses it
    assert user.awaiting_approval
    assert user.history.count() == 1 and user.history.first().history_user == itadmin
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newbie@example.org"]


def test_the_new_member_sets_a_password_through_the_one_time_link_and_waits_for_the_dpo(
    client_for, itadmin, dpo, django_capture_on_commit_callbacks
):
    client = client_for(itadmin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff_create"), NEW_AGENT)
    link = _link_from(mail.outbox[0])
    client.logout()
    path = link.split("8000", 1)[-1] if "8000" in link else link
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": "a-long-unusual-passphrase-42",
                                  "new_password2": "a-long-unusual-passphrase-42"})  # fmt: skip
    assert response.status_code == 302
    assert client.get(path).status_code == 400  # used once, then dead
    signed = sign_in(client, "newbie", "a-long-unusual-passphrase-42")
    assert signed.status_code == 401 and b"waiting for the DPO" in signed.content
    client = client_for(dpo)
    newbie = User.objects.get(username="newbie")
    assert client.post(reverse("staff_approvals"), {"user": newbie.pk}).status_code == 302
    newbie.refresh_from_db()
    assert newbie.approved_by == dpo and not newbie.awaiting_approval
    client.logout()
    signed = sign_in(client, "newbie", "a-long-unusual-passphrase-42")
    assert signed.status_code == 302


def test_a_weak_password_is_refused_on_the_set_password_page(client_for, itadmin, django_capture_on_commit_callbacks):
    client = client_for(itadmin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff_create"), NEW_AGENT)
    path = _link_from(mail.outbox[0]).split("8000", 1)[-1]
    client.logout()
    response = client.post(path, {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 200 and b"There is a problem" in response.content
    assert not User.objects.get(username="newbie").has_usable_password()


def test_the_password_chosen_by_the_link_is_in_the_account_history_by_no_one_signed_in(
    client_for, itadmin, django_capture_on_commit_callbacks
):
    client = client_for(itadmin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff_create"), NEW_AGENT)
    path = _link_from(mail.outbox[0]).split("8000", 1)[-1]
    client.logout()
    passphrase = "a-long-unusual-passphrase-42"
    assert client.post(path, {"new_password1": passphrase, "new_password2": passphrase}).status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.check_password(passphrase)
    row = newbie.history.latest()
    assert row.history_change_reason == services.CHOSEN_BY_LINK_REASON and row.history_user is None


def test_a_forged_link_is_refused(client, agent):
    assert client.get(reverse("set_password", args=["MQ", "forged-token"])).status_code == 400


def test_the_dpo_cannot_approve_its_own_account_nor_one_it_set_up(dpo, itadmin):
    from tests.factories import UserFactory

    dpo.approved_at = None
    dpo.save()
    with pytest.raises(ValidationError, match="cannot approve"):
        services.staff_approve(actor=dpo, user=dpo)
    set_up_by_dpo = services.staff_create(actor=dpo, username="x1", first_name="X", last_name="Y",
                                          email="x1@example.org", role="agent")  # fmt: skip
    with pytest.raises(ValidationError, match="cannot approve"):
        services.staff_approve(actor=dpo, user=set_up_by_dpo)
    pending = UserFactory(role="handler", approved_at=None)
    services.staff_approve(actor=UserFactory(role="dpo"), user=pending)
    assert pending.approved_at is not None


def test_only_a_dpo_approves(itadmin):
    from tests.factories import UserFactory

    pending = UserFactory(role="agent", approved_at=None)
    with pytest.raises(ValidationError, match="Only a DPO"):
        services.staff_approve(actor=itadmin, user=pending)


def test_moving_someone_into_a_customer_data_role_needs_approval_again(itadmin, dpo):
    from tests.factories import UserFactory

    clerk = UserFactory(role="itadmin")
    services.staff_update(actor=itadmin, user=clerk, role="agent", is_active=True, access_ends_on=None,
                          reason="Joined customer care")  # fmt: skip
    assert clerk.awaiting_approval


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin"])
def test_only_the_dpo_sees_the_approvals_page(client_for, cast, role):
    client = client_for(cast[role])
    assert client.get(reverse("staff_approvals")).status_code == 403


def test_creating_an_auditor_needs_an_end_date(client_for, itadmin):
    client = client_for(itadmin)
    response = client.post(reverse("staff_create"), {**NEW_AGENT, "username": "extaudit", "role": "auditor"})
    assert response.status_code == 200
    assert services.ERR_AUDITOR_NEEDS_END.encode() in response.content
    assert not User.objects.filter(username="extaudit").exists()


def test_changing_a_role_records_who_and_why(client_for, itadmin, agent):
    client = client_for(itadmin)
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


def test_a_role_change_needs_a_reason(client_for, itadmin, agent):
    client = client_for(itadmin)
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


def test_reset_second_factor_removes_devices_and_needs_post(client_for, itadmin, agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = client_for(itadmin)
    assert client.get(reverse("staff_reset_mfa", args=[agent.pk])).status_code == 405
    response = client.post(reverse("staff_reset_mfa", args=[agent.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=agent).exists()


def test_a_second_factor_reset_is_in_the_account_history_with_who_did_it(client_for, itadmin, agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = client_for(itadmin)
    client.post(reverse("staff_reset_mfa", args=[agent.pk]))
    record = agent.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == itadmin
    assert record.history_change_reason == services.MFA_RESET_REASON.format(devices=1)


def test_editing_an_unknown_account_is_404(client_for, itadmin):
    client = client_for(itadmin)
    assert client.get(reverse("staff_edit", args=[999999])).status_code == 404


@pytest.fixture
def mail_server_down(settings):
    """A real SMTP backend pointed at a port nobody listens on: the connection is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1
    settings.EMAIL_TIMEOUT = 3


@pytest.mark.django_db(transaction=True)
def test_with_the_mail_server_down_the_account_is_created_and_the_it_admin_is_told_the_link_was_not_sent(
    client_for, mail_server_down, role_groups
):
    itadmin = UserFactory(role="itadmin")
    client = client_for(itadmin)
    response = client.post(reverse("staff_create"), NEW_AGENT, follow=True)
    assert response.status_code == 200  # not a server error after the account was committed
    page = response.content.decode()
    assert "Account newbie created, but the email with its link to set a password could not be sent" in page
    assert User.objects.filter(username="newbie").exists()

    member = User.objects.get(username="newbie")
    response = client.post(reverse("staff_resend_link", args=[member.pk]), follow=True)
    assert response.status_code == 200
    assert "The link could not be emailed to newbie" in response.content.decode()
