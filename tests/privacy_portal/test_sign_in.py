"""Staff sign-in: passwords, lockout, the second factor, session limits, sign-out, error pages."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy_portal.middleware import MSG_ACCOUNT_ENDED, MSG_IDLE
from privacy_portal.models import User
from tests.factories import UserFactory
from tests.fixtures.sign_in import sign_in

pytestmark = pytest.mark.django_db


def test_sign_in_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_staff_member_signs_in_and_lands_on_home(client, agent):
    response = sign_in(client, agent.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_wrong_password_gets_401_with_a_clear_message_and_is_logged_without_password(client, agent, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = sign_in(client, agent.username, "not-the-password-xyz")
    assert response.status_code == 401
    assert b"Wrong username or password" in response.content
    assert "sign-in failed" in caplog.text
    assert "not-the-password-xyz" not in caplog.text


def test_five_wrong_passwords_lock_the_account(client, agent):
    for _ in range(4):
        assert sign_in(client, agent.username, "wrong").status_code == 401
    locked = sign_in(client, agent.username, "wrong")
    assert locked.status_code == 403
    assert b"Account locked" in locked.content
    # Even the right password is refused while locked.
    again = sign_in(client, agent.username)
    assert again.status_code == 403
    assert b"Account locked" in again.content


def test_lockout_is_per_username_so_colleagues_are_not_locked_out(client, agent, dpo):
    for _ in range(5):
        sign_in(client, agent.username, "wrong")
    assert sign_in(client, dpo.username).status_code == 302


def test_next_parameter_is_followed_only_on_this_site(client, agent):
    response = sign_in(client, agent.username, next="https://evil.example.com/")
    assert response["Location"] == reverse("home")
    response = client.post(reverse("logout"))
    response = sign_in(client, agent.username, next="/staff/")
    assert response["Location"] == "/staff/"


def test_sign_out_needs_post(client_for, agent):
    client = client_for(agent)
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert b"not available this way" in response.content
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_auditor_cannot_sign_in_after_the_engagement_ends(client, db):
    auditor = UserFactory(role=User.Role.AUDITOR, access_ends_on=timezone.localdate() + datetime.timedelta(days=1))
    auditor.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    auditor.save()
    response = sign_in(client, auditor.username)
    assert response.status_code == 401


def test_auditor_session_ends_when_the_engagement_ends(client_for, auditor):
    client = client_for(auditor)
    assert client.get(reverse("home")).status_code == 200
    auditor.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    auditor.save()
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert MSG_ACCOUNT_ENDED.encode() in response.content


def _age_session(client, **kwargs):
    session = client.session
    for key, delta in kwargs.items():
        session[key] = (timezone.now() - delta).timestamp()
    session.save()


def test_session_ends_after_30_minutes_idle(client, agent):
    sign_in(client, agent.username)
    _age_session(client, last_seen=datetime.timedelta(minutes=31))
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert MSG_IDLE.encode() in response.content


def test_session_survives_29_minutes_idle(client, agent):
    sign_in(client, agent.username)
    _age_session(client, last_seen=datetime.timedelta(minutes=29))
    assert client.get(reverse("home")).status_code == 200


def test_session_ends_after_12_hours_even_when_active(client, agent):
    sign_in(client, agent.username)
    _age_session(client, auth_started=datetime.timedelta(hours=12, minutes=1), last_seen=datetime.timedelta(minutes=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_forged_csrf_token_gets_a_clear_403(agent):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = sign_in(csrf_client, agent.username)
    assert response.status_code == 403
    assert b"This form could not be accepted" in response.content


def test_unknown_url_gets_the_portal_404(client_for, agent):
    client = client_for(agent)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_missing_permission_gets_the_portal_403(client_for, agent):
    client = client_for(agent)
    response = client.get(reverse("staff_list"))
    assert response.status_code == 403
    assert b"You do not have access to this page" in response.content


class TestSecondFactor:
    @pytest.fixture(autouse=True)
    def _require_mfa(self, settings):
        settings.PORTAL_REQUIRE_MFA = True

    def test_staff_without_authenticator_must_enrol_before_anything_else(self, client, agent):
        sign_in(client, agent.username)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_enrol")
        page = client.get(reverse("mfa_enrol"))
        assert page.status_code == 200
        assert b"<svg" in page.content  # the QR code

    def test_enrolment_confirms_with_a_real_totp_code(self, client, agent):
        sign_in(client, agent.username)
        client.get(reverse("mfa_enrol"))
        device = TOTPDevice.objects.get(user=agent)
        wrong = client.post(reverse("mfa_enrol"), {"otp_token": "000000" if totp(device.bin_key) else "111111"})
        assert wrong.status_code == 401
        device.refresh_from_db()
        device.throttle_reset()  # django-otp throttles for a second after a wrong code
        response = client.post(reverse("mfa_enrol"), {"otp_token": f"{totp(device.bin_key):06d}"})
        assert response.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert client.get(reverse("home")).status_code == 200

    def test_enrolled_staff_must_give_a_code_after_the_password(self, client, agent):
        device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
        sign_in(client, agent.username)
        assert client.get(reverse("home"))["Location"] == reverse("mfa_verify")
        bad = client.post(reverse("mfa_verify"), {"otp_token": "12345x"})
        assert bad.status_code == 401
        assert client.get(reverse("home")).status_code == 302
        good = client.post(reverse("mfa_verify"), {"otp_token": f"{totp(device.bin_key):06d}"})
        assert good.status_code == 302
        assert client.get(reverse("home")).status_code == 200

    def test_django_admin_is_behind_the_second_factor(self):
        import importlib

        from django.contrib import admin
        from django_otp.admin import OTPAdminSite

        import privacy_portal.urls

        original = admin.site.__class__
        try:
            importlib.reload(privacy_portal.urls)  # urls.py swaps the admin site's class when MFA is on
            assert isinstance(admin.site, OTPAdminSite)
        finally:
            admin.site.__class__ = original


def test_an_ended_auditor_with_the_right_password_is_told_why(client, db):
    auditor = UserFactory(role=User.Role.AUDITOR, access_ends_on=timezone.localdate() + datetime.timedelta(days=1))
    auditor.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    auditor.save()
    response = sign_in(client, auditor.username)
    assert response.status_code == 401 and b"access has ended" in response.content
    wrong = sign_in(client, auditor.username, "not-the-password")
    assert b"access has ended" not in wrong.content and b"Wrong username or password" in wrong.content


def test_signing_in_records_last_login_without_a_history_row(client, agent):
    before = agent.history.count()
    sign_in(client, agent.username)
    agent.refresh_from_db()
    assert agent.last_login is not None
    assert agent.history.count() == before
