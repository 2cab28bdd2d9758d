"""The email platform's List-Unsubscribe headers for a campaign (RFC 2369, RFC 8058): a CSV per
recipient who may be emailed marketing, the others counted by why they are left out; its one-click
URL is the unsubscribe endpoint's, which records the opt-out within the 2-day rule."""

from __future__ import annotations

import csv
import datetime
import io
import urllib.parse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Bereavement, Channel, PreferenceChange, Purpose, SuppressionEntry
from customers.services.mps import customer_record_bereavement
from customers.services.preferences import customer_object_to_marketing, may_market, preference_record
from customers.services.suppression import suppression_add
from customers.services.unsubscribe import unsubscribe_target
from privacy_portal import legal
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BASE = "https://portal.example.org"
URL = reverse("customers:list_unsubscribe_export")
PAGE = reverse("customers:list_unsubscribe")


@pytest.fixture(autouse=True)
def _public_base(settings):
    settings.PUBLIC_BASE_URL = BASE
    settings.LIST_UNSUBSCRIBE_MAILTO = ""


def opt_in(actor, customer, granted=True):
    preference_record(actor=actor, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL,
                      granted=granted, source="account_page")  # fmt: skip
    return customer


def download(client) -> list[dict]:
    response = client.get(URL)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def world(agent):
    """One customer of each kind the export must tell apart."""
    now = timezone.now()
    w = {
        "listed": opt_in(agent, CustomerFactory(email="listed@example.org")),
        "opted_out": opt_in(agent, opt_in(agent, CustomerFactory(email="out@example.org")), granted=False),
        "never": CustomerFactory(email="never@example.org"),
        "suppressed": opt_in(agent, CustomerFactory(email="suppressed@example.org")),
        "no_email": opt_in(agent, CustomerFactory(email="")),
        "erased": opt_in(agent, CustomerFactory(email="erased@example.org")),
        "deceased": opt_in(agent, CustomerFactory(email="deceased@example.org")),
        "objected": opt_in(agent, CustomerFactory(email="objected@example.org")),
        "restricted": opt_in(agent, CustomerFactory(email="restricted@example.org")),
    }
    suppression_add(actor=None, channel=Channel.EMAIL, identifier="suppressed@example.org",
                    reason=SuppressionEntry.Reason.OPTED_OUT)  # fmt: skip
    w["erased"].erased_at = now
    w["erased"].save()
    customer_record_bereavement(actor=agent, customer=w["deceased"], source=Bereavement.Source.AGENT,
                                reported_on=timezone.localdate())  # fmt: skip
    customer_object_to_marketing(actor=agent, customer=w["objected"], source="phone_call")
    w["restricted"].processing_restricted, w["restricted"].restricted_at = True, now
    w["restricted"].save()
    return w


