"""Journeys through the public's own door, in Chromium against the live server, with every email
going through a real local SMTP server (aiosmtpd) and read back from it.

1. A member of the public files a complaint on the web form; the acknowledgement arrives within
   the same minute.
2. A member of the public asks for their data, enters the emailed code, uploads identity evidence
   through the link; the handler verifies it, links the matching customer, asks a question; the
   answer given through the link moves the due date as the clock function says; the handler
   builds the export; the requester downloads it through the link, and once its 30 days are over
   a download is refused.
"""

from __future__ import annotations

import datetime
import re
import time
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from privacy_portal import legal
from privacy_portal.models import AccessEvent, User
from requests.models import Case, CaseDocument, Complaint
from requests.services.cases import recompute_due
from tests.factories import CustomerFactory, UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def _link(body: str) -> str:
    return re.search(r"https?://\S+/p/case/\S+/", body).group(0)


def test_a_complaint_on_the_web_form_is_acknowledged_by_email_within_the_minute(
    page,
    live_server,
    settings,
    smtp_server,
    screenshot,
    browser_problems,
):
    settings.PORTAL_BASE_URL = live_server.url
    page.goto("/p/")
    page.get_by_role("link", name=re.compile("Make a complaint")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Make a complaint")
    page.get_by_label("Your full name").fill("Morag Public")
    page.get_by_label("Your email address").fill("morag@example.org")
    page.get_by_label("What is your complaint about?").select_option(label="Marketing after opting out")
    page.get_by_label("What happened?").fill("I opted out in March and still get catalogues every month.")
    page.get_by_label("What would you like us to do?").fill("Stop the catalogues.")
    screenshot(page, "public-complaint-form")
    started = time.time()
    page.get_by_role("button", name="Send my complaint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("We have received your complaint")
    complaint = Complaint.objects.get()
    expect(page.get_by_text(complaint.reference)).to_be_visible()
    (message,) = smtp_server.wait_for("morag@example.org", timeout=60)
    assert time.time() - started < 60
    assert complaint.reference in message["Subject"]
    complaint.refresh_from_db()
    assert complaint.channel == "web_form" and complaint.acknowledged_on == timezone.localdate()
    screenshot(page, "public-complaint-received")
    assert browser_problems.all() == []


def test_an_access_request_from_the_form_to_the_download_through_the_link(
    page,
    live_server,
    settings,
    smtp_server,
    sign_in,
    screenshot,
    browser_problems,
    tmp_path,
):
    settings.PORTAL_BASE_URL = live_server.url
    handler = UserFactory(username="hamid", first_name="Hamid", last_name="Handler", role=User.Role.HANDLER)
    dpo = UserFactory(username="dinah", first_name="Dinah", last_name="Dpo", role=User.Role.DPO)
    customer = CustomerFactory(first_name="Nora", last_name="Online", email="nora@example.org")

    # The request, and the code from the email.
    page.goto("/p/request/")
    page.get_by_label("Access (Art 15)").check()
    page.get_by_label("Your email address").fill("nora@example.org")
    page.get_by_label("Full name").fill("Nora Online")
    screenshot(page, "public-request-form")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    code = re.search(r"\b(\d{6})\b", smtp_server.body(smtp_server.wait_for("nora@example.org")[0])).group(1)
    page.get_by_label("The code from the email").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("We have received your request")
    case = Case.objects.get()
    assert case.email_verified_at is not None and case.customer is None
    link = _link(smtp_server.body(smtp_server.wait_for("nora@example.org", 2)[-1]))

    # The DPO assigns it; the handler asks for identity evidence.
    sign_in(page, dpo)
    page.goto(f"/cases/{case.pk}/")
    expect(page.get_by_text("Email verified", exact=True)).to_be_visible()
    page.get_by_label("Handler").select_option(label=str(handler))
    page.get_by_role("button", name="Assign").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, handler)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_text("Ask for identity evidence").click()
    page.get_by_role("button", name="Identity requested").click()
    expect(page.get_by_role("status")).to_contain_text("Identity requested")
    page.get_by_role("button", name="Sign out").click()
    assert _link(smtp_server.body(smtp_server.wait_for("nora@example.org", 3)[-1])).startswith(live_server.url)

    # The requester uploads identity evidence through the link.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    evidence = tmp_path / "passport.png"
    evidence.write_bytes(PNG)
    page.get_by_label("Identity evidence").set_input_files(str(evidence))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("identity evidence has been uploaded")
    screenshot(page, "public-secure-page-uploaded")

    # The handler verifies it, links the matching customer and asks a question.
    sign_in(page, handler)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_text("Decide on identity").click()
    page.get_by_label("Identity confirmed").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("evidence has been deleted")
    expect(page.get_by_text(f"{customer.reference}")).to_be_visible()
    page.get_by_role("button", name="This is the requester: link").click()
    expect(page.get_by_role("status")).to_contain_text(f"Linked to customer {customer.reference}")
    page.get_by_text("Ask what the access request relates to").click()
    page.get_by_label("What we asked the requester").fill("Which years of orders do you mean?")
    page.get_by_role("button", name="Stop the clock").click()
    expect(page.get_by_role("status")).to_contain_text("clock has stopped")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    case.refresh_from_db()
    before = case.due_on
    asked = case.stops.get().started_on

    # The requester answers through the link: the clock resumes as the clock function says.
    page.goto(link)
    expect(page.get_by_text("Which years of orders do you mean?").first).to_be_visible()
    page.get_by_label("Your message").fill("2019 to 2023, please.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Your message has been sent")
    case.refresh_from_db()
    expected = Case(clock_started_on=case.clock_started_on, extended=False)
    expected.stopped_days = legal.clock_paused_days(asked, timezone.localdate())
    recompute_due(expected)
    assert case.status == Case.Status.IN_PROGRESS and case.stopped_days == expected.stopped_days
    # (Asked and answered today: one day not counted, then the next working day; it may land on
    # the same day as before across a weekend or bank holiday, as the law's arithmetic says.)
    assert case.due_on == expected.due_on >= before
    expect(page.get_by_text(f"{case.due_on:%-d %B %Y}", exact=True)).to_be_visible()

    # The handler builds the export.
    sign_in(page, handler)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_text("Build the export").first.click()
    page.get_by_role("button", name="Build the export").click()
    # Wait for the POST's own answer before reloading: a reload while the form's navigation
    # is still in flight detaches the page ("Not attached to an active page").
    expect(page.get_by_role("status")).to_contain_text("The export is queued")
    page.reload()
    expect(page.get_by_role("link", name=re.compile("download", re.I)).first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # The requester downloads it through the link; each download is recorded.
    page.goto(link)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data").click()
    archive = zipfile.ZipFile(Path(info.value.path()))
    assert "personal_data.json" in archive.namelist()
    event = AccessEvent.objects.get(action=AccessEvent.Action.REQUESTER_DOWNLOAD)
    assert event.user is None and event.details["actor"] == "verified_requester"
    screenshot(page, "public-secure-page-export")

    # Once its 30 days are over, a download is refused.
    doc = CaseDocument.objects.get(case=case, kind=CaseDocument.Kind.EXPORT)
    doc.uploaded_at = timezone.now() - datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS + 1)
    doc.save()
    page.goto(link)
    expect(page.get_by_text("no longer available")).to_be_visible()
    expect(page.get_by_role("button", name="Download my data")).to_have_count(0)
    response = page.request.post(link + "export/")
    assert response.status == 403 or response.status == 410  # no CSRF token from outside the page: 403
    assert AccessEvent.objects.filter(action=AccessEvent.Action.REQUESTER_DOWNLOAD).count() == 1
    assert browser_problems.all() == []
