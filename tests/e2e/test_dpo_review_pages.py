"""Journey: the DPO reaches the dialler tokens and the legal holds from the top bar, issues a
token (its secret shown once), reads a legal hold that ended when its request closed, and
confirms an MPS match at a former address from the customer's page."""

from __future__ import annotations

from django.utils import timezone
from playwright.sync_api import expect

from customers.models import MpsFile, MpsMatch
from privacy_portal.models import User
from requests.models import Case
from tests.factories import CaseFactory, CustomerFactory, UserFactory


def test_the_dpo_issues_a_token_reads_ended_holds_and_reviews_an_mps_match(page, sign_in, screenshot, browser_problems):
    dpo = UserFactory(username="dana", first_name="Dana", last_name="Protection", role=User.Role.DPO)
    closed = CaseFactory(customer=CustomerFactory())
    closed.status, closed.closed_on = Case.Status.COMPLETED, timezone.localdate()
    closed.save()
    customer = CustomerFactory(first_name="Edith", last_name="Marlow")
    mps_file = MpsFile.objects.create(name="mps.txt", sha256="e" * 64, format="fixed", lines=1, removals=0,
                                      deceased=1, matched=1, loaded_by=dpo)  # fmt: skip
    MpsMatch.objects.create(customer=customer, mps_file=mps_file, line=1, flag="X", requested_on=timezone.localdate(),
                            on_former_address=True, review=MpsMatch.Review.APPLIED)  # fmt: skip

    sign_in(page, dpo)
    expect(page.get_by_role("heading", name="DPO dashboard")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Dialler tokens").click()
    expect(page.get_by_role("heading", name="Dialler tokens", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("outbound-dialler-1")
    page.get_by_role("button", name="Issue the token").click()
    expect(page.get_by_role("heading", name="Token issued for outbound-dialler-1")).to_be_visible()
    screenshot(page, "dialler-token-issued")

    nav.get_by_role("link", name="Legal holds").click()
    expect(page.get_by_role("heading", name="Legal holds", exact=True)).to_be_visible()
    page.get_by_label("Show").select_option(label="Ended (released or past their end date)")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Automatic, ended when the matter closed")).to_be_visible()
    expect(page.get_by_role("link", name=closed.reference)).to_be_visible()
    screenshot(page, "legal-holds-ended")

    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Review it").click()
    expect(page.get_by_role("heading", name="MPS matches to review")).to_be_visible()
    screenshot(page, "mps-reviews-to-review")
    page.get_by_role("row", name=customer.reference).get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text(f"MPS match for {customer.reference} recorded as confirmed")
    screenshot(page, "mps-reviews-confirmed")
    match = MpsMatch.objects.get()
    assert match.decision == MpsMatch.Decision.CONFIRMED and match.decided_by == dpo
