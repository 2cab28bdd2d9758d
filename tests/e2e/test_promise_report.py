"""Journey: an auditor opens the promise report for last quarter from the home page, sees a
request answered late among the broken promises, and follows the exception to the case."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from privacy_portal.models import User
from privacy_portal.promises.base import Period
from tests.factories import CaseFactory, CustomerFactory, UserFactory


def test_an_auditor_opens_last_quarters_promise_report_and_follows_an_exception(
    page, sign_in, screenshot, browser_problems
):
    auditor = UserFactory(
        username="audrey", first_name="Audrey", last_name="Auditor", role=User.Role.AUDITOR,
        access_ends_on=timezone.localdate() + datetime.timedelta(days=30),
    )  # fmt: skip
    last_quarter = Period.quarter_of(timezone.localdate(), back=1)
    day = last_quarter.start + datetime.timedelta(days=40)
    case = CaseFactory(customer=CustomerFactory(first_name="Cressida", last_name="Ollerenshaw"))
    case.status, case.closed_on, case.due_on = "completed", day, day - datetime.timedelta(days=4)
    case.save()

    sign_in(page, auditor)
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Promise report: Q\d \d{4}$"))).to_be_visible()
    page.get_by_role("link", name=f"Last quarter ({last_quarter.label})").click()
    expect(page.get_by_role("heading", name=f"Promise report: {last_quarter.label}")).to_be_visible()
    # Showing last quarter, the way back is to this quarter (not a link to the page already shown).
    this_quarter = Period.quarter_of(timezone.localdate())
    expect(page.get_by_role("link", name=f"This quarter ({this_quarter.label})")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Last quarter"))).to_have_count(0)
    row = page.get_by_role("row", name=re.compile("Rights requests answered within the time limit"))
    expect(row).to_contain_text("Broken 1 time")
    expect(page.locator("svg[aria-labelledby^=chart-promises]")).to_be_visible()
    screenshot(page, "promise-report-last-quarter")
    expect(page.get_by_text("Ollerenshaw")).to_have_count(0)

    expect(page.get_by_role("row", name=re.compile(case.reference))).to_contain_text(f"case #{case.pk}")
    page.get_by_role("link", name=case.reference).click()
    expect(page.get_by_role("heading", name=re.compile(case.reference))).to_be_visible()
    screenshot(page, "promise-report-exception-case")
    assert browser_problems.all() == []
