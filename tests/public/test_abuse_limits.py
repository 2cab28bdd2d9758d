"""Rate limits of the public forms, counted in Redis (django-ratelimit): past the limit a
submission is refused, nothing of it stored, and the refusal logged without its content."""

from __future__ import annotations

import logging
import os
import time
import types

import pytest
import redis
from django.urls import reverse

from privacy_portal import legal
from requests.models import Complaint, PublicSubmission
from tests.fixtures.complaint_form import complaint_data


@pytest.fixture
def limits_on(settings):
    """The limits as in production: on, in a real Redis shared by every worker."""
    url = os.environ["TEST_REDIS_URL"]
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_FAIL_OPEN = False
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "t"},
    }
    redis.Redis.from_url(url).flushdb()
    yield
    redis.Redis.from_url(url).flushdb()


def _per_minute() -> int:
    return int(legal.PUBLIC_FORM_RATE_PER_ADDRESS.split("/")[0])


@pytest.mark.slow
@pytest.mark.django_db
def test_a_thousand_complaints_from_one_address_in_a_minute_are_refused_after_the_limit(
    client, limits_on, caplog, monkeypatch
):
    # All in one minute, as a flood would be: the limiter's clock stands still (the test client
    # is slower than a flood, and a minute boundary mid-loop would open a new window).
    import django_ratelimit.core

    frozen = int(time.time()) // 60 * 60 + 1  # the start of a minute
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: frozen))
    statuses, at = [], []
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        for i in range(1000):
            response = client.post(reverse("public_requests:complaint"), complaint_data(email=f"p{i}@example.org"))
            statuses.append(response.status_code)
            at.append(time.monotonic())
    assert statuses[: _per_minute()] == [200] * _per_minute()
    assert statuses[_per_minute()] == 429
    # The per-minute count lives in Redis with a real expiry, so on a loaded machine a loop slower
    # than a minute opens a new window: never more than the per-minute limit accepted within any
    # real minute, and never past the hourly limit in all.
    per_hour = int(legal.PUBLIC_FORM_RATE_PER_ADDRESS_HOUR.split("/")[0])
    accepted_at = [t for t, status in zip(at, statuses, strict=True) if status == 200]
    assert len(accepted_at) <= per_hour and set(statuses) == {200, 429}
    for t in accepted_at:
        assert sum(1 for u in accepted_at if t - 60 < u <= t) <= _per_minute()
    if at[-1] - at[0] < 60:  # the whole flood inside one minute, as on an idle machine
        assert statuses[_per_minute() :] == [429] * (1000 - _per_minute())
    accepted = len(accepted_at)
    assert Complaint.objects.count() == accepted  # nothing stored for a refused one
    assert "rate limit form=complaint limit=address" in caplog.text
    assert "p999@example.org" not in caplog.text and "catalogues" not in caplog.text


@pytest.mark.django_db
def test_another_address_is_not_held_back_by_the_first(client, limits_on):
    url = reverse("public_requests:complaint")
    for i in range(_per_minute() + 1):
        client.post(url, complaint_data(email=f"a{i}@example.org"), REMOTE_ADDR="203.0.113.1")
    response = client.post(url, complaint_data(email="b@example.org"), REMOTE_ADDR="203.0.113.2")
    assert response.status_code == 200


@pytest.mark.django_db
def test_one_email_is_limited_whatever_address_it_comes_from(client, limits_on):
    url = reverse("public_requests:request")
    per_email = int(legal.PUBLIC_FORM_RATE_PER_EMAIL.split("/")[0])
    data = {"rights": ["access"], "who": "self", "email": "same@example.org", "name": "Sam Same", "website": ""}
    statuses = [client.post(url, data, REMOTE_ADDR=f"198.51.100.{i}").status_code for i in range(1, per_email + 3)]
    assert statuses[:per_email] == [302] * per_email
    assert statuses[per_email:] == [429, 429]
    assert PublicSubmission.objects.count() == per_email


@pytest.mark.slow
@pytest.mark.django_db
def test_a_thousand_requests_from_one_address_in_a_minute_are_refused_after_the_limit_and_send_no_code(
    client, limits_on, caplog, monkeypatch, mailoutbox
):
    import django_ratelimit.core

    frozen = int(time.time()) // 60 * 60 + 1  # one minute, as a flood would be (see above)
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: frozen))
    url = reverse("public_requests:request")
    statuses = []
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        for i in range(1000):
            data = {"rights": ["access"], "who": "self", "email": f"r{i}@example.org", "name": "Flood", "website": ""}
            statuses.append(client.post(url, data).status_code)
    accepted = statuses.count(302)
    assert statuses[: _per_minute()] == [302] * _per_minute() and statuses[_per_minute()] == 429
    # As above: a window may reopen in Redis (a real expiry), never past the hourly limit.
    assert accepted <= int(legal.PUBLIC_FORM_RATE_PER_ADDRESS_HOUR.split("/")[0])
    assert set(statuses) == {302, 429} and statuses[-100:] == [429] * 100
    # Nothing stored and no code emailed for a refused one.
    assert PublicSubmission.objects.count() == accepted
    assert len(mailoutbox) == accepted
    assert "rate limit form=request limit=address" in caplog.text and "r999@example.org" not in caplog.text
