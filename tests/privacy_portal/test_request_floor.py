"""The per-request floor: permissions read once a minute per session and once per object per
request, the idle stamp written at most once a minute; and deny by default still immediate."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from privacy_portal.auth import SESSION_PERMISSIONS_KEY
from privacy_portal.middleware import SESSION_STAMP_INTERVAL_SECONDS
from privacy_portal.models import User
from privacy_portal.roles import group_name
from privacy_portal.services.staff import staff_update
from requests.services import cases as svc
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def session_writes(queries) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]
    ]


def test_a_page_that_does_nothing_costs_two_statements_on_a_warm_session(client_for, agent, django_assert_num_queries):
    client = client_for(agent)
    client.get(reverse("customers:search"))
    with django_assert_num_queries(2):  # the session and the user; no permission query, no session save
        assert client.get(reverse("customers:search")).status_code == 200


def test_the_idle_stamp_is_written_at_most_once_a_minute(client_for, agent):
    client = client_for(agent)
    url = reverse("customers:search")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
        client.get(url)
    assert session_writes(queries) == []
    session = client.session
    session["last_seen"] = (timezone.now() - datetime.timedelta(seconds=SESSION_STAMP_INTERVAL_SECONDS + 1)).timestamp()
    session.save()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(session_writes(queries)) == 1
    assert timezone.now().timestamp() - client.session["last_seen"] < 5


def test_a_role_taken_away_is_refused_at_the_very_next_request(client_for, agent, itadmin):
    client = client_for(agent)
    url = reverse("customers:search")
    assert client.get(url).status_code == 200
    assert SESSION_PERMISSIONS_KEY in client.session  # the permissions are being kept
    staff_update(actor=itadmin, user=agent, role="", is_active=True, access_ends_on=None, reason="Left the desk")
    assert client.get(url).status_code == 403


def test_a_new_role_is_seen_at_the_next_request(client_for, itadmin, dpo):
    from privacy_portal.services.staff import staff_approve

    clerk = User.objects.create_user("clerk", role="")
    client = client_for(clerk)
    url = reverse("customers:search")
    assert client.get(url).status_code == 403
    staff_update(actor=itadmin, user=clerk, role="agent", is_active=True, access_ends_on=None, reason="Joined")
    staff_approve(actor=dpo, user=User.objects.get(pk=clerk.pk))
    assert client.get(url).status_code == 200


def test_kept_permissions_are_read_again_after_a_minute(client_for, agent):
    client = client_for(agent)
    url = reverse("customers:search")
    assert client.get(url).status_code == 200
    # A group edited directly (not through the staff pages): seen once the minute is over.
    agent.groups.clear()
    session = client.session
    session[SESSION_PERMISSIONS_KEY]["at"] -= 61
    session.save()
    assert client.get(url).status_code == 403


def test_a_handler_taken_off_a_case_loses_its_customer_at_the_next_request(client_for, dpo, handler, other_handler):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    client = client_for(handler)
    url = reverse("customers:detail", args=[case.customer_id])
    assert client.get(url).status_code == 200
    svc.case_assign(actor=dpo, case=case, handler=other_handler)
    assert client.get(url).status_code == 404


def test_customer_page_reads_a_handlers_grants_on_the_customer_in_one_statement(client_for, dpo, handler):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    client = client_for(handler)
    url = reverse("customers:detail", args=[case.customer_id])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    grants = [q for q in queries.captured_queries if "objectpermission" in q["sql"]]
    assert len(grants) == 1
    # The grant is what shows the handler the case file's links (calls, purchases).
    assert reverse("customers:calls", args=[case.customer_id]).encode() in response.content
    # 7 when written; the page gained sections today, each a fixed number of statements (no row
    # repeats, the customer page's bound in test_constant_cost_pages is 19 too): the numbers screened
    # for a call (TPS files and lists, past numbers, holders, own list, their preferences: 7), the
    # bereavement, the MPS matches, and the holds (legal holds, open requests, complaints, breaches).
    assert len(queries) <= 19


def test_an_agent_without_grants_still_sees_no_case_file_links(client_for, agent):
    customer = CustomerFactory()
    client = client_for(agent)
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    assert reverse("customers:calls", args=[customer.pk]).encode() not in response.content


def test_a_grant_given_during_a_request_is_seen_by_the_rest_of_it(rf, dpo, handler):
    from guardian.shortcuts import assign_perm

    from privacy_portal.auth import PermissionCacheMiddleware

    customer = CustomerFactory()
    seen = []

    def view(request):
        seen.append(request.user.has_perm("customers.view_customer", customer))
        assign_perm("customers.view_customer", request.user, customer)
        seen.append(request.user.has_perm("customers.view_customer", customer))
        return None

    request = rf.get("/")
    request.user = User.objects.get(pk=handler.pk)
    request.session = {}
    PermissionCacheMiddleware(view)(request)
    assert seen == [False, True]
    assert Group.objects.get(name=group_name("handler")) in handler.groups.all()
