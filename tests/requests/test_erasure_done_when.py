"""Issue 10's "Done when": a customer given a full life through the services (as the pages would),
erased with the DPO's sign-off; then every text and JSON column of every table and every file
under private storage is searched for every value the person ever had. Nothing is found except
what the certificate lists as kept with its legal reason, and the access log still verifies."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Customer, Disclosure, Recipient
from customers.services.calls import call_attach_transcript, call_register, correspondence_record
from customers.services.customers import customer_create, customer_update_contact
from customers.services.disclosures import disclosure_record
from customers.services.preferences import preference_record
from customers.services.sms import InboundMessage, sms_inbound_record
from customers.services.unsubscribe import unsubscribe_confirm, unsubscribe_token
from customers.subject import subject_records
from privacy_portal.audit import verify_chain
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import private_path
from requests.models import Case, CaseDocument
from requests.services import cases as svc
from requests.services import complaints
from requests.services.correspondence import correspondence_add
from requests.services.documents import document_store
from requests.services.erasure import FILE_PLAN
from requests.services.export import export_build
from requests.services.rectification import case_rectify
from tests.factories import PurchaseFactory
from tests.fixtures.erasure import find_everywhere

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TITLE, FIRST, LAST, FORMER_LAST = "Mrs", "Hepzibah", "Quennell", "Bramwell"
EMAIL, FORMER_EMAIL = "hepzibah.quennell@example.co.uk", "h.bramwell@oldmail.example.com"
PHONE, FORMER_PHONE = "+447912555601", "+447912555602"
POSTCODE, FORMER_POSTCODE = "TR19 7AA", "PL23 1QQ"
ADDRESS, FORMER_ADDRESS = "Gull Cottage", "Periwinkle House"
TOWN, COUNTY, FORMER_TOWN = "Lower Quibbleton", "Cornwall", "Fowey"
DOB = datetime.date(1961, 7, 14)
# Every value she ever had, in the ways people write them.
VALUES = [
    FIRST,
    LAST,
    FORMER_LAST,
    EMAIL,
    FORMER_EMAIL,
    PHONE,
    "07912 555601",
    "07912555601",
    FORMER_PHONE,
    "07912 555602",
    POSTCODE,
    POSTCODE.replace(" ", ""),
    FORMER_POSTCODE,
    ADDRESS,
    FORMER_ADDRESS,
    TOWN,
    FORMER_TOWN,
    COUNTY,
    "1961-07-14",
    "14/07/1961",
    "14 July 1961",
]
PDF = b"%PDF-1.4\n" + f"Letter signed {FIRST} {LAST}, {ADDRESS}, {POSTCODE}".encode() + b"\n" + b"0" * 64


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def transcriber_code() -> str:
    return Recipient.objects.get(category=Recipient.Category.CALL_TRANSCRIPTION).code


def files_holding(root, values) -> dict[str, list[str]]:
    """Files under `root` holding any of `values` (inside ZIP packages too, which are compressed)."""
    hits = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    data += b"".join(archive.read(name) for name in archive.namelist())
            text = data.decode("utf-8", "ignore").lower()
            found = [v for v in values if v.lower() in text]
            if found:
                hits[str(path.relative_to(root))] = found
    return hits


def a_full_life(client_for, agent, handler, other_handler, dpo, capture) -> tuple[Customer, Case]:
    today = timezone.localdate()
    customer = customer_create(
        actor=agent, title=TITLE, first_name=FIRST, last_name=FORMER_LAST, email=FORMER_EMAIL, phone=FORMER_PHONE,
        address_line1=FORMER_ADDRESS, town=FORMER_TOWN, county=COUNTY, postcode=FORMER_POSTCODE, date_of_birth=DOB,
    )  # fmt: skip
    customer = customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason=f"Married: now {LAST}", last_name=LAST,
        email=EMAIL,
    )  # fmt: skip
    customer = customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=2, reason=f"Moved to {TOWN}, new mobile",
        phone="07912 555601", address_line1=ADDRESS, town=TOWN, postcode=POSTCODE,
    )  # fmt: skip
    for channel in ("email", "sms", "post"):
        preference_record(
            actor=agent, customer=customer, purpose="direct_marketing", channel=channel, granted=True,
            source="phone_call", evidence=f"{FIRST} said yes, DOB {DOB:%d/%m/%Y}",
        )  # fmt: skip
    preference_record(
        actor=agent, customer=customer, purpose="direct_marketing", channel="post", granted=False, source="letter",
        evidence=f"Letter from {TITLE} {LAST}, {TOWN}",
    )  # fmt: skip
    sms_inbound_record(message=InboundMessage(message_id="gw-1", sender=PHONE, text="STOP"))
    unsubscribe_confirm(token=unsubscribe_token(customer, "email"))
    transcriber = Recipient.objects.get(category=Recipient.Category.CALL_TRANSCRIPTION)
    started = timezone.now() - datetime.timedelta(days=3)
    call = call_register(
        customer=customer, direction="inbound", customer_number=PHONE, our_number="+442079460000", started_at=started,
        duration_seconds=200, purpose="customer_service", recording_ref="rec://1.wav",
    )  # fmt: skip
    call_attach_transcript(
        call=call, transcript=f"Caller: {FIRST} {LAST}, born 14th July 1961, {TOWN}.", provider=transcriber.name
    )
    call_register(
        customer=None, direction="inbound", customer_number="07912 555602", our_number="+442079460000",
        started_at=started, duration_seconds=60, purpose="sales", recording_ref="rec://2.wav",
        transcript=f"Caller: it's {FIRST}, from my old number.", transcript_provider=transcriber.name,
    )  # fmt: skip
    correspondence_record(
        actor=agent, customer=customer, direction="inbound", medium="letter", occurred_at=timezone.now(),
        summary=f"Letter from {FIRST} at {ADDRESS}, {POSTCODE}",
    )  # fmt: skip
    PurchaseFactory(
        customer=customer, payment_method="instalments", instalments=12, instalment_amount="10.00",
        ordered_on=today - datetime.timedelta(days=400), description=f"Medal engraved {FIRST} {LAST}",
    )  # fmt: skip
    # The lender, the courier and the debt collector.
    for code in ("halcyon-finance", "parcelway", "kestrel-recovery"):
        recipient = Recipient.objects.get(code=code)
        disclosure_record(
            actor=dpo, customer=customer, recipient=recipient, data_categories=["identity", "contact"],
            purpose="order_delivery", lawful_basis="contract", disclosed_at=timezone.now() - datetime.timedelta(days=1),
        )  # fmt: skip

    (access,) = svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=today, customer=customer,
        requester_name=f"{FIRST} {LAST}", requester_email=EMAIL, description=f"Everything about {TITLE} {LAST}",
    )  # fmt: skip
    svc.case_assign(actor=dpo, case=access, handler=handler)
    svc.case_request_identity(actor=handler, case=access)
    with capture(execute=True):
        document_store(
            actor=handler, case=access, upload=SimpleUploadedFile("passport.pdf", PDF, "application/pdf"),
            kind=CaseDocument.Kind.IDENTITY,
        )  # fmt: skip
        svc.case_identity_received(actor=handler, case=access)
    with capture(execute=True):  # a later page: the evidence is deleted once identity is decided
        svc.case_decide_identity(actor=handler, case=access, verified=True)
    svc.case_add_note(actor=handler, case=access, text=f"DOB 14/07/1961, lives in {TOWN}, {COUNTY}; mobile {PHONE}")
    with capture(execute=True):
        correspondence_add(
            actor=handler, case=access, occurred_on=today, direction="inbound", medium="letter",
            summary=f"Signed letter from {FIRST} {LAST}",
            upload=SimpleUploadedFile("letter.pdf", PDF, "application/pdf"),
        )  # fmt: skip
    with capture(execute=True):
        export_build(actor=handler, case=access)  # a ZIP of everything about her, in private storage
    svc.case_complete(actor=handler, case=access, outcome=f"Export sent to {EMAIL}")

    complaint = complaints.complaint_log(
        actor=agent, customer=customer, received_on=today, channel="phone", category="request_handling",
        description=f"{TITLE} {LAST} of {TOWN} says the export was late", cases=[access],
    )  # fmt: skip
    complaints.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    complaints.complaint_acknowledge(actor=handler, complaint=complaint, on=today)
    complaints.complaint_respond(actor=handler, complaint=complaint, on=today, summary=f"Apologised to {FIRST}")
    complaints.complaint_request_review(actor=handler, complaint=complaint, on=today)
    complaints.complaint_conclude_review(actor=dpo, complaint=complaint, on=today, outcome=f"{LAST}: upheld")
    complaints.complaint_escalate(
        actor=dpo, complaint=complaint, ico_reference="IC-909090", contacted_on=today, contact_method="email",
        requested=f"The file of {TITLE} {LAST}, born 14 July 1961", deadlines=[(f"Answer about {FIRST}", today)],
    )  # fmt: skip

    # A break-glass opening by a handler without a case of hers, with a reason naming her.
    reason = f"{TITLE} {LAST} phoned about her complaint; her handler is on leave"
    client_for(other_handler).post(
        reverse("customers:break_glass"), {"reference": customer.reference, "reason": reason}
    )

    (rectify,) = svc.case_log(
        actor=agent, rights=["rectification"], channel="phone", received_on=today, customer=customer
    )
    svc.case_assign(actor=dpo, case=rectify, handler=handler)
    svc.case_start(actor=handler, case=rectify)
    case_rectify(
        actor=handler, case=rectify, changes={"county": "Kernow"}, reason=f"{FIRST} asked for the Cornish name",
        expected_version=Customer.objects.get(pk=customer.pk).version,
    )  # fmt: skip

    (erasure,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="email", received_on=today, customer=customer,
        description=f"{FIRST} {LAST} ({PHONE}) wants everything erased",
    )  # fmt: skip
    svc.case_assign(actor=dpo, case=erasure, handler=handler)
    svc.case_start(actor=handler, case=erasure)
    svc.case_request_signoff(actor=handler, case=erasure, kind="erasure", reason="Identity confirmed")
    return Customer.objects.get(pk=customer.pk), Case.objects.get(pk=erasure.pk)


def test_after_the_dpos_sign_off_no_value_the_person_ever_had_is_left_except_what_the_certificate_keeps(
    client_for, agent, handler, other_handler, dpo, private_storage, django_capture_on_commit_callbacks
):
    customer, erasure = a_full_life(client_for, agent, handler, other_handler, dpo, django_capture_on_commit_callbacks)
    values = [*VALUES, "Kernow"]
    before = {table for table, _, _ in find_everywhere(values)}
    assert {"customers_historicalcustomer", "requests_historicalcasenote", "requests_icocase"} <= before
    graph = subject_records(customer)
    assert any(r.recipient.category == "call_transcription" for r in graph.rows(Disclosure))
    stored = files_holding(private_storage, values)
    assert {p.split("/")[2] for p in stored} == {"export", "correspondence"}  # the identity evidence is gone
    assert AccessEvent.objects.filter(action=AccessEvent.Action.BREAK_GLASS, customer_id=customer.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        svc.case_signoff(actor=dpo, case=erasure, approve=True)

    assert find_everywhere(values) == []
    certificate = Case.objects.get(pk=erasure.pk).documents.get(kind=CaseDocument.Kind.CERTIFICATE)
    text = private_path(certificate.path).read_text()
    # Only the kept letter holds her details, and the certificate says it is kept with them, and why.
    assert list(files_holding(private_storage, values)) == [
        p for p in files_holding(private_storage, values) if "/correspondence/" in p
    ]
    assert files_holding(private_storage, values)
    kept = FILE_PLAN["attachment"]
    assert f"<td>{escape(kept.what)}</td><td>1</td><td>Kept</td><td>{escape(kept.why)}</td>" in text
    assert not [v for v in values if v.lower() in text.lower()]
    # The lender, courier, debt collector and the US transcription provider are to be told (Art 19).
    tasks = set(Case.objects.get(pk=erasure.pk).tasks.values_list("recipient_id", flat=True))
    assert tasks == set(
        Recipient.objects.filter(
            code__in=["halcyon-finance", "parcelway", "kestrel-recovery", transcriber_code()]
        ).values_list("pk", flat=True)
    )
    assert "Verbatim AI Inc." in text
    assert verify_chain().ok
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
