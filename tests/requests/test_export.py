"""Access and portability exports: what the ZIP holds, who may download it, how long it lives."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Channel, Disclosure, EmailEvent, InboundSms, Purpose, Recipient
from customers.services.preferences import preference_record
from privacy_portal.models import AccessEvent, JobRun
from privacy_portal.private_storage import private_path
from requests.models import Case, CaseCorrespondence, CaseDocument, CaseNote, CaseTask
from requests.services import cases as svc
from requests.services import export
from requests.tasks import delete_expired_exports
from tests.factories import CallFactory, CaseFactory, CorrespondenceFactory, CustomerFactory, PurchaseFactory


def built_export(**kwargs):
    """Build an export and run what follows its commit (the file is written after the commit)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return export.export_build(**kwargs)


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """A private storage of the test's own, so that files from other tests or runs never count."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path


ACCESS_FILES = {"index.html", "personal_data.json", "supplementary_information.json", "supplementary_information.html"}


def recipient(name="Parcel Express Ltd") -> Recipient:
    return Recipient.objects.create(
        code=name.lower().replace(" ", "-"), name=name, category="logistics", role="processor", country="GB",
        agreement_reference="DPA-1", contact="privacy@parcel.example.co.uk",
    )  # fmt: skip


def disclose(customer, to: Recipient, by, reference: str) -> Disclosure:
    return Disclosure.objects.create(
        customer=customer, recipient=to, data_categories=["contact", "order"], purpose="order_delivery",
        lawful_basis="contract", disclosed_at=timezone.now() - datetime.timedelta(days=2),
        recipient_reference=reference, recorded_by=by,
    )  # fmt: skip


def full_record(customer, staff, tag: str):
    """A customer with something in every data set, each row marked with `tag`."""
    preference_record(
        actor=staff, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, granted=True,
        source="phone_call", evidence=f"Said yes on the phone {tag}",
    )  # fmt: skip
    preference_record(
        actor=staff, customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL, granted=False,
        source="email", evidence=f"Emailed to stop {tag}",
    )  # fmt: skip
    CallFactory(customer=customer, transcript=f"Caller: please update my address {tag}")
    CorrespondenceFactory(customer=customer, summary=f'=HYPERLINK("http://x") letter {tag}')
    PurchaseFactory(customer=customer, order_ref=f"LMO-{tag}", description=f"Sovereign {tag}")
    disclose(customer, recipient(f"Parcel {tag} Ltd"), staff, f"CONS-{tag}")
    InboundSms.objects.create(message_id=f"sms-{tag}", outcome="opted_out", customer_id=customer.pk)
    EmailEvent.objects.create(
        event_id=f"sendgrid:{tag}", provider="sendgrid", kind="spamreport", outcome="opted_out", customer_id=customer.pk
    )


@pytest.fixture
def case(dpo, handler):
    customer = CustomerFactory(first_name="Ann", last_name="Leeming", email="ann@example.co.uk")
    full_record(customer, handler, "ANN")
    case = svc.case_assign(actor=dpo, case=CaseFactory(customer=customer), handler=handler)
    svc.case_start(actor=handler, case=case)
    svc.case_add_note(actor=handler, case=case, text="Called Ann to confirm the scope")
    CaseTask.objects.create(case=case, title="Check the archive boxes")
    return case


@pytest.fixture
def stranger(handler):
    other = CustomerFactory(
        first_name="Zebedee", last_name="Quarrington", email="zeb@example.com", phone="+447911999999"
    )
    full_record(other, handler, "ZEB")
    CaseFactory(customer=other, description="Zebedee's own request")
    return other


def unzip(doc: CaseDocument) -> dict[str, bytes]:
    with zipfile.ZipFile(private_path(doc.path)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_access_export_holds_every_data_set_about_the_customer(case, handler):
    doc = built_export(actor=handler, case=case)
    files = unzip(doc)
    assert set(files) >= ACCESS_FILES
    data = json.loads(files["personal_data.json"])
    assert data["package"]["request_reference"] == case.reference
    sets = {name: d["records"] for name, d in data["data_sets"].items()}
    assert set(sets) == {d.name for d in export.DATA_SETS}
    assert sets["customer"] == [
        {**sets["customer"][0], "first_name": "Ann", "last_name": "Leeming", "email": "ann@example.co.uk"}
    ]
    assert sets["customer_history"][0]["change"] == "Created"
    assert [p["choice"] for p in sets["preference_changes"]] == ["Opted in", "Opted out"]
    assert sets["preference_changes"][0]["source"] == "Phone call"  # labels, not internal codes
    assert sets["current_preferences"] == [sets["preference_changes"][1]]
    assert len(sets["preference_change_history"]) == 2
    assert sets["preference_change_history"][0]["changed_by"] == export.STAFF  # never a staff name
    assert sets["calls"][0]["transcript"] == "Caller: please update my address ANN"
    assert sets["correspondence"][0]["summary"].endswith("letter ANN")
    assert sets["purchases"][0]["order_ref"] == "LMO-ANN" and sets["purchases"][0]["amount"] == "89.95"
    assert sets["disclosures"][0]["recipient"] == "Parcel ANN Ltd"
    assert sets["disclosures"][0]["data_categories"] == ["Contact details", "Orders"]
    assert sets["sms_received"] == [
        {"received_at": sets["sms_received"][0]["received_at"], "outcome": "Opted out of SMS marketing",
         "sender": "", "text": "", "handled_at": None}  # a STOP keeps no number and no text
    ]  # fmt: skip
    assert [r["reference"] for r in sets["rights_requests"]] == [case.reference]
    assert sets["rights_request_notes"][0]["text"] == "Called Ann to confirm the scope"
    assert sets["rights_request_tasks"][0]["title"] == "Check the archive boxes"
    assert doc.kind == CaseDocument.Kind.EXPORT and doc.content_type == "application/zip"
    assert doc.uploaded_by == handler and doc.size == private_path(doc.path).stat().st_size


def test_export_holds_no_other_customers_data(case, handler, stranger):
    files = unzip(built_export(actor=handler, case=case))
    everything = b"".join(files.values())
    for value in ("Zebedee", "Quarrington", "zeb@example.com", "+447911999999", "LMO-ZEB", "CONS-ZEB", "sms-ZEB"):
        assert value.encode() not in everything, value
    # Every row the stranger has is tagged ZEB; only the register's list of recipients may name
    # the stranger's recipient (it lists every recipient, as Art 15(1)(c) asks).
    data = files["personal_data.json"] + b"".join(v for k, v in files.items() if k.startswith("csv/"))
    assert b"ZEB" not in data
    assert b"Ann" in everything


def test_each_data_set_has_a_spreadsheet_matching_the_json(case, handler):
    files = unzip(built_export(actor=handler, case=case))
    data = json.loads(files["personal_data.json"])["data_sets"]
    for name, data_set in data.items():
        rows = read_csv(files[f"csv/{name}.csv"])
        assert len(rows) == len(data_set["records"]), name
        if rows:
            assert list(rows[0]) == list(data_set["records"][0]), name
    customer = read_csv(files["csv/customer.csv"])[0]
    assert customer["phone"] == case.customer.phone  # +44…: left as it is
    assert customer["processing_restricted"] == "no"
    # Text a spreadsheet would run as a formula is defused in the CSV, exact in the JSON.
    letter = read_csv(files["csv/correspondence.csv"])[0]
    assert letter["summary"].startswith("'=HYPERLINK")
    assert data["correspondence"]["records"][0]["summary"].startswith("=HYPERLINK")


def test_index_explains_the_package_and_supplementary_information_comes_from_the_register(case, handler):
    files = unzip(built_export(actor=handler, case=case))
    index = files["index.html"].decode()
    assert case.reference in index and "What is in this package" in index
    assert "csv/calls.csv" in index and "Information Commissioner" in index
    info = json.loads(files["supplementary_information.json"])
    from privacy_portal.services.register import supplementary_information

    assert info == json.loads(json.dumps(supplementary_information()))
    assert info["rights"] and info["complaints"]["ico"]["telephone"] == "0303 123 1113"
    html = files["supplementary_information.html"].decode()
    assert "The right of access" in html and "0303 123 1113" in html and "<table>" in html


def test_supplementary_html_escapes_what_the_register_holds():
    html = export.render_html_value({"purpose": "<script>alert(1)</script>", "list": [{"a": 1}, {"a": 2}]})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<table>" in html


def test_portability_export_holds_only_what_the_customer_provided(dpo, handler, stranger):
    customer = CustomerFactory(email="port@example.co.uk")
    full_record(customer, handler, "PORT")
    case = svc.case_assign(actor=dpo, case=CaseFactory(customer=customer, right="portability"), handler=handler)
    files = unzip(built_export(actor=handler, case=case))
    data = json.loads(files["personal_data.json"])["data_sets"]
    assert set(data) == {"customer", "current_preferences", "preference_changes", "purchases"}
    assert set(files) == {"index.html", "personal_data.json", *(f"csv/{name}.csv" for name in data)}
    assert "account_opened_on" not in data["customer"]["records"][0]  # ours, not given by the customer
    everything = b"".join(files.values())
    assert b"please update my address" not in everything and b"Parcel PORT" not in everything
    assert b"port@example.co.uk" in everything


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"right": "erasure"}, export.ERR_RIGHT),
        ({"customer": None, "requester_name": "Someone Unknown"}, export.ERR_NO_CUSTOMER),
    ],
)
def test_only_access_and_portability_cases_with_a_customer_can_be_exported(dpo, handler, change, message):
    case = svc.case_assign(actor=dpo, case=CaseFactory(**change), handler=handler)
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError) as exc:
        export.export_request(actor=handler, case=case)
    assert exc.value.messages == [message]
    with pytest.raises(ValidationError):
        built_export(actor=handler, case=case)
    assert not CaseDocument.objects.exists()


def test_an_erased_customer_cannot_be_exported(case, handler):
    customer = case.customer
    customer.erased_at = timezone.now()
    customer.save()
    with pytest.raises(ValidationError) as exc:
        export.export_request(actor=handler, case=case)
    assert exc.value.messages == [export.ERR_ERASED]


def test_the_export_is_requested_only_while_in_progress_and_by_who_works_the_case(dpo, handler, other_handler):
    case = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    with pytest.raises(ValidationError) as exc:
        export.export_request(actor=handler, case=case)
    assert exc.value.messages == [export.ERR_STATUS]
    svc.case_start(actor=handler, case=case)
    with pytest.raises(ValidationError) as exc:
        export.export_request(actor=other_handler, case=case)
    assert exc.value.messages == [export.ERR_NOT_WORKER]


def test_requesting_runs_the_build_after_commit(case, handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        export.export_request(actor=handler, case=case)
    # The build, handed over once the request commits; then the file, once the build commits.
    names = [getattr(getattr(c, "func", c), "__name__", type(c).__name__) for c in callbacks]
    assert names == ["_send", "_PendingFile"]
    doc = case.documents.get(kind=CaseDocument.Kind.EXPORT)
    assert doc.deleted_at is None and private_path(doc.path).exists()


def test_a_second_delivery_of_the_same_request_builds_nothing(case, handler):
    asked = timezone.now()
    first = built_export(actor=handler, case=case, requested_at=asked)
    again = built_export(actor=handler, case=case, requested_at=asked)
    assert again.pk == first.pk
    assert case.documents.count() == 1
    assert len(list(private_path(first.path).parent.iterdir())) == 1


def test_a_new_request_replaces_the_old_export_and_records_why(case, handler):
    first = built_export(actor=handler, case=case, requested_at=timezone.now())
    old_file = private_path(first.path)
    second = built_export(actor=handler, case=case, requested_at=timezone.now())
    first.refresh_from_db()
    assert second.pk != first.pk and first.deleted_at is not None and first.path == ""
    assert first.deletion_reason == export.REPLACED_REASON and not old_file.exists()
    assert first.history.first().history_user == handler


# --- The case page and the download -----------------------------------------------------------


def act(client, case, action, **data):
    return client.post(reverse("requests:case_action", args=[case.pk, action]), data, follow=True)


def test_handler_builds_the_export_from_the_case_page_and_is_told_where_it_will_appear(
    client_for, case, handler, django_capture_on_commit_callbacks
):
    client = client_for(handler)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Build the export" in page
    with django_capture_on_commit_callbacks(execute=True):  # tasks run eagerly without a broker
        response = act(client, case, "build_export")
    assert "It will appear under Documents" in response.content.decode()
    doc = case.documents.get(kind=CaseDocument.Kind.EXPORT)
    page = client.get(case.get_absolute_url()).content.decode()
    assert reverse("requests:document", args=[case.pk, doc.pk]) in page


def test_build_export_is_offered_only_for_access_and_portability_in_progress(client_for, dpo, handler):
    erasure = svc.case_start(
        actor=handler, case=svc.case_assign(actor=dpo, case=CaseFactory(right="erasure"), handler=handler)
    )
    waiting = svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    client = client_for(handler)
    assert "Build the export" not in client.get(erasure.get_absolute_url()).content.decode()
    assert "Build the export" not in client.get(waiting.get_absolute_url()).content.decode()
    response = act(client, waiting, "build_export")
    assert export.ERR_STATUS in response.content.decode()
    assert not CaseDocument.objects.exists()


def test_build_export_rejects_get(client_for, case, handler):
    client = client_for(handler)
    assert client.get(reverse("requests:case_action", args=[case.pk, "build_export"])).status_code == 405


@pytest.mark.parametrize(
    ("role", "status"),
    [("handler", 200), ("dpo", 200), ("auditor", 404), ("other_handler", 404), ("agent", 404),
     ("itadmin", 404), ("nobody", 403)],
)  # fmt: skip
def test_only_the_handler_and_the_dpo_download_the_export_and_each_download_is_recorded(
    client_for, case, handler, cast, role, status
):
    doc = built_export(actor=handler, case=case)
    client = client_for(cast[role])
    response = client.get(reverse("requests:document", args=[case.pk, doc.pk]))
    assert response.status_code == status
    events = AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT, object_id=doc.pk)
    if status == 200:
        body = b"".join(response.streaming_content)
        assert zipfile.ZipFile(io.BytesIO(body)).namelist()[0] == "index.html"
        assert response["Cache-Control"] == "private, no-store" and "attachment" in response["Content-Disposition"]
        assert list(events.values_list("user", "customer_id")) == [(cast[role].pk, case.customer_id)]
    else:
        assert not events.exists()


def test_auditor_sees_that_an_export_exists_without_a_download_link(client_for, case, handler, auditor):
    doc = built_export(actor=handler, case=case)
    client = client_for(auditor)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Access export" in page
    assert reverse("requests:document", args=[case.pk, doc.pk]) not in page


def test_the_handler_loses_the_download_when_the_case_closes_the_dpo_keeps_it(client_for, case, handler, dpo):
    doc = built_export(actor=handler, case=case)
    svc.case_complete(actor=handler, case=case, outcome="Export sent by recorded post")
    url = reverse("requests:document", args=[case.pk, doc.pk])
    client = client_for(handler)
    assert client.get(url).status_code == 404
    client = client_for(dpo)
    assert client.get(url).status_code == 200


# --- Retention ----------------------------------------------------------------------------------


def test_exports_are_deleted_after_the_retention_period_and_the_deletion_recorded(
    case, handler, dpo, django_capture_on_commit_callbacks
):
    from privacy_portal import legal

    old = built_export(actor=handler, case=case, requested_at=timezone.now())
    old.uploaded_at = timezone.now() - datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS, minutes=1)
    old.save()
    old_file = private_path(old.path)
    other_case = svc.case_start(actor=handler, case=svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler))
    young = built_export(actor=handler, case=other_case)
    young.uploaded_at = timezone.now() - datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS - 1)
    young.save()

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the deletion commits
        run = JobRun.objects.get(pk=delete_expired_exports())
    assert run.outcome == JobRun.Outcome.OK and run.detail == {"deleted": 1}
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.deleted_at is not None and old.path == "" and not old_file.exists()
    assert old.deletion_reason == export.EXPIRED_REASON
    assert old.history.first().history_change_reason.startswith("File deleted")
    assert young.deleted_at is None and private_path(young.path).exists()
    # Running again changes nothing.
    assert JobRun.objects.get(pk=delete_expired_exports()).detail == {"deleted": 0}


def test_the_deletion_job_is_on_the_nightly_schedule():
    from privacy_portal.retention import rule
    from privacy_portal.schedule import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"privacy_portal.tasks.apply_retention_schedule", "requests.tasks.send_case_reminders"} <= tasks
    assert rule("exports").service == "requests.services.retention.exports_delete_expired"


def test_notes_of_other_customers_cases_stay_out(case, handler, stranger):
    other_case = Case.objects.get(customer=stranger)
    CaseNote.objects.create(case=other_case, text="Zebedee's note", author=handler)
    files = unzip(built_export(actor=handler, case=case))
    assert b"Zebedee" not in b"".join(files.values())


def test_the_access_export_says_who_has_seen_the_data_naming_staff_by_role(case, handler, agent, settings, client_for):
    client = client_for(agent)
    client.get(reverse("customers:detail", args=[case.customer_id]))
    settings.EXPORT_NAMES_STAFF = False
    seen = json.loads(unzip(built_export(actor=handler, case=case))["personal_data.json"])
    rows = seen["data_sets"]["who_has_seen_your_data"]["records"]
    assert {"who": "Customer-care agent", "what": "Opened a customer record"}.items() <= rows[-1].items()
    assert agent.get_full_name() not in json.dumps(rows)


def test_the_dpo_may_choose_to_name_staff_in_who_has_seen_the_data(case, handler, agent, settings, client_for):
    client = client_for(agent)
    client.get(reverse("customers:detail", args=[case.customer_id]))
    settings.EXPORT_NAMES_STAFF = True
    seen = json.loads(unzip(built_export(actor=handler, case=case))["personal_data.json"])
    assert agent.get_full_name() in json.dumps(seen["data_sets"]["who_has_seen_your_data"]["records"])


# --- The export is the subject graph ---------------------------------------------------------------


def test_every_model_of_the_subject_graph_has_its_data_set_and_its_history_in_the_export():
    from django.apps import apps

    from customers.subject import COVERAGE

    live = {d.model for d in export.DATA_SETS if d.model and not d.history}
    history = {d.model for d in export.DATA_SETS if d.history}
    assert live == set(COVERAGE)
    assert history == {label for label in COVERAGE if hasattr(apps.get_model(label), "history")}


def test_the_access_export_holds_the_subject_graph_row_for_row(case, handler, dpo, agent):
    from django.apps import apps

    from customers.models import Call
    from customers.services.customers import customer_update_contact
    from customers.subject import subject_records
    from requests.models import ReminderKey
    from requests.services import complaints

    customer = case.customer
    former = customer.phone
    customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=customer.version, reason="New number",
        phone="07912 555777",
    )  # fmt: skip
    from_former_number = CallFactory(customer=None, customer_number=former, transcript="Caller: my old phone")
    CallFactory(customer=None, customer_number="+447912000001", transcript="Caller: someone else")
    svc.case_request_clarification(actor=handler, case=case, question="Which years?")
    svc.case_clarification_received(actor=handler, case=case)
    CaseDocument.objects.create(case=case, kind="identity", path="", content_type="application/pdf", size=3)
    ReminderKey.objects.create(case=case, key=f"case:{case.pk}:7d")
    CaseCorrespondence.objects.create(
        case=case, occurred_on=timezone.localdate(), direction="outbound", medium="letter", summary="Asked which years"
    )
    AccessEvent.objects.create(user=handler, action=AccessEvent.Action.VIEW_CUSTOMER, customer_id=customer.pk)
    complaint = complaints.complaint_log(
        actor=agent, received_on=timezone.localdate(), channel="email", category="request_handling",
        description="Too slow", customer=customer, cases=[case],
    )  # fmt: skip
    complaints.complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    complaints.complaint_acknowledge(actor=handler, complaint=complaint, on=timezone.localdate())
    complaints.complaint_escalate(
        actor=dpo, complaint=complaint, ico_reference="IC-777", contacted_on=timezone.localdate(),
        contact_method="email", requested="The request's file", caseworker="A. Caseworker",
        deadlines=[("Send the file", timezone.localdate() + datetime.timedelta(days=14))],
    )  # fmt: skip
    from requests.services import breaches

    breach = breaches.breach_report(
        actor=agent, summary="Parcel sent to the wrong address", what_happened="Misdirected", aware_at=timezone.now()
    )
    breaches.breach_link_customers(actor=dpo, breach=breach, customers=[customer])
    from customers.models_screening import MpsFile, MpsMatch
    from customers.services.mps import customer_record_bereavement

    mps_file = MpsFile.objects.create(
        name="mps.txt", sha256="0" * 64, format="fixed", lines=1, removals=0, deceased=1, matched=1, loaded_by=dpo
    )
    match = MpsMatch.objects.create(
        customer=customer, mps_file=mps_file, line=1, flag="X", requested_on=timezone.localdate()
    )
    customer_record_bereavement(
        actor=dpo, customer=customer, source="mps_file", reported_on=timezone.localdate(), mps_match=match
    )

    files = export.export_files(Case.objects.get(pk=case.pk))
    graph = subject_records(customer)
    sets = {name: d["records"] for name, d in json.loads(files["personal_data.json"])["data_sets"].items()}
    for data_set in export.DATA_SETS:
        if not data_set.model:
            continue
        model = apps.get_model(data_set.model)
        expected = list(graph.history(model) if data_set.history else graph.rows(model))
        assert len(sets[data_set.name]) == len(expected), data_set.name
        if data_set.history:
            assert [r["changed_at"] for r in sets[data_set.name]] == [export.plain(h.history_date) for h in expected], (
                data_set.name
            )
        assert len(read_csv(files[f"csv/{data_set.name}.csv"])) == len(expected)
    # Something in every data set: the comparison above compared real rows.
    assert [d.name for d in export.DATA_SETS if not sets[d.name]] == []
    assert from_former_number.pk in graph.ids(Call)
    assert "Caller: my old phone" in [c["transcript"] for c in sets["calls"]]
    assert "Caller: someone else" not in [c["transcript"] for c in sets["calls"]]
    assert sets["ico_cases"][0]["caseworker"] == "A. Caseworker"
    assert sets["ico_cases"][0]["requested"] == "The request's file"
    assert sets["ico_deadlines"][0]["what"] == "Send the file"
    assert sets["rights_request_clock_stops"][0]["question"] == "Which years?"
    assert sets["complaints"][0]["acknowledge_by"]
    assert {r["reference"] for r in sets["rights_requests"]} == {case.reference}
