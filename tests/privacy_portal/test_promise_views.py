"""The promise report's pages: who may read it, the PDF and JSON with their hashes in the access
log's chain, "verify a report", the auditor's home and the DPO's dashboard, and the DPO's
review of break-glass openings."""

from __future__ import annotations

import datetime
import hashlib
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from customers.models import PreferenceChange
from privacy_portal.audit import chain_pending, verify_chain
from privacy_portal.models import AccessEvent, BreakGlassReview
from privacy_portal.promises.base import Period
from privacy_portal.promises.report import ERR_REPORT_TOO_BIG, REPORT_MAX_BYTES
from privacy_portal.tasks import summarise_promises
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LAST_QUARTER = Period.quarter_of(TODAY, back=1)
DAY = LAST_QUARTER.start + datetime.timedelta(days=40)
SOON = TODAY + datetime.timedelta(days=30)
QUERY = f"?kind=quarter&quarter={LAST_QUARTER.slug}"


def at(day: datetime.date = DAY) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def broken(handler):
    """Last quarter: a late opt-out, a request answered late, an unreviewed break-glass opening."""
    customer = CustomerFactory(
        first_name="Philippa", last_name="Zebedee-Quint", email="pzq@example.co.uk", phone="+447700900777",
        postcode="M1 1AE", date_of_birth=datetime.date(1951, 3, 4),
    )  # fmt: skip
    change = PreferenceChange.objects.create(
        customer=customer, purpose="direct_marketing", channel="email", granted=False, source="email",
        received_at=at(DAY - datetime.timedelta(days=7)), takes_effect_by=DAY,
    )  # fmt: skip
    case = CaseFactory(customer=customer)
    case.status, case.closed_on, case.due_on = "completed", DAY, DAY - datetime.timedelta(days=3)
    case.save()
    opening = AccessEvent.objects.create(user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=customer.pk,
                                         at=at(), flagged=True)  # fmt: skip
    return {"customer": customer, "change": change, "case": case, "opening": opening}


@pytest.mark.parametrize(
    ("role", "status"),
    [("dpo", 200), ("auditor", 200), ("agent", 403), ("handler", 403), ("itadmin", 403), ("nobody", 403)],
)
def test_only_the_dpo_and_auditors_read_the_promise_report(client_for, cast, role, status):
    assert client_for(cast[role]).get(reverse("promise_report")).status_code == status


def test_the_report_page_rejects_a_post(client_for, auditor):
    assert client_for(auditor).post(reverse("promise_report")).status_code == 405


def test_the_report_names_each_broken_promise_and_links_its_exception(client_for, auditor, broken):
    page = client_for(auditor).get(reverse("promise_report") + QUERY).content.decode()
    assert f"Promise report: {LAST_QUARTER.label}" in page
    assert "Broken 1 time" in page
    assert reverse("customers:detail", args=[broken["customer"].pk]) in page
    assert reverse("requests:case", args=[broken["case"].pk]) in page
    assert broken["case"].reference in page
    # The record's kind in words, not the model's label.
    assert f"case #{broken['case'].pk}" in page and "requests.Case" not in page
    assert "<svg" in page and "Broken promises, month by month" in page
    assert "Zebedee" not in page and "pzq@example.co.uk" not in page


def test_a_bad_period_is_named_and_the_current_quarter_shown(client_for, auditor):
    page = client_for(auditor).get(reverse("promise_report") + "?kind=month&month=2026-13").content.decode()
    assert "YYYY-MM" in page
    assert Period.quarter_of(TODAY).label in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=quarter&quarter=2099-Q1", "has not begun"),
        ("kind=month&month=2099-12", "has not begun"),
        # Within the dates any form accepts (bounds: far past and far future are refused there).
        (
            f"kind=custom&start={SOON:%d/%m/%Y}&end={SOON + datetime.timedelta(days=30):%d/%m/%Y}",
            "has not begun",
        ),
        ("kind=custom&start=01/01/1998&end=31/12/2025", "at most"),
    ],
)
def test_a_future_or_century_long_period_is_refused_not_reported_kept(client_for, auditor, query, message):
    client = client_for(auditor)
    page = client.get(reverse("promise_report") + "?" + query).content.decode()
    assert message in page and Period.quarter_of(TODAY).label in page
    download = client.get(reverse("promise_report_download", args=["json"]) + "?" + query)
    assert download.status_code == 400 and message in download.content.decode()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.PROMISE_REPORT).exists()


def test_a_single_day_and_29_february_are_periods(client_for, auditor):
    data = client_for(auditor).get(reverse("promise_report_download", args=["json"])
                                   + "?kind=custom&start=29/02/2024&end=29/02/2024").json()  # fmt: skip
    assert data["period"]["start"] == data["period"]["end"] == "2024-02-29"


