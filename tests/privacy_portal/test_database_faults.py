"""Database faults around a request: a change that committed is never reported as failed, and
persistent connections are checked before reuse.

Real PostgreSQL: the faults are real backends terminated with pg_terminate_backend (what a
database restart, a failover or a proxy dropping connections does), not mocks.
"""

from __future__ import annotations

import datetime

import psycopg
import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.signals import request_started
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import PreferenceChange
from privacy_portal import legal
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SESSION_MIDDLEWARE = "privacy_portal.middleware.SessionMiddleware"


def terminate(pid: int) -> None:
    """Terminate one PostgreSQL backend from a connection of its own."""
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True) as c:
        c.execute("SELECT pg_terminate_backend(%s)", [pid])


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class FaultAfterView:
    """Placed just inside the session middleware: once the view has returned (its change
    committed), `FaultAfterView.fault(request)` runs, before the session is saved."""

    fault = None

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "POST" and FaultAfterView.fault is not None:
            fault, FaultAfterView.fault = FaultAfterView.fault, None
            fault(request)
        return response


@pytest.fixture
def fault_after_view(settings):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(SESSION_MIDDLEWARE) + 1, f"{__name__}.FaultAfterView")
    settings.MIDDLEWARE = middleware
    yield FaultAfterView
    FaultAfterView.fault = None


@pytest.fixture
def agent(role_groups):
    return UserFactory(role="agent")


def record_no_more_post(client, customer):
    return client.post(
        reverse("customers:record_preference", args=[customer.pk]),
        {
            "preference": "direct_marketing:post",
            "action": "opt_out",
            "source": "phone_call",
            "received_at": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        },
    )


def test_a_change_committed_before_the_connection_dropped_is_shown_as_done_not_as_a_deleted_session(
    client_for, agent, fault_after_view
):
    customer = CustomerFactory()
    client = client_for(agent)
    fault_after_view.fault = lambda request: terminate(backend_pid())

    response = record_no_more_post(client, customer)

    assert response.status_code == 302  # not 400 "your session was deleted"
    assert response.url == customer.get_absolute_url()
    assert PreferenceChange.objects.filter(customer=customer, granted=False).count() == 1
    page = client.get(response.url)  # still signed in: the session was saved on a new connection
    assert page.status_code == 200
    due = timezone.localdate() + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    assert f"takes effect by {due:%-d %B %Y}" in page.content.decode()


def test_a_session_deleted_during_the_request_is_not_brought_back_and_the_change_stands(
    client_for, agent, fault_after_view
):
    customer = CustomerFactory()
    client = client_for(agent)
    key = client.session.session_key
    # The user signs out in another tab while this request runs.
    fault_after_view.fault = lambda request: Session.objects.filter(session_key=key).delete()

    response = record_no_more_post(client, customer)

    assert response.status_code == 302
    assert PreferenceChange.objects.filter(customer=customer, granted=False).count() == 1
    assert not Session.objects.filter(session_key=key).exists()
    assert response.cookies[django_settings.SESSION_COOKIE_NAME].value == ""
    assert client.get(customer.get_absolute_url()).status_code == 302  # asked to sign in again


def test_persistent_connections_are_health_checked_before_a_request_reuses_them(client_for, agent):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    customer = CustomerFactory()
    client = client_for(agent)
    saved_max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = None  # persistent, as in production
    connection.close()
    try:
        request_started.send(sender=__name__)
        assert client.get(customer.get_absolute_url()).status_code == 200
        terminate(backend_pid())  # the database drops the connection between two requests
        request_started.send(sender=__name__)  # what every request starts with (Django's handler)
        assert client.get(customer.get_absolute_url()).status_code == 200
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = saved_max_age
        connection.close()
