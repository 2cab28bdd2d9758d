"""Rate limits of the public forms, counted in Redis (django-ratelimit): past the limit a
submission is refused, nothing of it stored, and the refusal logged without its content."""

from __future__ import annotations

import logging
import os
import time
import types
import uuid

import pytest
import redis
from django.urls import reverse

from privacy_portal import legal
from requests.models import Complaint, PublicSubmission
from tests.fixtures.complaint_form import complaint_data


@pytest.fixture
def limits_on(settings, monkeypatch):
    """The limits as in production: on, in a real Redis shared by every worker.

    The counts live under a key prefix of this test's own, and only those keys are deleted after
    it: the test Redis database is shared with the other xdist worker, whose Celery tests keep
    their queues, bindings and unacknowledged messages there (a FLUSHDB here deleted them, and a
    task sent meanwhile was dropped as undeliverable), and with any earlier run's leftovers.

    The limiter's clock stands still (a flood comes faster than the test client posts, and a
    window boundary mid-test would open a new window), and so do the counts' lifetimes in Redis:
    Redis expires a key by the real clock, `period + EXPIRATION_FUDGE` seconds after it was added,
    so a loop slower than 65 s on a loaded machine found the minute's count gone and let five
    more through. With the fudge an hour longer the counts outlive the test, as they would a
    flood inside one real minute; the keys are deleted at the end."""
    import django_ratelimit.core

    url = os.environ["TEST_REDIS_URL"]
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_FAIL_OPEN = False
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix},
    }
    frozen = int(time.time()) // 60 * 60 + 1  # the start of a minute
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: frozen))
    monkeypatch.setattr(django_ratelimit.core, "EXPIRATION_FUDGE", 3600 + django_ratelimit.core.EXPIRATION_FUDGE)
    yield
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def _per_minute() -> int:
    return int(legal.PUBLIC_FORM_RATE_PER_ADDRESS.split("/")[0])


@pytest.mark.slow
@pytest.mark.django_db
def test_a_thousand_complaints_from_one_address_in_a_minute_are_refused_after_the_limit(client, limits_on, caplog):
    # All in one minute, as a flood would be: the limiter's clock and its counts' lifetimes stand
    # still (limits_on), whatever the time the loop takes on a loaded machine.
    statuses, at = [], []
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        for i in range(1000):
            response = client.post(reverse("public_requests:complaint"), complaint_data(email=f"p{i}@example.org"))
            statuses.append(response.status_code)
            at.append(time.monotonic())
    assert statuses[: _per_minute()] == [200] * _per_minute()
    assert statuses[_per_minute()] == 429
    # Never more than the per-minute limit accepted within any real minute, and never past the
    # hourly limit in all; the whole flood is inside the limiter's one minute, so all the rest refused.
    per_hour = int(legal.PUBLIC_FORM_RATE_PER_ADDRESS_HOUR.split("/")[0])
    accepted_at = [t for t, status in zip(at, statuses, strict=True) if status == 200]
    assert len(accepted_at) <= per_hour and set(statuses) == {200, 429}
    for t in accepted_at:
        assert sum(1 for u in accepted_at if t - 60 < u <= t) <= _per_minute()
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
    client, limits_on, caplog, mailoutbox
):
    # One minute, as a flood would be, however long the loop takes (limits_on).
    url = reverse("public_requests:request")
    statuses = []
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        for i in range(1000):
            data = {"rights": ["access"], "who": "self", "email": f"r{i}@example.org", "name": "Flood", "website": ""}
            statuses.append(client.post(url, data).status_code)
    accepted = statuses.count(302)
    assert statuses[: _per_minute()] == [302] * _per_minute() and statuses[_per_minute()] == 429
    assert accepted <= int(legal.PUBLIC_FORM_RATE_PER_ADDRESS_HOUR.split("/")[0])
    assert set(statuses) == {302, 429} and statuses[-100:] == [429] * 100
    # Nothing stored and no code emailed for a refused one.
    assert PublicSubmission.objects.count() == accepted
    assert len(mailoutbox) == accepted
    assert "rate limit form=request limit=address" in caplog.text and "r999@example.org" not in caplog.text