def test_the_auditors_home_opens_on_the_promise_report(client_for, auditor, broken):
    page = client_for(auditor).get(reverse("home")).content.decode()
    assert f"Promise report: {Period.quarter_of(TODAY).label}" in page
    assert "Last quarter" in page


@pytest.fixture
def clock(monkeypatch):
    """A fixed clock: `clock(instant)` makes timezone.now() return it, and so timezone.localdate()
    (which reads now()) its day in UK time: the dashboard's "this quarter" and the break-glass
    review's seven days both run on it, whatever the real date."""

    def set_to(instant: datetime.datetime) -> datetime.datetime:
        monkeypatch.setattr(timezone, "now", lambda: instant)
        return instant

    return set_to


def _broken_promises_section(page: str) -> str:
    start = page.index('id="broken-promises"')
    return page[start : page.index("</section>", start)]


def test_the_dpo_dashboard_shows_the_current_quarters_broken_promises_first(client_for, dpo, handler, clock):
    # 20 May 2026: 49 days into Q2, so an opening 8 days ago is inside it and overdue for review.
    now = clock(timezone.make_aware(datetime.datetime(2026, 5, 20, 12)))
    AccessEvent.objects.create(user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=CustomerFactory().pk,
                               at=now - datetime.timedelta(days=8), flagged=True)  # fmt: skip
    client = client_for(dpo)
    assert "Not summarised yet this quarter" in _broken_promises_section(client.get(reverse("home")).content.decode())
    summarise_promises()
    page = client.get(reverse("home")).content.decode()
    assert "Broken promises this quarter (Q2 2026)" in page
    assert "As of 20 May 2026, 12:00" in page
    assert page.index("broken-promises") < page.index("case-figures-title")
    section = _broken_promises_section(page)
    assert "Every break-glass opening reviewed by the DPO" in section
    assert "broken 1 time" in section


def test_an_opening_of_last_quarter_is_not_among_this_quarters_broken_promises(client_for, dpo, handler, clock):
    # 3 July 2026: the opening 8 days ago (25 June) is overdue, but it was in Q2, not this quarter (Q3).
    now = clock(timezone.make_aware(datetime.datetime(2026, 7, 3, 12)))
    AccessEvent.objects.create(user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=CustomerFactory().pk,
                               at=now - datetime.timedelta(days=8), flagged=True)  # fmt: skip
    summarise_promises()
    section = _broken_promises_section(client_for(dpo).get(reverse("home")).content.decode())
    assert "Broken promises this quarter (Q3 2026)" in section
    assert "Every break-glass opening reviewed by the DPO" not in section


def test_the_dashboard_shows_the_latest_summary_of_this_quarter_only(client_for, dpo, handler, clock):
    # A summary of last quarter (made on 30 June) is not this quarter's: the dashboard says so.
    clock(timezone.make_aware(datetime.datetime(2026, 6, 30, 23)))
    summarise_promises()
    now = clock(timezone.make_aware(datetime.datetime(2026, 7, 20, 12)))
    home = lambda: _broken_promises_section(client_for(dpo).get(reverse("home")).content.decode())  # noqa: E731
    assert "Not summarised yet this quarter" in home()
    summarise_promises()
    assert "broken 1 time" not in home() and "As of 20 Jul 2026, 12:00" in home()
    # A promise broken since: the dashboard shows it once the next hourly run has summarised it.
    AccessEvent.objects.create(user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=CustomerFactory().pk,
                               at=now - datetime.timedelta(days=8), flagged=True)  # fmt: skip
    assert "Every break-glass opening reviewed by the DPO" not in home()
    clock(now + datetime.timedelta(hours=1))
    summarise_promises()
    section = home()
    assert "Every break-glass opening reviewed by the DPO" in section and "As of 20 Jul 2026, 13:00" in section


def test_the_pdf_holds_every_check_and_no_personal_value_of_any_customer(client_for, auditor, broken):
    response = client_for(auditor).get(reverse("promise_report_download", args=["pdf"]) + QUERY)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = " ".join(text.split())
    assert LAST_QUARTER.label in flat and auditor.username in flat
    assert broken["case"].reference in flat
    assert f"opt-out {broken['change'].pk}" in flat
    # The record named in words, as on the page and in the JSON (one naming: PromiseException.kind).
    assert f"case #{broken['case'].pk}" in flat and "requests.Case" not in flat
    from customers.models import Customer

    for customer in Customer.objects.all():
        for value in (customer.first_name, customer.last_name, customer.email, customer.phone, customer.postcode,
                      customer.address_line1, customer.town, customer.date_of_birth.isoformat(),
                      customer.date_of_birth.strftime("%d/%m/%Y")):  # fmt: skip
            if value:
                assert value not in flat, value
    # The PDF handed out is the one recorded: its SHA-256 is in the access log, and "verify" finds it.
    entry = AccessEvent.objects.get(action=AccessEvent.Action.PROMISE_REPORT)
    assert entry.details["sha256"] == hashlib.sha256(response.content).hexdigest() == response["X-Report-SHA256"]
    upload = SimpleUploadedFile("report.pdf", response.content, content_type="application/pdf")
    page = client_for(auditor).post(reverse("promise_report_verify"), {"report": upload}).content.decode()
    assert "It matches a recorded report" in page


