"""Journey: the agent sees "do not call: TPS-listed since …" on a customer; the DPO screens a
campaign's call list and downloads the result."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import CampaignScreening, TpsRegister
from customers.services.tps import TABLES, tps_load
from privacy_portal.models import User
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture(autouse=True)
def _registers_emptied_after():
    """The journey's live server commits its loads, and the flush after a transactional test
    empties the models' tables only: the registers (raw tables, swapped by each load) are emptied
    here, or a later test in the same database finds the journey's numbers listed."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES.values())}")


def _load(dpo, register, records: bytes, on: datetime.date) -> None:
    tps_load(actor=dpo, register=register, kind="full", file=io.BytesIO(records), name=f"{register}.txt", file_date=on)


def test_agent_sees_do_not_call_and_the_dpo_screens_a_call_list(page, sign_in, screenshot, browser_problems, tmp_path):
    dpo = UserFactory(username="dominic", role=User.Role.DPO)
    agent = UserFactory(username="amira", role=User.Role.AGENT)
    on = timezone.localdate() - datetime.timedelta(days=3)
    _load(dpo, TpsRegister.TPS, b"01635 506160\r\n07911123456 \r\n", on)
    _load(dpo, TpsRegister.CTPS, b"0113 4960000\r\n", on)
    listed = CustomerFactory(first_name="Margaret", last_name="Thornbury", phone="+447911123456")

    sign_in(page, agent)
    page.goto(f"/customers/{listed.pk}/")
    row = page.get_by_role("row", name=re.compile("07911 123456"))
    expect(row).to_contain_text(re.compile(f"Do not call: TPS-listed since before {on:%-d %B %Y}", re.I))
    screenshot(page, "tps-desk-do-not-call")
    page.get_by_role("button", name=re.compile("Sign out")).click()

    sign_in(page, dpo)
    page.get_by_role("link", name="TPS screening").first.click()
    expect(page.get_by_role("heading", name=re.compile("Screen a campaign"))).to_be_visible()
    call_list = tmp_path / "autumn-campaign.csv"
    call_list.write_text(f"customer_reference,phone\r\n{listed.reference},\r\n,07911 123457\r\n,+33 1 23 45 67 89\r\n")
    page.get_by_label("Call list (CSV)").set_input_files(str(call_list))
    page.get_by_role("button", name="Screen the list").click()
    expect(page.get_by_role("status")).to_contain_text("Screened 3 rows: 1 allowed, 2 blocked.")
    screenshot(page, "tps-screening-result")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the result (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
    assert [r["allowed"] for r in rows] == ["blocked", "allowed", "blocked"]
    assert rows[0]["reasons"].startswith("TPS-listed since before")
    assert "Not a UK number" in rows[2]["reasons"]
    record = CampaignScreening.objects.get()
    assert record.tps_file.file_date == on and (record.allowed, record.blocked) == (1, 2)
    page.goto("/customers/screening/")
    expect(page.get_by_role("cell", name="autumn-campaign.csv")).to_be_visible()
    assert browser_problems.all() == []
