"""Rights requests: intake, the clock in a case, identity, clarification, extension, sign-off."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from privacy_portal import private_storage
from requests.deadlines import due_date
from requests.models import Case, CaseDocument
from requests.services import cases as svc
from requests.services import documents, workflow
from tests.factories import CaseFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Case.Status
D = datetime.date
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def today():
    return timezone.localdate()


def assigned_case(dpo, handler, **kwargs):
    case = CaseFactory(**kwargs)
    return svc.case_assign(actor=dpo, case=case, handler=handler)


def test_a_letter_asking_for_several_rights_makes_linked_cases_with_references(agent):
    customer = CustomerFactory()
    cases = svc.case_log(
        actor=agent, rights=["access", "erasure"], channel="post", received_on=today(), customer=customer
    )
    assert [c.right for c in cases] == ["access", "erasure"]
    assert cases[0].letter_id == cases[1].letter_id
    year = today().year
    assert all(re.fullmatch(rf"R-{year}-\d{{5}}", c.reference) for c in cases)
    assert cases[0].reference != cases[1].reference
    assert cases[0].due_on == due_date(today())
    assert cases[0].logged_by == agent and cases[0].history.first().history_user == agent


def test_intake_refuses_bad_input_naming_each_field_and_stores_nothing(agent):
    with pytest.raises(ValidationError) as exc:
        svc.case_log(
            actor=agent, rights=[], channel="pigeon", received_on=today() + datetime.timedelta(days=1),
            acting_for_other=True,
        )  # fmt: skip
    assert set(exc.value.error_dict) == {
        "rights",
        "channel",
        "received_on",
        "requester_name",
        "representative_relationship",
    }
    assert not Case.objects.exists()


def test_a_request_for_an_erased_customer_is_refused(agent):
    customer = CustomerFactory(erased_at=timezone.now())
    with pytest.raises(ValidationError, match="erased"):
        svc.case_log(actor=agent, rights=["access"], channel="email", received_on=today(), customer=customer)


def test_a_requester_without_a_customer_record_can_be_logged(agent):
    (case,) = svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=today(), requester_name="Jo Bloggs",
        requester_email="JO@example.org", acting_for_other=True, representative_relationship="Solicitor",
    )  # fmt: skip
    assert case.customer is None and case.requester_email == "jo@example.org"


def test_assignment_grants_the_handler_the_case_and_its_customer_and_reassignment_takes_them_away(
    dpo, handler, other_handler
):
    case = assigned_case(dpo, handler)
    assert handler.has_perm("requests.view_case", case)
    assert handler.has_perm("customers.view_customer", case.customer)
    assert handler.has_perm("customers.view_transcript", case.customer)
    assert not other_handler.has_perm("requests.view_case", case)
    svc.case_assign(actor=dpo, case=case, handler=other_handler)
    handler = type(handler).objects.get(pk=handler.pk)  # drop guardian's per-instance cache
    assert not handler.has_perm("requests.view_case", case)
    assert not handler.has_perm("customers.view_customer", case.customer)
    assert other_handler.has_perm("requests.work_case", case)


def test_cases_can_only_be_assigned_to_handlers_or_the_dpo(dpo, agent):
    with pytest.raises(ValidationError, match="handlers or the DPO"):
        svc.case_assign(actor=dpo, case=CaseFactory(), handler=agent)


def test_identity_asked_promptly_stops_the_clock_until_the_evidence_arrives(dpo, handler):
    received = today() - datetime.timedelta(days=10)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_request_identity(actor=handler, case=case, on=received + datetime.timedelta(days=2))
    assert case.status == S.AWAITING_IDENTITY and case.due_on is None
    evidence = received + datetime.timedelta(days=6)
    svc.case_identity_received(actor=handler, case=case, on=evidence)
    assert case.clock_started_on == evidence and case.due_on == due_date(evidence)


def test_identity_asked_late_leaves_the_clock_running_from_receipt(dpo, handler):
    received = today() - datetime.timedelta(days=20)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_request_identity(actor=handler, case=case, on=received + datetime.timedelta(days=12))
    assert case.clock_started_on == received and case.due_on == due_date(received)


def test_identity_documents_are_checked_by_content_stored_privately_and_deleted_once_decided(
    dpo, handler, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    case = assigned_case(dpo, handler)
    svc.case_request_identity(actor=handler, case=case)
    with django_capture_on_commit_callbacks(execute=True):  # the file is written once the row commits
        doc = documents.document_store(
            actor=handler, case=case, upload=SimpleUploadedFile("passport.png", PNG), kind="identity"
        )
    stored = private_storage.private_path(doc.path)
    assert stored.exists() and str(tmp_path) in str(stored) and doc.content_type == "image/png"
    svc.case_identity_received(actor=handler, case=case)
    with django_capture_on_commit_callbacks(execute=True):  # the file is deleted once the decision commits
        svc.case_decide_identity(actor=handler, case=case, verified=True)
    doc.refresh_from_db()
    assert not stored.exists() and doc.path == "" and doc.deleted_at is not None
    assert doc.history.first().history_change_reason == "File deleted: Identity decided"
    assert case.status == S.IN_PROGRESS and case.identity == Case.Identity.VERIFIED


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("passport.pdf", b"MZ\x90\x00 not a pdf at all", private_storage.ERR_TYPE),
        ("photo.jpg", b"GIF89a....", private_storage.ERR_TYPE),
        ("empty.pdf", b"", private_storage.ERR_EMPTY),
    ],
)
def test_uploads_that_are_not_what_their_name_says_are_refused(dpo, handler, settings, tmp_path, name, data, message):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    case = assigned_case(dpo, handler)
    with pytest.raises(ValidationError, match=re.escape(message)):
        documents.document_store(actor=handler, case=case, upload=SimpleUploadedFile(name, data), kind="identity")
    assert not CaseDocument.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_an_upload_over_10_mb_is_refused(dpo, handler, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    case = assigned_case(dpo, handler)
    big = io.BytesIO(PDF + b"0" * (10 * 1024 * 1024))
    upload = SimpleUploadedFile("big.pdf", big.getvalue())
    with pytest.raises(ValidationError, match="too big"):
        documents.document_store(actor=handler, case=case, upload=upload, kind="identity")


def test_clarification_stops_the_clock_and_the_due_date_moves_by_the_days_stopped(dpo, handler):
    received = today() - datetime.timedelta(days=20)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_start(actor=handler, case=case)
    before = case.due_on
    svc.case_request_clarification(
        actor=handler, case=case, question="Which years?", on=received + datetime.timedelta(days=5)
    )
    assert case.status == S.AWAITING_CLARIFICATION
    svc.case_clarification_received(actor=handler, case=case, on=received + datetime.timedelta(days=12))
    # Art 12A(5)(b): from the day asked to the day answered, both days: 5th to 12th is 8 days.
    assert case.stopped_days == 8 and case.status == S.IN_PROGRESS
    from dateutil.relativedelta import relativedelta

    from requests.deadlines import next_working_day

    assert case.due_on == next_working_day(received + relativedelta(months=1) + datetime.timedelta(days=8))
    assert case.due_on > before


def test_an_illegal_move_is_refused_by_the_service(dpo, handler):
    case = assigned_case(dpo, handler)
    with pytest.raises(ValidationError, match="cannot be moved"):
        svc.case_clarification_received(actor=handler, case=case)
    svc.case_start(actor=handler, case=case)
    svc.case_complete(actor=handler, case=case, outcome="Sent the data")
    with pytest.raises(ValidationError, match="cannot be moved"):
        svc.case_withdraw(actor=dpo, case=case, reason="too late")


def test_a_handler_cannot_work_a_case_that_is_not_theirs(dpo, handler, other_handler):
    case = assigned_case(dpo, handler)
    with pytest.raises(ValidationError, match=re.escape(workflow.ERR_NOT_HANDLER)):
        svc.case_start(actor=other_handler, case=case)


def test_an_extension_needs_the_dpos_approval_and_moves_the_due_date_to_three_months(dpo, handler):
    received = today() - datetime.timedelta(days=3)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="extension", reason="Ten years of call recordings")
    assert case.status == S.AWAITING_SIGNOFF
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today())
    assert case.extended and case.due_on == due_date(received, 3) and case.status == S.IN_PROGRESS
    assert case.original_due_on == due_date(received, 1)


def test_an_extension_notified_after_the_original_due_date_is_refused(dpo, handler):
    received = today() - datetime.timedelta(days=20)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="extension", reason="Complex")
    late = case.original_due_on + datetime.timedelta(days=1)
    with pytest.raises(ValidationError, match=r"too late|no later than today"):
        svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=late)
    case.refresh_from_db()
    assert not case.extended


def test_an_extension_cannot_be_asked_for_after_the_original_due_date(dpo, handler):
    received = today() - datetime.timedelta(days=70)
    case = assigned_case(dpo, handler, received_on=received)
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError, match="too late"):
        svc.case_request_signoff(actor=handler, case=case, kind="extension", reason="Complex")


def test_a_refusal_needs_a_ground_and_the_dpos_sign_off_and_tells_of_the_right_to_complain(dpo, handler):
    case = assigned_case(dpo, handler)
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_GROUND)):
        svc.case_request_signoff(actor=handler, case=case, kind="refusal", reason="Fifth identical request")
    svc.case_request_signoff(
        actor=handler, case=case, kind="refusal", reason="Fifth identical request", refusal_ground="excessive"
    )
    svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today())
    assert case.status == S.REFUSED and case.closed_on == today()
    assert "Information Commissioner" in case.outcome and "manifestly excessive" in case.outcome


def test_the_dpo_cannot_sign_off_a_case_it_handles(dpo, handler):
    case = assigned_case(dpo, dpo)
    svc.case_start(actor=dpo, case=case)
    svc.case_request_signoff(actor=dpo, case=case, kind="refusal", reason="x", refusal_ground="unfounded")
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_SELF_SIGNOFF)):
        svc.case_signoff(actor=dpo, case=case, approve=True, notified_on=today())
    other_dpo = UserFactory(role="dpo")
    svc.case_signoff(actor=other_dpo, case=case, approve=True, notified_on=today())
    assert case.status == S.REFUSED


def test_a_handler_cannot_sign_off(dpo, handler):
    case = assigned_case(dpo, handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="refusal", reason="x", refusal_ground="unfounded")
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_SIGNOFF_PERMISSION)):
        svc.case_signoff(actor=handler, case=case, approve=True, notified_on=today())


def test_a_declined_sign_off_returns_the_case_to_work(dpo, handler):
    case = assigned_case(dpo, handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="refusal", reason="x", refusal_ground="unfounded")
    svc.case_signoff(actor=dpo, case=case, approve=False, note="Not unfounded")
    assert case.status == S.IN_PROGRESS and case.pending_signoff == "" and case.refusal_ground == ""


def test_an_erasure_case_cannot_be_completed_without_sign_off(dpo, handler):
    case = assigned_case(dpo, handler, right="erasure")
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError, match=re.escape(svc.ERR_ERASURE_SIGNOFF)):
        svc.case_complete(actor=handler, case=case, outcome="done")


def test_closing_a_case_keeps_the_handlers_view_of_the_case_but_not_of_the_customer(dpo, handler):
    case = assigned_case(dpo, handler)
    svc.case_start(actor=handler, case=case)
    svc.case_complete(actor=handler, case=case, outcome="Data sent")
    handler = type(handler).objects.get(pk=handler.pk)
    assert handler.has_perm("requests.view_case", case)
    assert not handler.has_perm("requests.work_case", case)
    assert not handler.has_perm("customers.view_customer", case.customer)


def test_an_erasure_request_with_no_customer_record_is_answered_directly(dpo, handler):
    case = assigned_case(dpo, handler, right="erasure", customer=None, requester_name="Jo Bloggs")
    svc.case_start(actor=handler, case=case)
    svc.case_complete(actor=handler, case=case, outcome="No personal data held for this requester; told them so.")
    assert case.status == S.COMPLETED
