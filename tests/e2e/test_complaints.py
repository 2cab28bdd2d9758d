"""Journey: an agent logs a complaint from a caller; the DPO acknowledges it, escalates it to the
ICO with a reference and a deadline, and downloads the case bundle, whose PDF names the
complaint, its timeline and its history."""

from __future__ import annotations

import datetime
import io
import re
import zipfile

from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from customers.services.customers import customer_create
from privacy_portal.models import AccessEvent, User
from requests.models import Complaint
from tests.factories import UserFactory


def test_agent_logs_a_complaint_and_the_dpo_escalates_it_and_downloads_the_bundle(
    page, sign_in, screenshot, browser_problems, tmp_path
):
    agent = UserFactory(username="amira", role=User.Role.AGENT)
    dpo = UserFactory(username="dinah", role=User.Role.DPO)
    customer = customer_create(
        actor=agent, title="Mrs", first_name="Hermione", last_name="Fairweather", email="h.fairweather@example.co.uk",
        phone="07912 555777", address_line1="3 Orchard Row", town="Ludlow", postcode="SY8 1AB",
    )  # fmt: skip
    today = timezone.localdate()

    # The agent takes the call and logs the complaint from the customer's page.
    sign_in(page, agent)
    page.goto(customer.get_absolute_url())
    page.get_by_role("link", name="Log a complaint").click()
    expect(page.get_by_role("heading", name="Log a complaint")).to_be_visible()
    page.get_by_label("How the complaint arrived").select_option(label="Phone")
    page.get_by_label("What it is about").select_option(label="Marketing after opting out")
    page.get_by_label("The complaint, in the caller's words").fill("Still phoned with offers after opting out.")
    screenshot(page, "complaint-agent-logs")
    page.get_by_role("button", name="Log complaint").click()
    expect(page.get_by_role("heading", name="Complaints I logged")).to_be_visible()

    complaint = Complaint.objects.get()
    acknowledge_by = today + datetime.timedelta(days=29)
    expect(page.get_by_role("status")).to_contain_text(f"must be acknowledged by {acknowledge_by:%-d %B %Y}")
    expect(page.get_by_role("row", name=re.compile(complaint.reference))).to_contain_text("Received")
    screenshot(page, "complaint-agent-logged")

    # The DPO takes over.
    page.context.clear_cookies()
    sign_in(page, dpo)
    page.get_by_role("navigation").get_by_role("link", name="Complaints", exact=True).click()
    page.get_by_role("link", name=complaint.reference).click()
    expect(page.get_by_role("heading", name=re.compile(complaint.reference))).to_contain_text("Received")
    page.get_by_label("Date acknowledged").fill(f"{today:%d/%m/%Y}")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Acknowledgement recorded.")
    expect(page.get_by_role("heading", name=re.compile(complaint.reference))).to_contain_text("Acknowledged")

    deadline = today + datetime.timedelta(days=14)
    page.get_by_text("The ICO has taken this complaint up").click()
    page.get_by_label("ICO case reference").fill("IC-482913-Q5R7")
    page.get_by_label("The ICO contacted us on").fill(f"{today:%d/%m/%Y}")
    page.get_by_label("How", exact=True).select_option(label="Email")
    page.get_by_label("ICO caseworker").fill("Sam Okafor")
    page.get_by_label("What the ICO asked for").fill("Our final response and the opt-out record.")
    page.get_by_label("First deadline: what is due").fill("Final response and opt-out evidence")
    page.get_by_label("First deadline: due by").fill(f"{deadline:%d/%m/%Y}")
    page.get_by_role("button", name="Record escalation").click()
    expect(page.get_by_role("status")).to_contain_text("Escalation to the ICO recorded (IC-482913-Q5R7).")
    panel = page.get_by_role("region", name="The ICO", exact=True)
    expect(panel).to_contain_text("IC-482913-Q5R7")
    expect(panel.get_by_role("row", name=re.compile("Final response and opt-out evidence"))).to_contain_text(
        f"{deadline:%-d %b %Y}"
    )
    expect(page.get_by_role("region", name="Timeline")).to_contain_text("Escalated to the ICO (IC-482913-Q5R7)")
    screenshot(page, "complaint-dpo-escalated")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the case bundle").click()
    download = download_info.value
    assert download.suggested_filename == f"{complaint.reference}-bundle.zip"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    archive = zipfile.ZipFile(saved)
    report = archive.read(f"{complaint.reference}-report.pdf")
    text = " ".join(" ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(report)).pages).split())
    assert f"Complaint {complaint.reference}: case bundle" in text
    assert "Timeline (status changes)" in text
    for status in ("Received", "Acknowledged", "Escalated to the ICO"):
        assert status in text
    assert "amira" in text and "dinah" in text
    assert "Change history" in text and "status: received -> acknowledged" in text
    assert "IC-482913-Q5R7" in text and "Fairweather" in text
    assert AccessEvent.objects.filter(user=dpo, action="export", object_id=complaint.pk).count() == 1
    assert browser_problems.all() == []
