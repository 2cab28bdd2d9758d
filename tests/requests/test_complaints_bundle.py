"""The case bundle: one ZIP for the ICO with a PDF report (read back with pypdf) and the same
content as JSON; the complete change history of the complaint, its requests and the customer."""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from customers.services.customers import customer_update_contact
from requests.services import cases as case_svc
from requests.services import complaints as svc
from requests.services.bundle import bundle_content, bundle_pdf, bundle_zip, deadline_state
from requests.services.correspondence import correspondence_add
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)
PDF = b"%PDF-1.4\n" + b"0" * 100


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def escalated(dpo, handler, agent, django_capture_on_commit_callbacks):
    """A complaint about a late access request and a customer whose email was changed,
    acknowledged, answered, escalated to the ICO, with a letter."""
    customer = CustomerFactory(first_name="Zofia", last_name="Łukasiewicz", email="zofia@example.com")
    late = CaseFactory(customer=customer, received_on=TODAY() - 60 * DAY, description="A copy of my data")
    late = case_svc.case_assign(actor=dpo, case=late, handler=handler)
    case_svc.case_start(actor=handler, case=late)
    case_svc.case_complete(actor=handler, case=late, outcome="Sent the export.")
    on_time = CaseFactory(customer=customer, received_on=TODAY() - 5 * DAY, right="rectification")
    complaint = svc.complaint_log(
        actor=agent,
        customer=customer,
        received_on=TODAY() - 3 * DAY,
        channel="phone",
        category="request_handling",
        description="My access request was answered late.",
        cases=[late, on_time],
    )
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    svc.complaint_acknowledge(actor=handler, complaint=complaint, on=TODAY() - 2 * DAY)
    svc.complaint_respond(actor=handler, complaint=complaint, on=TODAY() - DAY, summary="We apologised.")
    svc.complaint_escalate(
        actor=dpo,
        complaint=complaint,
        ico_reference="IC-445566-K7L8",
        contacted_on=TODAY(),
        contact_method="email",
        caseworker="J. Caseworker",
        requested="Our response and the timeline of the access request.",
        deadlines=[("Our response", TODAY() + 14 * DAY)],
    )
    # The attachment's file is written once its row commits (private_storage.write_after_commit); the
    # test's transaction never commits, so the commit callbacks are run here.
    with django_capture_on_commit_callbacks(execute=True):
        correspondence_add(
            actor=handler, complaint=complaint, occurred_on=TODAY(), direction="outbound", medium="letter",
            summary="Apology letter", upload=SimpleUploadedFile("a.pdf", PDF),
        )  # fmt: skip
    customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=customer.version, reason="Caller asked",
        email="zofia.l@example.com",
    )  # fmt: skip
    complaint.refresh_from_db()
    return complaint


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_deadline_states():
    d = datetime.date(2026, 5, 1)
    assert deadline_state(d, d, d) == "met"
    assert deadline_state(d, d + DAY, d) == "missed"
    assert deadline_state(d, None, d) == "open"
    assert deadline_state(d, None, d + DAY) == "overdue"
    assert deadline_state(None, None, d) == "no deadline"


def test_the_content_holds_summary_timeline_requests_correspondence_and_history(escalated, dpo, handler, agent):
    content = bundle_content(escalated, actor=dpo)
    assert content["summary"]["reference"] == escalated.reference
    assert content["summary"]["acknowledgement"] == "met"
    assert [(t["status"], t["who"]) for t in content["timeline"]] == [
        ("Received", agent.username),
        ("Acknowledged", handler.username),
        ("Responded", handler.username),
        ("Escalated to the ICO", dpo.username),
    ]
    requests = {r["reference"]: r["deadline"] for r in content["linked_requests"]}
    late, on_time = escalated.cases.order_by("received_on")
    assert requests == {late.reference: "missed", on_time.reference: "open"}
    assert content["ico_case"]["ico_reference"] == "IC-445566-K7L8"
    assert content["ico_case"]["deadlines"][0]["state"] == "open"
    assert [c["summary"] for c in content["correspondence"]] == ["Apology letter"]
    # Who changed which field from what to what.
    changes = [
        (entry["who"], entry["record"], change["field"], change["from"], change["to"])
        for entry in content["history"]
        for change in entry["changes"]
    ]
    customer = escalated.customer
    assert (agent.username, f"Customer {customer.reference}", "email", "zofia@example.com", "zofia.l@example.com") in (
        changes
    )
    assert (dpo.username, f"Complaint {escalated.reference}", "handler", "(none)", handler.username) in changes
    assert (handler.username, f"Complaint {escalated.reference}", "status", "received", "acknowledged") in changes
    assert (handler.username, f"Request {late.reference}", "status", "in_progress", "completed") in changes
    linked = [c for c in changes if c[2] == "cases"]
    assert linked and late.reference in linked[0][4] and on_time.reference in linked[0][4]
    assert content["history"] == sorted(content["history"], key=lambda e: e["at"])


