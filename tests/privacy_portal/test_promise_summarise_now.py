"""The promise summary without waiting for the hourly job: the demo seeding summarises once at its
end, and the DPO can have it summarised now (a POST, DPO-only, the Celery task enqueued on commit;
asking twice leaves one current summary)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from demo.management.commands.seed_demo import DEMO_DATA_STEPS
from demo.promises import summarise_demo_promises
from privacy_portal.models import JobRun
from privacy_portal.promises.summary import JOB_NAME

pytestmark = pytest.mark.django_db

URL = reverse("promise_summarise")
NOT_YET = "Not summarised yet this quarter"


def test_the_demo_summarises_the_promises_as_its_last_step():
    assert DEMO_DATA_STEPS[-1] is summarise_demo_promises


def test_the_dpo_has_the_quarter_summarised_now_and_the_dashboard_shows_it(
    client_for, dpo, django_capture_on_commit_callbacks
):
    client = client_for(dpo)
    home = client.get(reverse("home")).content.decode()
    assert NOT_YET in home and f'action="{URL}"' in home
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL)
    assert response.status_code == 302 and response.url == reverse("home")
    assert JobRun.objects.filter(name=JOB_NAME, outcome=JobRun.Outcome.OK).count() == 1
    assert NOT_YET not in client.get(reverse("home")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL)
    assert NOT_YET not in client.get(reverse("home")).content.decode()


def test_summarise_now_enqueues_nothing_before_the_commit(client_for, dpo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for(dpo).post(URL)
    assert len(callbacks) == 1
    assert not JobRun.objects.filter(name=JOB_NAME).exists()


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_has_the_promises_summarised(client_for, cast, role, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(cast[role]).post(URL).status_code == 403
    assert not JobRun.objects.filter(name=JOB_NAME).exists()


def test_summarise_now_refuses_get(client_for, dpo):
    assert client_for(dpo).get(URL).status_code == 405
    assert not JobRun.objects.filter(name=JOB_NAME).exists()
