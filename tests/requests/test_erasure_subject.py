"""Erasure over the subject graph: every model it covers has a planned treatment, requester-only
records are offered to the DPO and erased only when included, and the certificate says what was
actually done, table by table and file by file."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.services.customers import customer_create
from customers.subject import COVERAGE
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import private_path
from requests.models import Case, CaseCorrespondence, CaseDocument, Complaint
from requests.services import cases as svc
from requests.services import complaints
from requests.services.erasure import ERR_INCLUDE, FILE_PLAN, PLAN, customer_erase, erasure_preview

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def test_the_erasure_plan_names_every_model_of_the_subject_graph():
    assert set(PLAN) == set(COVERAGE)


@pytest.fixture
def person(agent):
    return customer_create(
        actor=agent, title="Mr", first_name="Barnaby", last_name="Ollerenshaw", email="barnaby@example.co.uk",
        phone="07912 555321", address_line1="4 Cobble Wynd", town="Kirkby Thore", county="Cumbria", postcode="CA10 1UA",
        date_of_birth=datetime.date(1955, 2, 3),
    )  # fmt: skip


@pytest.fixture
def erasure(agent, dpo, handler, person):
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=timezone.localdate(), customer=person
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    return svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Identity confirmed")


@pytest.fixture
def unchosen(agent):
    """A request and a complaint logged with typed details only: the person's, and a stranger's."""
    today = timezone.localdate()
    (theirs,) = svc.case_log(
        actor=agent, rights=["access"], channel="email", received_on=today, requester_name="B. Ollerenshaw",
        requester_email="BARNABY@EXAMPLE.CO.UK", requester_address="4 Cobble Wynd, CA101UA",
    )  # fmt: skip
    complaint = complaints.complaint_log(
        actor=agent, received_on=today, channel="phone", category="marketing", description="Catalogues again",
        complainant_name="Mr Ollerenshaw", complainant_phone="+44 (0)7912 555321",
    )  # fmt: skip
    (stranger,) = svc.case_log(
        actor=agent, rights=["access"], channel="post", received_on=today, requester_name="Bea Ollerenshawe",
        requester_address="1 Elsewhere, EX1 1AA",
    )  # fmt: skip
    return theirs, complaint, stranger


def test_the_preview_offers_requester_only_records_that_match_and_the_dpo_erases_those_ticked(
    client_for, dpo, erasure, unchosen, django_capture_on_commit_callbacks
):
    theirs, complaint, stranger = unchosen
    client = client_for(dpo)
    body = client.get(reverse("requests:case", args=[erasure.pk])).content.decode()
    assert f'value="case:{theirs.pk}" form="signoff-form"' in body
    assert f'value="complaint:{complaint.pk}" form="signoff-form"' in body
    assert stranger.reference not in body
    assert "Ollerenshaw" not in body.split("What erasure will do")[1]  # references and what matched, no values

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("requests:case_action", args=[erasure.pk, "signoff"]),
            {"approve": "yes", "include": [f"case:{theirs.pk}"]},
            follow=True,
        )
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.customer_id == erasure.customer_id
    assert (theirs.requester_name, theirs.requester_email, theirs.requester_address) == ("", "", "")
    assert theirs.history.filter(requester_email="barnaby@example.co.uk").count() == 0
    # Not ticked: left as it was, for the DPO to decide on its own.
    complaint.refresh_from_db()
    assert complaint.customer_id is None and complaint.complainant_name == "Mr Ollerenshaw"
    certificate = Case.objects.get(pk=erasure.pk).documents.get(kind=CaseDocument.Kind.CERTIFICATE)
    assert theirs.reference in private_path(certificate.path).read_text()


def test_an_include_that_the_preview_did_not_offer_is_refused_and_nothing_is_erased(dpo, erasure, unchosen, person):
    stranger = unchosen[2]
    with pytest.raises(Exception) as exc:
        svc.case_signoff(actor=dpo, case=erasure, approve=True, include=[f"case:{stranger.pk}"])
    assert exc.value.message_dict == {"include": [ERR_INCLUDE.format(keys=f"case:{stranger.pk}")]}
    person.refresh_from_db()
    assert not person.is_erased


def test_the_certificate_is_written_from_what_the_erasure_did_with_what_is_kept_and_why(
    agent, dpo, handler, erasure, person, django_capture_on_commit_callbacks
):
    relative = f"cases/{erasure.pk}/correspondence/letter.pdf"
    private_path(relative).parent.mkdir(parents=True)
    private_path(relative).write_bytes(b"%PDF letter from Barnaby Ollerenshaw")
    CaseCorrespondence.objects.create(
        case=erasure, occurred_on=timezone.localdate(), direction="inbound", medium="letter",
        summary="Letter asking for erasure", attachment_path=relative, attachment_type="application/pdf",
        attachment_size=10,
    )  # fmt: skip
    AccessEvent.objects.create(
        user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=person.pk, reason="Mr X phoned"
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_erase(actor=dpo, case=Case.objects.get(pk=erasure.pk))
    text = private_path(result.certificate.path).read_text()
    ledger = {line.model: line for line in result.ledger.tables}
    assert set(PLAN) <= set(ledger)
    assert ledger["customers.Customer"].history_rows == 1  # created (scrubbed), then erased (clean already)
    # The letter's record names nobody: kept unchanged, not counted as redacted.
    assert (ledger["requests.CaseCorrespondence"].rows, ledger["requests.CaseCorrespondence"].unchanged) == (0, 1)
    # The kept letter is said to be kept with the person's details in it, and why.
    attachment = FILE_PLAN["attachment"]
    assert f"<td>{escape(attachment.what)}</td><td>1</td><td>Kept</td><td>{escape(attachment.why)}</td>" in text
    assert private_path(relative).exists()
    # The break-glass reason beside the access log is said to be redacted (the chain keeps a digest).
    assert "Free-text reasons typed by staff beside access log entries" in text
    for label, line in ledger.items():
        if label in PLAN:
            assert f"<td>{escape(PLAN[label].what)}</td><td>{line.rows}</td>" in text
    assert "Ollerenshaw" not in text and "barnaby" not in text.lower()


def test_the_preview_counts_what_the_graph_holds_and_names_no_value(erasure, person, unchosen):
    preview = erasure_preview(customer=person)
    assert {c.reference for c in preview.candidates} == {unchosen[0].reference, unchosen[1].reference}
    lines = {line.model: line for line in preview.anonymise + preview.delete + preview.keep if line.model}
    assert set(lines) == set(PLAN)
    assert lines["requests.Case"].count == 1
    assert "Ollerenshaw" not in str(preview)
    assert Complaint.objects.count() == 1
