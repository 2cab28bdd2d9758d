"""Journey: an agent takes a call, finds the customer by mobile number, records "no more post"."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from customers.models import PreferenceChange
from privacy_portal import legal
from privacy_portal.models import User
from tests.factories import CustomerFactory, UserFactory


def test_agent_finds_a_customer_by_mobile_with_spaces_and_records_no_more_post(
    page, sign_in, screenshot, browser_problems
):
    agent = UserFactory(username="amira", role=User.Role.AGENT)
    customer = CustomerFactory(first_name="Margaret", last_name="Thornbury", phone="+447911123456", postcode="SE5 9DF")
    CustomerFactory(first_name="Other", last_name="Person", phone="+447911123457")

    sign_in(page, agent)
    expect(page.get_by_role("heading", name="Customer desk")).to_be_visible()

    # The caller reads out their mobile number the way people do, with spaces.
    page.get_by_label("Find a customer").fill("07911 123 456")
    page.get_by_role("button", name="Search").click()
    result = page.get_by_role("link", name=re.compile("Margaret Thornbury"))
    expect(result).to_be_visible()
    expect(page.get_by_text("Other Person")).to_have_count(0)
    screenshot(page, "desk-search-by-mobile")
    result.click()

    expect(page.get_by_role("heading", name=re.compile("Margaret Thornbury"))).to_be_visible()
    page.get_by_role("link", name="Record a preference change").click()
    page.get_by_label("Preference").select_option(label="Direct marketing by post")
    page.get_by_label("Opt out (stop)").check()
    page.get_by_label("How the customer told us").select_option(label="Phone call")
    page.get_by_label("Evidence or note").fill("Customer asked on the phone: no more catalogues")
    page.get_by_role("button", name="Record change").click()

    due = timezone.localdate() + datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST)
    due_text = f"{due:%-d %B %Y}"
    expect(page.get_by_role("status")).to_contain_text(f"takes effect by {due_text}")
    row = page.get_by_role("row", name=re.compile("Direct marketing by post"))
    expect(row).to_contain_text("Opted out")
    expect(row).to_contain_text(f"takes effect by {due:%-d %b %Y}")
    screenshot(page, "desk-no-more-post")

    change = PreferenceChange.objects.get(customer=customer)
    assert (change.channel, change.granted, change.source, change.recorded_by_id) == (
        "post",
        False,
        "phone_call",
        agent.pk,
    )
    assert browser_problems.all() == []
