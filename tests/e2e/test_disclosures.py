"""Journey: the DPO records a disclosure to the debt-collection agency for a restricted customer, is
refused, records the override with a reason, and sees it in the history of the customer's disclosures."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Disclosure
from customers.services.disclosures import GUARD_RESTRICTED
from privacy_portal.models import User
from tests.factories import CustomerFactory, RecipientFactory, UserFactory

REASON = "Three instalments unpaid since March; the debt is passed on to recover it (legal claim, Art 18(2))."


def test_dpo_overrides_a_restriction_to_pass_a_debt_to_the_collection_agency(
    page, sign_in, screenshot, browser_problems
):
    dpo = UserFactory(username="dana", first_name="Dana", last_name="Protection", role=User.Role.DPO)
    customer = CustomerFactory(
        first_name="Walter",
        last_name="Ashdown",
        processing_restricted=True,
        restricted_at=timezone.now() - datetime.timedelta(days=3),
    )
    RecipientFactory(name="Kestrel Recovery Ltd", code="kestrel", category="debt_collection")

    sign_in(page, dpo)
    expect(page.get_by_role("heading", name="DPO dashboard")).to_be_visible()

    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Disclosures").click()
    expect(page.get_by_role("heading", name="Disclosures", exact=True)).to_be_visible()
    page.get_by_role("link", name="Record a disclosure").click()

    page.get_by_label("Recipient", exact=True).select_option(label="Kestrel Recovery Ltd")
    for category in ("Identity", "Contact details", "Credit and finance"):
        page.get_by_label(category, exact=True).check()
    page.get_by_label("Purpose").select_option(label="Recovering a debt (a legal claim)")
    page.get_by_label("Lawful basis").select_option(label="Legitimate interests (Art 6(1)(f))")
    page.get_by_label("Recipient's reference").fill("KDR-2026-0417")
    page.get_by_role("button", name="Record disclosure").click()

    # Refused: the restriction stands, and nothing is recorded.
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(GUARD_RESTRICTED)
    expect(page.get_by_text("Refused: nothing was recorded.")).to_be_visible()
    screenshot(page, "disclosure-refused-restricted")
    assert not Disclosure.objects.exists()

    # The DPO overrides, with the reason.
    page.get_by_label(re.compile("Override the restriction")).fill(REASON)
    page.get_by_role("button", name="Record disclosure").click()
    expect(page.get_by_role("status")).to_contain_text("Disclosure recorded.")
    row = page.get_by_role("row", name=re.compile("Kestrel Recovery Ltd"))
    expect(row.first).to_be_visible()
    expect(page.get_by_text("Restriction overridden")).to_be_visible()
    screenshot(page, "disclosures-after-override")

    page.get_by_role("link", name="History of these records").click()
    expect(page.get_by_role("heading", name="History of the disclosure records")).to_be_visible()
    history_row = page.get_by_role("row", name=re.compile("KDR-2026-0417"))
    expect(history_row).to_contain_text("Dana Protection")
    expect(history_row).to_contain_text("Recorded, overriding the processing restriction (Art 18(2))")
    expect(history_row).to_contain_text(REASON)
    screenshot(page, "disclosure-history-override")

    disclosure = Disclosure.objects.get()
    assert (disclosure.overridden_by, disclosure.override_reason, disclosure.recipient_reference) == (
        dpo,
        REASON,
        "KDR-2026-0417",
    )
    # The DPO's home page draws the month's disclosures without breaking the page's policy.
    page.goto("/")
    expect(page.get_by_role("img", name=re.compile("Disclosures per month"))).to_be_visible()
    screenshot(page, "dpo-home-disclosure-chart")
    assert browser_problems.all() == []