def test_the_pdf_names_the_complaint_its_timeline_and_its_history(escalated, dpo, handler):
    text = pdf_text(bundle_pdf(bundle_content(escalated, actor=dpo)))
    flat = " ".join(text.split())
    assert f"Complaint {escalated.reference}: case bundle" in flat
    assert "Timeline (status changes)" in flat and "Escalated to the ICO" in flat
    assert "IC-445566-K7L8" in flat and "Our response" in flat
    assert "Change history" in flat
    assert "zofia@example.com -> zofia.l@example.com" in flat
    assert "Łukasiewicz" in flat  # non-Latin-1 names survive (embedded Vera font)
    late = escalated.cases.order_by("received_on").first()
    assert late.reference in flat and "missed" in flat
    assert "Apology letter" in flat


def test_the_zip_holds_the_pdf_the_same_content_as_json_and_the_attachments(escalated, dpo):
    name, data = bundle_zip(escalated, actor=dpo)
    assert name == f"{escalated.reference}-bundle.zip"
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert f"{escalated.reference}-report.pdf" in names and f"{escalated.reference}.json" in names
    content = json.loads(archive.read(f"{escalated.reference}.json"))
    assert content["summary"]["reference"] == escalated.reference
    attachment = content["correspondence"][0]["attachment"]
    assert attachment in names and archive.read(attachment) == PDF
    assert escalated.reference in pdf_text(archive.read(f"{escalated.reference}-report.pdf"))


def test_a_complaint_without_customer_ico_or_requests_still_bundles(dpo):
    complaint = ComplaintFactory(customer=None, complainant_name="Walter Bishop")
    content = bundle_content(complaint, actor=dpo)
    assert content["ico_case"] is None and content["linked_requests"] == [] and content["summary"]["customer"] is None
    text = pdf_text(bundle_pdf(content))
    assert "Walter Bishop" in text and "Not escalated to the ICO." in text


# --- The history covers the subject graph; a request of someone else cannot be linked ---------


def test_the_bundle_history_covers_every_record_of_the_customer_and_its_linked_requests(dpo, handler, agent):
    from customers.models import PreferenceChange
    from customers.services.preferences import preference_record
    from customers.subject import subject_records
    from requests.models import CaseTask, ClockStop
    from tests.factories import CallFactory, DisclosureFactory

    customer = CustomerFactory(first_name="Ines", last_name="Marlowe")
    preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="post", granted=False, source="letter"
    )
    DisclosureFactory(customer=customer)
    CallFactory(customer=customer)
    case = case_svc.case_assign(actor=dpo, case=CaseFactory(customer=customer), handler=handler)
    case_svc.case_start(actor=handler, case=case)
    case_svc.case_add_note(actor=handler, case=case, text="Checked the mailing list")
    case_svc.case_request_clarification(actor=handler, case=case, question="Which catalogue?")
    CaseTask.objects.create(case=case, title="Ask the mailing house")
    complaint = svc.complaint_log(
        actor=agent, customer=customer, received_on=TODAY(), channel="phone", category="marketing",
        description="A catalogue after I opted out", cases=[case],
    )  # fmt: skip

    content = bundle_content(complaint, actor=dpo)
    records = {entry["record"].split(" #")[0].split(" ")[0] for entry in content["history"]}
    assert {"Preference", "Disclosure", "Call", "Case", "Clock", "Request", "Complaint", "Customer"} <= records
    graph = subject_records(customer, candidates=False)
    expected = sum(graph.history(m).count() for m in graph.models() if graph.history(m) is not None)
    assert len(content["history"]) == expected
    opt_out = PreferenceChange.objects.get(customer=customer)
    assert any(
        c["field"] == "granted" and c["to"] == "False"
        for e in content["history"]
        if e["record"] == f"Preference change #{opt_out.pk}"
        for c in e["changes"]
    )
    assert ClockStop.objects.filter(case=case).exists()