def test_the_reports_hash_is_chained_in_the_access_log_and_verifies(client_for, auditor, broken):
    client = client_for(auditor)
    response = client.get(reverse("promise_report_download", args=["json"]) + QUERY)
    data = json.loads(response.content)
    assert data["period"]["start"] == LAST_QUARTER.start.isoformat()
    assert data["generated_by"]["username"] == auditor.username
    assert {c["key"]: c["status"] for c in data["checks"]}["requests_on_time"] == "broken"
    late = next(c for c in data["checks"] if c["key"] == "requests_on_time")["exceptions"][0]
    assert late["record"] == "case" and late["model"] == "requests.Case"
    digest = hashlib.sha256(response.content).hexdigest()
    entry = AccessEvent.objects.get(action=AccessEvent.Action.PROMISE_REPORT)
    assert entry.details["sha256"] == digest and entry.user == auditor
    chain_pending()
    assert verify_chain().ok
    entry.refresh_from_db()
    assert entry.hash is not None

    upload = SimpleUploadedFile("report.json", response.content, content_type="application/json")
    page = client.post(reverse("promise_report_verify"), {"report": upload}).content.decode()
    assert "It matches a recorded report" in page and f"position {entry.chain_seq}" in page
    assert "its hash matches its content" in page

    pasted = client.post(reverse("promise_report_verify"), {"sha256": digest.upper()}).content.decode()
    assert "It matches a recorded report" in pasted

    altered = response.content.replace(b'"broken"', b'"kept"', 1)
    upload = SimpleUploadedFile("report.json", altered, content_type="application/json")
    page = client.post(reverse("promise_report_verify"), {"report": upload}).content.decode()
    assert "No report with this SHA-256 was recorded" in page


def test_verifying_a_report_changes_nothing(client_for, auditor):
    client = client_for(auditor)
    before = AccessEvent.objects.count()
    response = client.post(reverse("promise_report_verify"), {"sha256": "0" * 64})
    assert response.status_code == 200 and AccessEvent.objects.count() == before


def test_verify_names_a_malformed_hash(client_for, auditor):
    response = client_for(auditor).post(reverse("promise_report_verify"), {"sha256": "abc"})
    assert response.status_code == 400 and "64 hexadecimal characters" in response.content.decode()


def test_verify_refuses_a_file_larger_than_any_report(client_for, auditor):
    upload = SimpleUploadedFile("report.json", b"0" * (REPORT_MAX_BYTES + 1), content_type="application/json")
    response = client_for(auditor).post(reverse("promise_report_verify"), {"report": upload})
    assert response.status_code == 400 and escape(ERR_REPORT_TOO_BIG) in response.content.decode()


def test_an_exception_link_opens_for_the_auditor_and_the_report_is_refused_to_a_handler(client_for, auditor, handler,
                                                                                        broken):  # fmt: skip
    assert client_for(auditor).get(reverse("requests:case", args=[broken["case"].pk])).status_code == 200
    assert client_for(handler).get(reverse("requests:case", args=[broken["case"].pk])).status_code == 404
    assert client_for(handler).get(reverse("promise_report_download", args=["pdf"])).status_code == 403


def test_the_dpo_reviews_a_break_glass_opening_once(client_for, dpo, broken):
    client = client_for(dpo)
    url = reverse("break_glass_review", args=[broken["opening"].pk])
    assert client.post(url, {"outcome": "justified"}).status_code == 302
    review = BreakGlassReview.objects.get(event=broken["opening"])
    assert review.reviewed_by == dpo and review.outcome == "justified"
    response = client.post(url, {"outcome": "not_justified"}, follow=True)
    assert "already been reviewed" in response.content.decode()
    assert BreakGlassReview.objects.count() == 1


@pytest.mark.parametrize("role", ["auditor", "handler", "agent"])
def test_only_the_dpo_reviews_break_glass_openings(client_for, cast, role, broken):
    url = reverse("break_glass_review", args=[broken["opening"].pk])
    assert client_for(cast[role]).post(url, {"outcome": "justified"}).status_code == 403
    assert not BreakGlassReview.objects.exists()


def test_a_break_glass_review_is_a_post(client_for, dpo, broken):
    assert client_for(dpo).get(reverse("break_glass_review", args=[broken["opening"].pk])).status_code == 405
