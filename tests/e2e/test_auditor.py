"""Journey: an auditor reads a consent change from last week in the history, opens the customer's
access log, is refused an edit, and cannot sign in once the engagement has ended."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from customers.models import PreferenceChange
from customers.services.preferences import preference_record
from privacy_portal.models import User
from tests.factories import CustomerFactory, UserFactory


def test_an_auditor_checks_a_consent_change_and_the_access_log_then_loses_access(
    page, sign_in, screenshot, browser_problems, client_for
):
    agent = UserFactory(username="amira", first_name="Amira", last_name="Agent", role=User.Role.AGENT)
    auditor = UserFactory(
        username="audrey", first_name="Audrey", last_name="Auditor", role=User.Role.AUDITOR,
        access_ends_on=timezone.localdate() + datetime.timedelta(days=1),
    )  # fmt: skip
    customer = CustomerFactory(first_name="Cressida", last_name="Ollerenshaw")
    last_week = timezone.now() - datetime.timedelta(days=6)
    change, _ = preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="email", granted=False,
        source="phone_call", received_at=last_week, evidence="Call on the customer line",
    )  # fmt: skip
    # The change was recorded last week: date its history row so (test set-up, not the app).
    PreferenceChange.history.filter(id=change.pk).update(history_date=last_week)
    client_for(agent).get(f"/customers/{customer.pk}/")  # the agent looked at the customer

    sign_in(page, auditor)
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
    page.get_by_role("link", name="History", exact=True).click()
    page.get_by_label("Staff member").select_option(label="Amira Agent")
    page.get_by_label("Kind of record").select_option(label="Preference change")
    page.get_by_label("From").fill(f"{(last_week - datetime.timedelta(days=1)):%d/%m/%Y}")
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row", name=re.compile("Opt-out via Phone call"))
    expect(row).to_contain_text("Amira Agent")
    expect(row).to_contain_text(f"{last_week:%-d %b %Y}")
    screenshot(page, "auditor-history-search")
    row.get_by_role("link").click()
    expect(page.get_by_text("Opt-out via Phone call")).to_be_visible()

    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Who has seen this customer's data").click()
    expect(page.get_by_role("heading", name="Who has seen this customer's data")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Amira Agent"))).to_contain_text("Opened a customer record")
    screenshot(page, "auditor-access-log")

    page.goto(f"/customers/{customer.pk}/edit/")
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()

    # The next day, after the engagement ended.
    page.get_by_role("button", name="Sign out").click()
    auditor.access_ends_on = timezone.localdate() - datetime.timedelta(days=1)
    auditor.save()
    sign_in(page, auditor)
    expect(page.get_by_text("This account is switched off or its access has ended")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_have_count(0)
    screenshot(page, "auditor-after-engagement")
    # The refused edit (403) and sign-in (401) are expected; nothing else may go wrong.
    assert [p for p in browser_problems.all() if "Failed to load resource" not in p] == []