def test_a_request_of_a_different_person_with_no_customer_record_cannot_be_linked(dpo, agent, handler):
    customer = CustomerFactory(first_name="Ines", last_name="Marlowe", email="ines@example.com")
    (someone_else,) = case_svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=TODAY(), requester_name="Oswald Pike",
        requester_email="oswald@example.com",
    )  # fmt: skip
    (hers,) = case_svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=TODAY(), requester_name="I. Marlowe",
        requester_email="INES@example.com",
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        svc.complaint_log(
            actor=dpo, customer=customer, received_on=TODAY(), channel="phone", category="request_handling",
            description="Slow", cases=[someone_else],
        )  # fmt: skip
    assert exc.value.message_dict == {"cases": [svc.ERR_CASE_OTHER_PERSON.format(reference=someone_else.reference)]}
    complaint = svc.complaint_log(
        actor=dpo, customer=customer, received_on=TODAY(), channel="phone", category="request_handling",
        description="Slow", cases=[hers],
    )  # fmt: skip
    svc.complaint_assign(actor=dpo, complaint=complaint, handler=dpo)
    with pytest.raises(ValidationError) as exc:
        svc.complaint_link_case(actor=dpo, complaint=complaint, case=someone_else)
    assert exc.value.message_dict == {"cases": [svc.ERR_CASE_OTHER_PERSON.format(reference=someone_else.reference)]}
    assert "Oswald" not in json.dumps(bundle_content(complaint, actor=dpo))
    # Neither has a customer record: the complainant's details must match the requester's.
    anonymous = svc.complaint_log(
        actor=dpo, received_on=TODAY(), channel="email", category="request_handling", description="Slow",
        complainant_name="Oswald Pike", complainant_email="oswald@example.com", cases=[someone_else],
    )  # fmt: skip
    assert list(anonymous.cases.all()) == [someone_else]
    with pytest.raises(ValidationError):
        svc.complaint_log(
            actor=dpo, received_on=TODAY(), channel="email", category="request_handling", description="Slow",
            complainant_name="Petra Quill", cases=[someone_else],
        )  # fmt: skip


def test_a_request_by_a_namesake_with_no_contact_detail_in_common_cannot_be_linked(dpo, agent):
    jane = CustomerFactory(title="Mrs", first_name="Jane", last_name="Smith", email="jane@example.com", phone="")
    namesakes = [
        case_svc.case_log(
            actor=agent, rights=["access"], channel="post", received_on=TODAY(), requester_name=name,
            requester_address=address,
        )[0]
        for name, address in [("Mrs J Smith", "9 Elm Way, LS1 4AB"), ("Mr Smith", ""), ("Jane Smith", "")]
    ]  # fmt: skip
    for other in namesakes:
        with pytest.raises(ValidationError) as exc:
            svc.complaint_log(
                actor=dpo, customer=jane, received_on=TODAY(), channel="phone", category="request_handling",
                description="Slow", cases=[other],
            )  # fmt: skip
        assert exc.value.message_dict == {"cases": [svc.ERR_CASE_OTHER_PERSON.format(reference=other.reference)]}
    # The same name and her email: hers.
    (hers,) = case_svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=TODAY(), requester_name="Mrs J Smith",
        requester_email="Jane@Example.com",
    )  # fmt: skip
    complaint = svc.complaint_log(
        actor=dpo, customer=jane, received_on=TODAY(), channel="phone", category="request_handling",
        description="Slow", cases=[hers],
    )  # fmt: skip
    assert list(complaint.cases.all()) == [hers]