def test_only_customers_who_may_be_emailed_marketing_are_listed_with_both_headers(client_for, dpo, world):
    listed = world["listed"]
    (row,) = download(client_for(dpo))
    assert (row["customer_reference"], row["email"]) == (listed.reference, "listed@example.org")
    assert row["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    assert row["list_unsubscribe"].startswith(f"<{BASE}/p/unsubscribe/") and row["list_unsubscribe"].endswith("/>")
    token = row["list_unsubscribe"][len(f"<{BASE}/p/unsubscribe/") : -2]
    target = unsubscribe_target(token)
    assert (target.customer.pk, target.channel) == (listed.pk, Channel.EMAIL)
    assert may_market(listed, Channel.EMAIL)


def test_the_page_counts_who_is_left_out_and_why(client_for, dpo, world):
    response = client_for(dpo).get(PAGE)
    assert response.status_code == 200
    assert response.context["listed"] == 1
    counts = {code: count for code, _, count in response.context["excluded"]}
    assert counts == {"erased": 1, "deceased": 1, "objected": 1, "restricted": 1, "no_email": 1,
                      "not_opted_in": 2, "suppressed": 1}  # fmt: skip
    page = response.content.decode()
    assert "On the email suppression list" in page and "@example.org" not in page  # counts, never people


def test_a_configured_mailbox_is_given_as_the_mailto_with_the_same_token(client_for, dpo, world, settings):
    settings.LIST_UNSUBSCRIBE_MAILTO = "unsubscribe@example.org"
    (row,) = download(client_for(dpo))
    url, mailto = row["list_unsubscribe"].split(", ")
    assert url.startswith(f"<{BASE}/p/unsubscribe/")
    assert mailto.startswith("<mailto:unsubscribe@example.org?subject=unsubscribe%20") and mailto.endswith(">")
    token = urllib.parse.unquote(mailto[len("<mailto:unsubscribe@example.org?subject=") : -1]).split(" ")[1]
    assert unsubscribe_target(token).customer == world["listed"]
    assert url == f"<{BASE}/p/unsubscribe/{token}/>"


def test_the_generated_url_takes_a_one_click_post_recorded_within_two_days(client, client_for, dpo, world):
    (row,) = download(client_for(dpo))
    path = urllib.parse.urlsplit(row["list_unsubscribe"][1:-1]).path
    key, value = row["list_unsubscribe_post"].split("=")
    response = client.post(path, {key: value})  # the mailbox provider: no cookie, no CSRF token
    assert response.status_code == 200
    change = PreferenceChange.objects.filter(customer=world["listed"], channel=Channel.EMAIL).latest("received_at")
    assert (change.granted, change.source) == (False, PreferenceChange.Source.ONE_CLICK)
    due = timezone.localdate(change.received_at) + datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK)
    assert change.takes_effect_by == due and legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK == 2
    assert download(client_for(dpo)) == []  # the next campaign's file leaves them out


def test_the_export_is_in_the_access_log_by_ids_and_counts_only(client_for, dpo, world):
    before = AccessEvent.objects.count()
    download(client_for(dpo))
    (event,) = AccessEvent.objects.order_by("id")[before:]
    assert (event.user, event.action, event.result_ids) == (dpo, AccessEvent.Action.EXPORT, [world["listed"].pk])
    assert event.details == {"export": "list_unsubscribe", "excluded": {
        "erased": 1, "deceased": 1, "objected": 1, "restricted": 1, "no_email": 1, "not_opted_in": 2,
        "suppressed": 1}}  # fmt: skip
    assert "@" not in str(event.details)


def test_the_cells_go_through_the_one_csv_guard(client_for, dpo, agent):
    opt_in(agent, CustomerFactory(email="=HYPERLINK(1)@example.org"))
    (row,) = download(client_for(dpo))
    assert row["email"] == "'=HYPERLINK(1)@example.org"


def test_the_statements_do_not_grow_with_the_recipients(client_for, dpo, agent):
    client = client_for(dpo)
    for i in range(3):
        opt_in(agent, CustomerFactory(email=f"a{i}@example.org"))
    download(client)  # warm-up: the session's own statements
    with CaptureQueriesContext(connection) as few:
        assert len(download(client)) == 3
    for i in range(30):
        opt_in(agent, CustomerFactory(email=f"b{i}@example.org"))
    with CaptureQueriesContext(connection) as many:
        assert len(download(client)) == 33
    assert len(many) == len(few) <= 12, [q["sql"][:90] for q in many]


@pytest.mark.parametrize("role, status", [("agent", 403), ("auditor", 403), ("handler", 403), ("itadmin", 403),
                                          ("nobody", 403), ("dpo", 200)])  # fmt: skip
def test_only_the_dpo_exports_the_headers(client_for, cast, role, status):
    assert client_for(cast[role]).get(URL).status_code == status
    assert client_for(cast[role]).get(PAGE).status_code == status


def test_the_export_answers_get_only(client_for, dpo):
    assert client_for(dpo).post(URL).status_code == 405
