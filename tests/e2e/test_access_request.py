"""Journey: an agent logs a phoned-in access request; the DPO assigns it; the handler records
identity, runs the export, downloads the ZIP and completes the case on time."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from privacy_portal.models import User
from requests.models import Case
from tests.factories import CustomerFactory, UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def test_a_phoned_in_access_request_from_intake_to_completion(page, sign_in, screenshot, browser_problems, tmp_path):
    agent = UserFactory(username="amira", first_name="Amira", last_name="Agent", role=User.Role.AGENT)
    handler = UserFactory(username="hamid", first_name="Hamid", last_name="Handler", role=User.Role.HANDLER)
    dpo = UserFactory(username="dinah", first_name="Dinah", last_name="Dpo", role=User.Role.DPO)
    customer = CustomerFactory(first_name="Rosalind", last_name="Fairweather", phone="+447911123456")

    # The agent takes the call, finds the customer and logs the request.
    sign_in(page, agent)
    page.get_by_label("Find a customer").fill("Fairweather")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("Rosalind Fairweather")).click()
    page.get_by_role("link", name="Log a rights request").click()
    page.get_by_label("Access (Art 15)").check()
    page.get_by_label("How the request arrived").select_option(label="Phone")
    page.get_by_role("button", name="Log request").click()
    expect(page.get_by_role("heading", name="Requests I logged")).to_be_visible()  # the POST has answered
    case = Case.objects.get(customer=customer)
    expect(page.get_by_role("row", name=re.compile(case.reference))).to_contain_text("Received")
    screenshot(page, "access-agent-logged")
    page.get_by_role("button", name="Sign out").click()

    # The DPO assigns it.
    sign_in(page, dpo)
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_role("link", name=case.reference).click()
    # "Assign a handler" is open already on an unassigned case.
    page.get_by_label("Handler").select_option(label=str(handler))
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to")
    page.get_by_role("button", name="Sign out").click()

    # The handler asks for identity, records it, verifies it, builds and downloads the export.
    sign_in(page, handler)
    page.get_by_role("link", name="Open my queue").click()
    row = page.get_by_role("row", name=re.compile(case.reference))
    expect(row).to_contain_text("days left")
    row.get_by_role("link", name=case.reference).click()
    page.get_by_text("Ask for identity evidence").click()
    page.get_by_role("button", name="Identity requested").click()
    expect(page.get_by_role("status")).to_contain_text("Identity requested")
    evidence = tmp_path / "passport.png"
    evidence.write_bytes(PNG)
    page.get_by_label("Identity evidence").set_input_files(str(evidence))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("stored privately")
    page.get_by_text("Decide on identity").click()
    page.get_by_label("Identity confirmed").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("evidence has been deleted")
    page.get_by_text("Build the export").first.click()
    page.get_by_role("button", name="Build the export").click()
    # Wait for the POST's own answer before reloading: a reload while the form's navigation
    # is still in flight detaches the page ("Not attached to an active page").
    expect(page.get_by_role("status")).to_contain_text("The export is queued")
    page.reload()
    download_link = page.get_by_role("link", name=re.compile("download", re.I)).first
    with page.expect_download() as info:
        download_link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert {"personal_data.json", "index.html", "supplementary_information.html"} <= set(archive.namelist())
    data = json.loads(archive.read("personal_data.json"))
    assert data["data_sets"]["customer"]["records"][0]["last_name"] == "Fairweather"
    screenshot(page, "access-handler-export-built")

    page.get_by_text("Complete the case").click()
    page.get_by_label("What was done").fill("Export sent by secure email; requester confirmed receipt.")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name=re.compile(case.reference))).to_contain_text("Completed")
    case.refresh_from_db()
    assert case.status == Case.Status.COMPLETED and case.closed_on <= case.due_on
    assert case.closed_on == timezone.localdate()
    screenshot(page, "access-completed")
    assert browser_problems.all() == []
