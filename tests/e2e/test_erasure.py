"""Journey: a handler sent an erasure for sign-off; the DPO reads what it will do, approves it, and
finds the customer's record anonymised with its history scrubbed (who changed what, when, kept)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from customers.services.customers import customer_create, customer_update_contact
from privacy_portal.models import User
from privacy_portal.private_storage import private_path
from requests.models import CaseDocument
from requests.services import cases as svc
from tests.factories import DisclosureFactory, RecipientFactory, UserFactory

FORMER = ["Peregrine", "Quillfeather", "Thistlewood", "ZE2 9QP", "07912 555123", "peregrine.q@example.co.uk"]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def test_dpo_approves_an_erasure_and_the_customer_page_shows_the_anonymised_record(
    page, sign_in, screenshot, browser_problems
):
    agent = UserFactory(username="amira", first_name="Amira", last_name="Agent", role=User.Role.AGENT)
    handler = UserFactory(username="hamid", role=User.Role.HANDLER)
    dpo = UserFactory(username="dinah", first_name="Dinah", last_name="Dpo", role=User.Role.DPO)
    customer = customer_create(
        actor=agent, title="Mr", first_name="Peregrine", last_name="Thistlewood", email="peregrine.q@example.co.uk",
        phone="07912 555123", address_line1="14 Larkspur Crescent", town="Lerwick", postcode="ZE2 9QP",
    )  # fmt: skip
    customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason="Married", last_name="Quillfeather"
    )
    DisclosureFactory(customer=customer, recipient=RecipientFactory(name="Swift Couriers Ltd"))
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=timezone.localdate(), customer=customer
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Identity confirmed; no exemption")

    sign_in(page, dpo)
    page.goto(reverse("requests:case", args=[case.pk]))
    expect(page.get_by_role("heading", name=re.compile(case.reference))).to_be_visible()
    preview = page.get_by_role("region", name="What erasure will do")
    expect(preview).to_contain_text("Recorded calls and their transcripts")
    expect(preview).to_contain_text("Purchases, detached from the person")
    expect(preview).to_contain_text("Recipients to tell of the erasure (Art 19): Swift Couriers Ltd")
    screenshot(page, "erasure-preview-before-sign-off")

    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_role("status")).to_contain_text("Signed off.")
    expect(page.get_by_role("heading", name=re.compile(case.reference))).to_contain_text("Completed")
    expect(page.get_by_text("What erasure will do")).to_have_count(0)
    expect(
        page.get_by_role("cell", name="Tell Swift Couriers Ltd about the erasure (Art 19)", exact=True)
    ).to_be_visible()
    expect(
        page.get_by_role("button", name="Mark as done: Tell Swift Couriers Ltd about the erasure (Art 19)")
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"Certificate of erasure \("))).to_be_visible()
    screenshot(page, "erasure-case-completed")

    page.get_by_role("link", name=customer.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erased")
    expect(page.get_by_text("This customer was erased on")).to_be_visible()
    body = page.locator("main").inner_text()
    assert not [value for value in FORMER if value.lower() in body.lower()]
    screenshot(page, "erasure-customer-anonymised")

    # The history page: every change is still there, with who made it and when; no former value.
    page.get_by_role("link", name="Change history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change history")
    entries = page.locator("ol.history > li")
    expect(entries).to_have_count(3)
    # Newest first (the page is keyset-paged from the latest change).
    expect(entries.nth(2)).to_contain_text("Amira Agent")
    expect(entries.nth(0)).to_contain_text("Dinah Dpo")
    expect(entries.nth(0)).to_contain_text("Erased (Art 17)")
    body = page.locator("main").inner_text()
    assert not [value for value in FORMER if value.lower() in body.lower()]
    screenshot(page, "erasure-customer-history-scrubbed")

    # The same in the database: every history row scrubbed, each with its author and date.
    rows = list(Customer.history.filter(id=customer.pk).order_by("history_id"))
    assert [(r.history_user_id, r.first_name, r.last_name, r.email, r.postcode) for r in rows] == [
        (agent.pk, "Erased", "", "", ""),
        (agent.pk, "Erased", "", "", ""),
        (dpo.pk, "Erased", "", "", ""),
    ]
    certificate = CaseDocument.objects.get(case=case, kind=CaseDocument.Kind.CERTIFICATE)
    assert private_path(certificate.path).exists()
    assert browser_problems.all() == []
