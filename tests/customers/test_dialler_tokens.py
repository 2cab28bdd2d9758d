"""The DPO's dialler tokens page (list, issue, revoke; the secret shown once, never listed) and
the rule that a token works only while its issuer may still act as the DPO."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import DiallerToken
from customers.services import dialler
from customers.services.dialler import dialler_token_create, dialler_token_revoke
from customers.views.dialler import MSG_REVOKED
from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.services.staff import staff_approve, staff_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NUMBER = "+447911123456"
PAGE = "customers:dialler_tokens"


def dial(client, token):
    return client.get(reverse("public:dialler_screen"), {"number": NUMBER}, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def issuer(db):
    return UserFactory(username="dan_dpo", role=User.Role.DPO)


@pytest.fixture
def token(issuer):
    return dialler_token_create(actor=issuer, name="dialler-1")[1]


# --- a token works only while its issuer may act as the DPO ---------------------------------------


def test_a_token_stops_working_when_its_issuer_is_switched_off(client, itadmin, issuer, token):
    assert dial(client, token).status_code == 200
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=False, access_ends_on=None, reason="Left")
    response = dial(client, token)
    assert response.status_code == 401
    assert response.json() == {"error": dialler.ERR_ISSUER, "reason": dialler.REFUSED_ISSUER}
    assert dialler.authenticate(f"Bearer {token}") is None


def test_a_token_stops_working_when_its_issuer_loses_the_dpo_role(client, itadmin, issuer, token):
    staff_update(actor=itadmin, user=issuer, role=User.Role.HANDLER, is_active=True, access_ends_on=None,
                 reason="Moved to casework")  # fmt: skip
    assert dial(client, token).json()["reason"] == dialler.REFUSED_ISSUER


def test_a_token_stops_working_when_its_issuers_access_has_ended_or_awaits_approval(client, issuer, token):
    issuer.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    issuer.save()
    assert dial(client, token).status_code == 401
    issuer.access_ends_on, issuer.approved_at = None, None
    issuer.save()
    assert dial(client, token).json()["reason"] == dialler.REFUSED_ISSUER


def test_a_token_stays_dead_when_its_issuer_is_switched_off_and_back_on(client, itadmin, issuer, token):
    """The decision (hostile review): a token is only as good as its issuer's unbroken tenure as
    an active DPO since it was issued. A DPO switched off and back on (leave, a mistaken switch-off,
    a compromised account restored) does not bring back tokens a dialler may have kept; they issue
    new ones. Read from the issuer's history on every check, so the admin or a script cannot
    bring one back either."""
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=False, access_ends_on=None, reason="Leave")
    assert dial(client, token).status_code == 401
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=True, access_ends_on=None, reason="Back")
    response = dial(client, token)
    assert response.status_code == 401
    assert response.json() == {"error": dialler.ERR_ISSUER, "reason": dialler.REFUSED_ISSUER}
    assert dialler.authenticate(f"Bearer {token}") is None
    fresh = dialler_token_create(actor=issuer, name="dialler-after-leave")[1]
    assert dial(client, fresh).status_code == 200


def test_a_token_stays_dead_when_its_issuer_returns_to_the_dpo_role(client, itadmin, dpo, issuer, token):
    staff_update(actor=itadmin, user=issuer, role=User.Role.HANDLER, is_active=True, access_ends_on=None, reason="Move")
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=True, access_ends_on=None, reason="Back")
    staff_approve(actor=dpo, user=issuer)
    assert dial(client, token).json()["reason"] == dialler.REFUSED_ISSUER


def test_a_token_stays_dead_when_its_issuers_ended_access_is_extended(client, itadmin, issuer, token):
    issuer.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    issuer.save()
    assert dial(client, token).status_code == 401
    later = timezone.localdate() + datetime.timedelta(days=90)
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=True, access_ends_on=later, reason="Renewed")
    assert dial(client, token).json()["reason"] == dialler.REFUSED_ISSUER


def test_a_token_stays_dead_when_its_issuer_is_switched_back_on_through_the_admin(client, issuer, token):
    issuer.is_active = False
    issuer.save()
    issuer.is_active = True
    issuer.save()
    assert dial(client, token).status_code == 401


def test_a_token_survives_its_issuers_other_changes(client, itadmin, issuer, token):
    issuer.first_name = "Dan"
    issuer.save()
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=True,
                 access_ends_on=timezone.localdate() + datetime.timedelta(days=30), reason="Fixed term")  # fmt: skip
    assert dial(client, token).status_code == 200


def test_a_tampered_token_is_refused_generically(client, token):
    for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", token[1:], token.upper(), "x" * 5000]:
        response = dial(client, bad)
        assert response.status_code == 401, bad
        assert response.json()["reason"] == dialler.REFUSED_NO_TOKEN
    response = client.get(reverse("public:dialler_screen"), {"number": NUMBER}, HTTP_AUTHORIZATION=f"bearer {token}")
    assert response.status_code == 401


@pytest.mark.parametrize("role", [User.Role.HANDLER, User.Role.ITADMIN, ""])
def test_only_an_active_dpo_issues_a_token(role):
    """Defence in depth: the command and the page check the model permission, which a superuser
    holds whatever their role; a token issued by anyone but an active DPO would never work."""
    actor = UserFactory(username=f"not_dpo_{role or 'none'}", role=role, is_superuser=True)
    with pytest.raises(ValidationError) as raised:
        dialler_token_create(actor=actor, name="dialler-x")
    assert raised.value.messages == [dialler.ERR_NOT_DPO]
    assert not DiallerToken.objects.exists()


def test_another_dpos_tokens_keep_working_when_one_dpo_is_switched_off(client, itadmin, issuer, token, dpo):
    other = dialler_token_create(actor=dpo, name="dialler-2")[1]
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=False, access_ends_on=None, reason="Left")
    assert dial(client, token).status_code == 401
    assert dial(client, other).status_code == 200


# --- the page ----------------------------------------------------------------------------------


def test_the_dpo_lists_tokens_with_issuer_dates_last_use_and_status_never_the_secret(
    client_for, dpo, issuer, token, itadmin
):
    dial(client_for(dpo), token)
    used = DiallerToken.objects.get(name="dialler-1")
    dialler_token_create(actor=dpo, name="never-used")
    stopped = dialler_token_create(actor=dpo, name="stopped")[1]
    dialler_token_revoke(actor=dpo, name="stopped")
    staff_update(actor=itadmin, user=issuer, role=User.Role.DPO, is_active=False, access_ends_on=None, reason="Left")
    response = client_for(dpo).get(reverse(PAGE))
    assert response.status_code == 200
    page = response.content.decode()
    rows = {t.name: t for t in response.context["tokens"]}
    assert set(rows) == {"dialler-1", "never-used", "stopped"}
    last = timezone.localtime(rows["dialler-1"].last_used_at)
    assert abs((last - timezone.now()).total_seconds()) < 60
    assert rows["never-used"].last_used_at is None
    assert f"{timezone.localtime(used.created_at):%-d %b %Y %H:%M}" in page
    assert "Not working: its issuer has not stayed an active DPO since issuing it" in page
    assert "Revoked " in page and "never" in page and str(issuer) in page
    assert token not in page and stopped not in page
    assert used.token_hash not in page


def test_issuing_a_token_shows_its_secret_once_and_it_works(client_for, dpo):
    client = client_for(dpo)
    response = client.post(reverse(PAGE), {"name": " dialler-7 ", "days": "30"})
    assert response.status_code == 200
    record, secret = response.context["issued"]
    assert record.name == "dialler-7" and record.created_by == dpo
    assert (record.expires_at - record.created_at) == datetime.timedelta(days=30)
    assert secret in response.content.decode()
    assert dial(client, secret).status_code == 200
    again = client.get(reverse(PAGE)).content.decode()
    assert secret not in again and "dialler-7" in again


@pytest.mark.parametrize("days", ["0", str(legal.DIALLER_TOKEN_MAX_DAYS + 1), "x", ""])
def test_a_token_for_too_few_or_too_many_days_is_refused_naming_the_field(client_for, dpo, days):
    response = client_for(dpo).post(reverse(PAGE), {"name": "dialler-8", "days": days})
    assert response.status_code == 200 and response.context["issued"] is None
    assert "days" in response.context["form"].errors
    assert "Valid for (days)" in response.content.decode()
    assert not DiallerToken.objects.exists()


def test_a_second_token_with_a_taken_name_is_refused_naming_the_field(client_for, dpo, token):
    response = client_for(dpo).post(reverse(PAGE), {"name": "dialler-1", "days": "30"})
    assert response.context["form"].errors["name"] == [dialler.ERR_NAME_TAKEN]
    assert DiallerToken.objects.count() == 1


def test_the_dpo_revokes_a_token_and_the_dialler_is_refused(client_for, dpo, token):
    record = DiallerToken.objects.get(name="dialler-1")
    client = client_for(dpo)
    response = client.post(reverse("customers:dialler_token_revoke", args=[record.pk]), follow=True)
    assert MSG_REVOKED.format(name="dialler-1") in response.content.decode()
    record.refresh_from_db()
    assert record.revoked_at is not None
    assert record.history.first().history_change_reason == "Dialler token revoked"
    assert dial(client, token).json()["reason"] == dialler.REFUSED_REVOKED
    twice = client.post(reverse("customers:dialler_token_revoke", args=[record.pk]), follow=True)
    assert dialler.ERR_NO_TOKEN in twice.content.decode()


def test_revoking_answers_post_only(client_for, dpo, token):
    record = DiallerToken.objects.get(name="dialler-1")
    assert client_for(dpo).get(reverse("customers:dialler_token_revoke", args=[record.pk])).status_code == 405
    assert client_for(dpo).put(reverse(PAGE)).status_code == 405


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_may_use_the_tokens_page(client_for, request, role, token):
    user = request.getfixturevalue(role)
    record = DiallerToken.objects.get(name="dialler-1")
    client = client_for(user)
    assert client.get(reverse(PAGE)).status_code == 403
    assert client.post(reverse(PAGE), {"name": "mine", "days": "30"}).status_code == 403
    assert client.post(reverse("customers:dialler_token_revoke", args=[record.pk])).status_code == 403
    record.refresh_from_db()
    assert record.revoked_at is None and DiallerToken.objects.count() == 1


def test_the_screening_page_links_the_dpo_to_the_tokens_page(client_for, dpo):
    assert reverse(PAGE) in client_for(dpo).get(reverse("customers:screenings")).content.decode()
