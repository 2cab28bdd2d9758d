"""Erasure (Art 17): the preview, the erasure itself, and proof that nothing personal is left anywhere."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from customers.models import (
    Call,
    Channel,
    Correspondence,
    Disclosure,
    PreferenceChange,
    Purchase,
    SuppressionEntry,
)
from customers.services.normalise import address_key
from customers.services.preferences import may_market
from customers.services.suppression import is_suppressed
from privacy_portal.models import User
from privacy_portal.private_storage import private_path
from requests.models import (
    Case,
    CaseDocument,
    CaseNote,
    CaseTask,
    Complaint,
    IcoCase,
)
from requests.services import cases as svc
from requests.services import erasure
from requests.services.erasure import ERASED_NAME, ERR_NO_CUSTOMER, ERR_NOT_APPROVED, customer_erase, erasure_preview
from requests.services.redaction import REDACTED, redactor_for
from tests.factories import (
    CallFactory,
    CaseFactory,
    CustomerFactory,
    PurchaseFactory,
    UserFactory,
)
from tests.fixtures.erasure import (
    ADDRESS,
    EMAIL,
    FIRST,
    FORMER_EMAIL,
    FORMER_PHONE,
    FORMER_POSTCODE,
    LAST,
    PERSONAL_VALUES,
    PHONE,
    POSTCODE,
    erasure_case,
    find_everywhere,
    sign_off,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# --- The key test ------------------------------------------------------------------------------


@pytest.mark.slow  # a walk over every table
def test_after_erasure_no_table_anywhere_holds_the_former_name_email_phone_or_postcode(
    rich, dpo, agent, django_capture_on_commit_callbacks
):
    customer = rich["customer"]
    before = find_everywhere(PERSONAL_VALUES)
    # The search finds what is there: calls, history, cases, complaints, everywhere.
    tables = {table for table, _, _ in before}
    assert {
        "customers_customer",
        "customers_historicalcustomer",
        "customers_historicalpreferencechange",
        "customers_call",
        "customers_historicalcall",
        "customers_correspondence",
        "customers_disclosure",
        "requests_case",
        "requests_historicalcase",
        "requests_historicalcasenote",
        "requests_complaint",
        "requests_icodeadline",
        "requests_casecorrespondence",
        "customers_inboundsms",
        "customers_historicalinboundsms",
    } <= tables
    history_before = list(customer.history.order_by("history_id").values_list("history_id", "history_user_id"))

    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)

    assert find_everywhere(PERSONAL_VALUES) == []
    # Who did what, when, survives: every earlier version is still there, by its author.
    history_after = list(customer.history.order_by("history_id"))
    assert [(h.history_id, h.history_user_id) for h in history_after[:-1]] == history_before
    assert history_before[0][1] == agent.pk
    assert all(h.history_date for h in history_after)
    assert [h.history_type for h in history_after] == ["+", "~", "~", "~"]
    assert history_after[-1].history_user == dpo
    assert history_after[1].history_change_reason == f"Married: new surname {REDACTED}"
    assert rich["case"].history.filter(history_user=dpo).exists()


def test_erasure_anonymises_the_customer_and_keeps_its_flags(rich, dpo, django_capture_on_commit_callbacks):
    customer = rich["customer"]
    customer.marketing_objected, customer.objected_at = True, timezone.now()
    customer.save()
    case = sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    customer.refresh_from_db()
    assert customer.full_name == ERASED_NAME == "Erased"
    assert (customer.email, customer.phone, customer.address_line1, customer.postcode) == ("", "", "", "")
    assert customer.date_of_birth is None and customer.erased_at is not None
    assert customer.marketing_objected
    assert case.status == Case.Status.COMPLETED and case.closed_on == timezone.localdate()
    assert not may_market(customer, Channel.EMAIL)


def test_every_former_identifier_is_suppressed_before_it_is_blanked(rich, dpo, django_capture_on_commit_callbacks):
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    assert is_suppressed(channel=Channel.EMAIL, identifier=EMAIL)
    assert is_suppressed(channel=Channel.SMS, identifier=PHONE)
    assert is_suppressed(channel=Channel.PHONE, identifier=PHONE)
    assert is_suppressed(channel=Channel.POST, identifier=address_key(ADDRESS, POSTCODE))
    # The former ones, in the record's history only, too: a list holding them must not reach the person.
    assert is_suppressed(channel=Channel.EMAIL, identifier=FORMER_EMAIL)
    assert is_suppressed(channel=Channel.SMS, identifier=FORMER_PHONE)
    assert is_suppressed(channel=Channel.PHONE, identifier=FORMER_PHONE)
    assert is_suppressed(channel=Channel.POST, identifier=address_key("3 Old Mill Lane", FORMER_POSTCODE))
    # Post at the current address was suppressed already (the opt-out); the other seven now, for the erasure.
    assert SuppressionEntry.objects.filter(reason=SuppressionEntry.Reason.ERASED).count() == 7


def test_calls_transcripts_and_correspondence_are_deleted_with_their_history(
    rich, dpo, django_capture_on_commit_callbacks
):
    customer = rich["customer"]
    other_call = CallFactory()  # someone else's
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    assert list(Call.objects.all()) == [other_call]
    assert set(Call.history.values_list("id", flat=True)) == {other_call.pk}
    assert not Correspondence.objects.filter(customer=customer).exists()
    assert not Correspondence.history.exists()


def test_purchases_are_kept_detached_with_the_detachment_in_their_history(
    rich, dpo, django_capture_on_commit_callbacks
):
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    for purchase in rich["purchases"]:
        purchase.refresh_from_db()
        assert purchase.customer_id is None and purchase.detached_at is not None
        history = list(purchase.history.order_by("history_id"))
        assert len(history) == 2 and history[-1].history_user == dpo
        assert all(h.customer_id is None for h in history)
    assert Purchase.objects.count() == 2
    # An engraving naming the customer keeps what was bought, not whom for.
    assert rich["purchases"][0].description == f"Medal engraved “{REDACTED}, 60 today”"


def test_preference_changes_are_kept_as_evidence_without_their_notes(rich, dpo, django_capture_on_commit_callbacks):
    customer = rich["customer"]
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    changes = PreferenceChange.objects.filter(customer=customer)
    assert sorted(changes.values_list("channel", "granted")) == [("email", True), ("post", False)]
    assert set(changes.values_list("evidence", flat=True)) == {""}
    assert set(PreferenceChange.history.values_list("evidence", flat=True)) == {""}


def test_the_disclosure_log_is_kept_and_each_recipient_gets_an_art19_task(
    rich, dpo, django_capture_on_commit_callbacks
):
    case = sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    assert Disclosure.objects.filter(customer=rich["customer"]).count() == 3
    tasks = case.tasks.filter(kind=CaseTask.Kind.ART19_NOTIFY).order_by("title")
    assert [(t.title, t.recipient_id) for t in tasks] == [
        ("Tell Coin Credit plc about the erasure (Art 19)", rich["recipients"][1].pk),
        ("Tell Swift Couriers Ltd about the erasure (Art 19)", rich["recipients"][0].pk),
    ]
    assert all(t.done_at is None for t in tasks)


def test_the_certificate_of_erasure_is_stored_privately_and_holds_no_personal_data(
    rich, dpo, django_capture_on_commit_callbacks
):
    case = sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    certificate = case.documents.get(kind=CaseDocument.Kind.CERTIFICATE)
    text = private_path(certificate.path).read_text()
    assert certificate.size == len(text.encode()) and certificate.uploaded_by == dpo
    assert case.reference in text and rich["customer"].reference in text and f"staff #{dpo.pk}" in text
    assert "<h2>Removed</h2>" in text
    assert f"<td>{erasure.PLAN['customers.Call'].what}</td><td>3</td>" in text
    assert f"<td>{erasure.PLAN['customers.Purchase'].what}</td><td>2</td>" in text
    assert not [v for v in PERSONAL_VALUES if v.lower() in text.lower()]


def test_case_files_are_kept_without_the_customers_details(rich, dpo, django_capture_on_commit_callbacks):
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    access = Case.objects.get(pk=rich["access"].pk)
    assert (access.requester_name, access.requester_email, access.requester_phone) == ("", "", "")
    assert access.outcome == f"Copy sent to {REDACTED}"
    assert CaseNote.objects.get(case=access).text == f"Spoke to {REDACTED} on {REDACTED}"
    complaint = Complaint.objects.get(pk=rich["complaint"].pk)
    assert complaint.complainant_name == "" and complaint.customer_id == rich["customer"].pk
    assert complaint.description == f"{REDACTED} got a catalogue at {REDACTED} after opting out."
    assert IcoCase.objects.get().ico_reference == "IC-12345-A1B2"
    # Each change is in the history, by the DPO, with why.
    assert access.history.latest().history_change_reason == "Customer's details removed: Erased (Art 17)"


def test_a_representatives_details_stay_in_the_case_file_with_the_customers_redacted(
    agent, dpo, handler, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(first_name="Ottoline", last_name="Fairweather", postcode="ZE1 0AA")
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="post", received_on=timezone.localdate(), customer=customer,
        requester_name="Jo Bloggs", requester_address="Bloggs & Co, 1 High St, ZE1 0AA", acting_for_other=True,
        representative_relationship="Solicitor", authority_note="Letter of authority from Ottoline Fairweather",
    )  # fmt: skip
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    svc.case_request_signoff(actor=handler, case=case, kind="erasure", reason="Solicitor's request")
    case = sign_off(dpo, case, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.requester_name == "Jo Bloggs"
    assert case.requester_address == f"Bloggs & Co, 1 High St, {REDACTED}"
    assert case.authority_note == f"Letter of authority from {REDACTED}"
    assert find_everywhere(["Ottoline", "Fairweather", "ZE1 0AA"]) == []


def test_identity_evidence_and_exports_are_deleted_only_once_the_erasure_commits(
    rich, dpo, private_storage, django_capture_on_commit_callbacks
):
    access = rich["access"]
    relative = f"cases/{access.pk}/export/package.zip"
    private_path(relative).parent.mkdir(parents=True)
    private_path(relative).write_bytes(b"PK personal data")
    export = CaseDocument.objects.create(
        case=access, kind=CaseDocument.Kind.EXPORT, path=relative, content_type="application/zip", size=16
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        svc.case_signoff(actor=dpo, case=rich["case"], approve=True)
    assert private_path(relative).exists()  # not yet: the transaction has not committed
    certificates = list(private_storage.glob("cases/*/certificate/*.html"))
    assert certificates == []
    for callback in callbacks:
        callback()
    assert not private_path(relative).exists()
    assert len(list(private_storage.glob("cases/*/certificate/*.html"))) == 1
    export.refresh_from_db()
    assert export.path == "" and export.deleted_at is not None and export.deletion_reason == "Erased (Art 17)"


# --- Idempotent and atomic ---------------------------------------------------------------------


def table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def test_running_the_erasure_twice_changes_nothing(rich, dpo, django_capture_on_commit_callbacks):
    case = sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    counts = table_counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert customer_erase(actor=dpo, case=case) is None
    assert callbacks == []
    assert table_counts() == counts


def test_a_failure_part_way_leaves_nothing_changed(
    rich, dpo, monkeypatch, private_storage, django_capture_on_commit_callbacks
):
    customer, case = rich["customer"], rich["case"]

    def broken(**kwargs):
        raise RuntimeError("the disclosure log could not be read")

    monkeypatch.setattr(erasure, "art19_tasks_create", broken)  # a late step: most of the work is done by then
    counts = table_counts()
    before = find_everywhere(PERSONAL_VALUES)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        svc.case_signoff(actor=dpo, case=case, approve=True)
    assert callbacks == []
    assert table_counts() == counts
    assert find_everywhere(PERSONAL_VALUES) == before
    customer.refresh_from_db()
    assert customer.last_name == LAST and customer.erased_at is None
    assert Case.objects.get(pk=case.pk).status == Case.Status.AWAITING_SIGNOFF
    assert not list(private_storage.rglob("*.html"))


# --- Who may erase, and when ---------------------------------------------------------------------


def test_an_erasure_is_carried_out_only_once_signed_off(agent, dpo, handler):
    customer = CustomerFactory()
    (case,) = svc.case_log(
        actor=agent, rights=["erasure"], channel="phone", received_on=timezone.localdate(), customer=customer
    )
    svc.case_assign(actor=dpo, case=case, handler=handler)
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError) as exc:
        customer_erase(actor=dpo, case=case)
    assert exc.value.messages == [ERR_NOT_APPROVED]
    customer.refresh_from_db()
    assert not customer.is_erased


def test_only_a_dpo_who_is_not_the_handler_erases_and_only_for_an_erasure_case(agent, dpo, handler):
    customer = CustomerFactory()
    case = erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)
    with pytest.raises(ValidationError) as exc:
        customer_erase(actor=handler, case=case)
    assert exc.value.messages == [svc.ERR_SIGNOFF_PERMISSION]
    other_dpo = UserFactory(role=User.Role.DPO)
    svc.case_signoff(actor=dpo, case=case, approve=False)
    svc.case_assign(actor=dpo, case=case, handler=other_dpo)
    svc.case_request_signoff(actor=other_dpo, case=case, kind="erasure", reason="Handled by a DPO this time")
    with pytest.raises(ValidationError) as exc:
        customer_erase(actor=other_dpo, case=case)
    assert exc.value.messages == [svc.ERR_SELF_SIGNOFF]
    access = CaseFactory(customer=customer, status=Case.Status.AWAITING_SIGNOFF, pending_signoff="erasure")
    with pytest.raises(ValidationError) as exc:
        customer_erase(actor=dpo, case=access)
    assert exc.value.messages == [svc.ERR_ERASURE_ONLY]
    no_customer = CaseFactory(right="erasure", customer=None, requester_name="Jo Bloggs", status="completed")
    with pytest.raises(ValidationError) as exc:
        customer_erase(actor=dpo, case=no_customer)
    assert exc.value.messages == [ERR_NO_CUSTOMER]
    customer.refresh_from_db()
    assert not customer.is_erased


def test_a_declined_erasure_erases_nothing(agent, dpo, handler):
    customer = CustomerFactory(first_name="Ottoline")
    case = erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)
    svc.case_signoff(actor=dpo, case=case, approve=False, note="Finance agreement still running")
    customer.refresh_from_db()
    assert customer.first_name == "Ottoline" and not customer.is_erased
    assert case.status == Case.Status.IN_PROGRESS


# --- The preview -------------------------------------------------------------------------------


def test_the_preview_lists_what_will_be_anonymised_deleted_and_kept_and_why(rich):
    preview = erasure_preview(customer=rich["customer"])
    assert not preview.already_erased and preview.customer_reference == rich["customer"].reference
    counts = {line.what.split(",")[0].split(" (")[0]: line.count for line in preview.delete + preview.keep}
    assert counts["Recorded calls and their transcripts"] == 3  # unmatched calls from its numbers too
    assert counts["Correspondence records"] == 1
    assert counts["Purchases"] == 2
    assert counts["The disclosure log"] == 3
    # Current and former: 2 emails, 2 numbers on SMS and phone, 2 postal addresses.
    assert counts["Suppression entries: keyed one-way hashes of every email"] == 8
    assert (preview.anonymise[0].count, preview.anonymise[0].history) == (1, 3)  # three versions of the record
    assert sorted(preview.recipients) == ["Coin Credit plc", "Swift Couriers Ltd"]
    assert any("6 years for tax" in line.why for line in preview.keep)
    text = str(preview)
    assert not [v for v in PERSONAL_VALUES if v.lower() in text.lower()]


def test_the_preview_warns_of_running_instalment_plans_and_other_open_cases(agent, dpo, handler):
    customer = CustomerFactory()
    PurchaseFactory(customer=customer, payment_method="instalments", instalments=12, instalment_amount="10.00")
    (access,) = svc.case_log(
        actor=agent, rights=["access"], channel="phone", received_on=timezone.localdate(), customer=customer
    )
    erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)
    warnings = erasure_preview(customer=customer).warnings
    assert len(warnings) == 2
    assert warnings[0].startswith("1 instalment plan(s) may still be running")
    assert warnings[1] == f"Other open cases for this customer will refer to an anonymised record: {access.reference}."


# --- Redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Call +44 (0)7912 555123",
        "Call 07912-555-123",
        "Call 0044 7912 555123",
        "Call +447912555123",
        "Write to ze29qp",
        "Mail PEREGRINE.QUILLFEATHER@EXAMPLE.CO.UK",
        "Mr Quillfeather's letter",
    ],
)
def test_the_redaction_finds_each_identifier_however_it_is_written(text):
    customer = CustomerFactory.build(first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE, postcode=POSTCODE)
    customer.pk = 10**9  # never saved: no history rows
    redacted = redactor_for(customer)(text)
    assert REDACTED in redacted
    assert not [v for v in PERSONAL_VALUES if v.lower() in redacted.lower()]


def test_the_redaction_leaves_words_that_merely_contain_a_name():
    customer = CustomerFactory.build(first_name="Ann", last_name="Lee", email="", phone="", postcode="")
    customer.pk = 10**9
    redact = redactor_for(customer)
    assert redact("Annual review with Ann Lee and Fleet") == f"Annual review with {REDACTED} and Fleet"
