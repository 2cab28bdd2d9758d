"""The sign-in lockout (issue 12, finding 9): the page says how long in words and who can
unlock; the IT administrator can, and the unlock is recorded with who did it."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from privacy_portal.services import staff as services
from privacy_portal.templatetags.durations import in_words
from tests.fixtures.sign_in import sign_in

pytestmark = pytest.mark.django_db


def lock_out(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, user.username, "wrong")
    assert response.status_code == 403
    return response


def test_the_lockout_page_says_how_long_in_words_and_that_the_it_administrator_can_unlock(client, settings, agent):
    body = lock_out(client, settings, agent).content.decode()
    assert "locked for 30 minutes" in body
    assert "PT30M" not in body
    assert "the IT administrator" in body and "can unlock it now" in body


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(30, "30 minutes"), (1, "1 minute"), (60, "1 hour"), (90, "1 hour 30 minutes"), (60 * 24 + 5, "1 day 5 minutes")],
)
def test_durations_read_in_words(minutes, words):
    assert in_words(datetime.timedelta(minutes=minutes)) == words


def test_the_it_administrator_sees_the_lockout_unlocks_it_and_the_history_says_who(
    client, client_for, settings, agent, itadmin
):
    lock_out(client, settings, agent)
    admin = client_for(itadmin)
    page = admin.get(reverse("staff_list")).content.decode()
    assert "Locked out" in page and reverse("staff_unlock", args=[agent.pk]) in page
    response = admin.post(reverse("staff_unlock", args=[agent.pk]), follow=True)
    assert f"{agent.username} is unlocked" in response.content.decode()
    assert not AccessAttempt.objects.filter(username=agent.username).exists()
    record = agent.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == itadmin
    assert record.history_change_reason == services.UNLOCK_REASON.format(attempts=settings.AXES_FAILURE_LIMIT)
    admin.logout()
    assert sign_in(client, agent.username).status_code == 302  # the right password works again


def test_unlocking_an_account_that_is_not_locked_says_so_and_records_nothing(client_for, itadmin, agent):
    before = agent.history.count()
    response = client_for(itadmin).post(reverse("staff_unlock", args=[agent.pk]), follow=True)
    assert services.ERR_NOT_LOCKED.format(username=agent.username) in response.content.decode()
    assert agent.history.count() == before


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("handler", 403), ("dpo", 403), ("auditor", 403)])
def test_only_the_it_administrator_may_unlock(client, settings, client_for, cast, role, status):
    target = cast["other_handler"]
    lock_out(client, settings, target)
    assert client_for(cast[role]).post(reverse("staff_unlock", args=[target.pk])).status_code == status
    assert AccessAttempt.objects.filter(username=target.username).exists()


def test_unlock_needs_post(client_for, itadmin, agent):
    assert client_for(itadmin).get(reverse("staff_unlock", args=[agent.pk])).status_code == 405
