"""Complaint pages by role: logging, the list, the complaint page and its actions, the ICO
panel, correspondence on complaints and requests, the bundle download, "complaints I logged"."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import ERR_TYPE
from requests.models import CaseCorrespondence, Complaint, IcoCase
from requests.services import cases as case_svc
from requests.services import complaints as svc
from requests.services import workflow
from requests.services.correspondence import correspondence_add
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory
from tests.fixtures.access_log import (
    assert_form_hides_the_customer_unrecorded,
    assert_form_records_the_customer_read,
    assert_list_records_whom_it_showed,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)
PDF = b"%PDF-1.4\n" + b"0" * 64
ROLES = ["agent", "handler", "other_handler", "dpo", "auditor", "itadmin", "nobody"]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def complaint(dpo, handler):
    return svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)


def d(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def act(client, complaint, action, **data):
    return client.post(reverse("requests:complaint_action", args=[complaint.pk, action]), data, follow=True)


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- logging -----------------------------------------------------------------------------


def test_agent_logs_a_complaint_from_a_caller_and_sees_only_its_status(client_for, agent):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    client = client_for(agent)
    url = reverse("requests:complaint_new") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"customer_id": customer.pk, "received_on": d(TODAY()), "channel": "phone", "category": "marketing",
         "description": "Still getting calls.", "case_references": case.reference.lower()},
        follow=True,
    )  # fmt: skip
    complaint = Complaint.objects.get()
    assert response.redirect_chain[-1][0] == reverse("requests:complaints_logged")
    body = response.content.decode()
    assert complaint.reference in body and "Received" in body and "Marketing after opting out" in body
    assert list(complaint.cases.all()) == [case] and complaint.logged_by == agent
    assert f"acknowledged by {complaint.acknowledge_by:%-d %B %Y}" in page_messages(response)[0]
    # The status, not the complaint.
    assert client.get(reverse("requests:complaint", args=[complaint.pk])).status_code == 404


def test_a_complaint_with_bad_input_names_the_fields_and_logs_nothing(client_for, agent):
    client = client_for(agent)
    response = client.post(
        reverse("requests:complaint_new"),
        {"received_on": d(TODAY() + DAY), "channel": "phone", "category": "other", "description": "x"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in body
    assert svc.ERR_RECEIVED_FUTURE in body and svc.ERR_WHO.replace("'", "&#x27;") in body
    assert not Complaint.objects.exists()


def test_an_unknown_request_reference_is_refused(client_for, agent):
    client = client_for(agent)
    response = client.post(
        reverse("requests:complaint_new"),
        {"received_on": d(TODAY()), "channel": "phone", "category": "other", "description": "x",
         "complainant_name": "Ann Caller", "case_references": "R-2026-99999"},
    )  # fmt: skip
    assert svc.ERR_CASE_UNKNOWN.format(reference="R-2026-99999") in response.content.decode()
    assert not Complaint.objects.exists()


def test_a_handler_who_logs_a_complaint_lands_on_its_list(client_for, handler):
    client = client_for(handler)
    response = client.post(
        reverse("requests:complaint_new"),
        {"received_on": d(TODAY()), "channel": "email", "category": "other", "description": "x",
         "complainant_name": "Ann Caller"},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == reverse("requests:complaints")


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 200), ("handler", 200), ("dpo", 200), ("auditor", 403), ("itadmin", 403), ("nobody", 403)],
)
def test_logging_page_access_by_role(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("requests:complaint_new")).status_code == status


def test_logging_page_rejects_other_methods(client_for, agent):
    client = client_for(agent)
    assert client.put(reverse("requests:complaint_new")).status_code == 405


# --- the list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 403), ("handler", 200), ("other_handler", 200), ("dpo", 200), ("auditor", 200), ("itadmin", 403),
     ("nobody", 403)],
)  # fmt: skip
def test_list_access_by_role(client_for, cast, complaint, role, status):
    client = client_for(cast[role])
    response = client.get(reverse("requests:complaints"))
    assert response.status_code == status
    if status == 200:
        sees = complaint.reference in response.content.decode()
        assert sees == (role in ("handler", "dpo", "auditor"))


def test_list_filters_by_status_category_overdue_acknowledgement_and_ico(client_for, dpo):
    overdue = ComplaintFactory(received_on=TODAY() - 40 * DAY, category="security")
    fresh = ComplaintFactory(category="marketing")
    escalated = ComplaintFactory(category="accuracy")
    svc.complaint_acknowledge(actor=dpo, complaint=escalated, on=TODAY())
    svc.complaint_escalate(actor=dpo, complaint=escalated, ico_reference="IC-1", contacted_on=TODAY(),
                           contact_method="letter", requested="Everything")  # fmt: skip
    client = client_for(dpo)
    url = reverse("requests:complaints")

    def refs(**query):
        body = client.get(url, query).content.decode()
        return {c.reference for c in (overdue, fresh, escalated) if c.reference in body}

    assert refs() == {overdue.reference, fresh.reference, escalated.reference}
    assert refs(ack_overdue="on") == {overdue.reference}
    assert refs(ico="on") == {escalated.reference}
    assert refs(category="marketing") == {fresh.reference}
    assert refs(status="escalated") == {escalated.reference}
    body = client.get(url).content.decode()
    assert "1 acknowledgement overdue" in body and "1 with the ICO" in body


@pytest.mark.slow  # bench-like: the list grown to compare query counts
def test_the_list_runs_a_fixed_number_of_queries(client_for, dpo, handler, django_assert_max_num_queries):
    for _ in range(25):
        svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    client = client_for(dpo)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("requests:complaints")).status_code == 200


def test_list_rejects_post(client_for, dpo):
    client = client_for(dpo)
    assert client.post(reverse("requests:complaints")).status_code == 405


# --- the complaint page ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 404), ("handler", 200), ("other_handler", 404), ("dpo", 200), ("auditor", 200), ("itadmin", 404),
     ("nobody", 403)],
)  # fmt: skip
def test_complaint_page_access_by_role(client_for, cast, complaint, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("requests:complaint", args=[complaint.pk])).status_code == status


def test_complaint_page_shows_the_deadline_and_records_the_read(client_for, handler, complaint):
    client = client_for(handler)
    body = client.get(reverse("requests:complaint", args=[complaint.pk])).content.decode()
    assert f"{complaint.acknowledge_by:%-d %b %Y}" in body and "Record the acknowledgement" in body
    event = AccessEvent.objects.get(user=handler)
    assert (event.action, event.customer_id, event.object_id) == ("view_case", complaint.customer_id, complaint.pk)


def test_auditors_see_the_page_without_any_action(client_for, auditor, complaint):
    client = client_for(auditor)
    body = client.get(reverse("requests:complaint", args=[complaint.pk])).content.decode()
    assert "Nothing for you to do on this complaint." in body
    assert "complaint_action" not in body and "/act/" not in body


def test_complaint_page_rejects_post(client_for, dpo, complaint):
    client = client_for(dpo)
    assert client.post(reverse("requests:complaint", args=[complaint.pk])).status_code == 405


# --- actions -----------------------------------------------------------------------------


def test_handler_acknowledges_through_the_page(client_for, handler, complaint):
    client = client_for(handler)
    response = act(client, complaint, "acknowledge", on=d(TODAY()))
    assert page_messages(response) == ["Acknowledgement recorded."]
    complaint.refresh_from_db()
    assert complaint.status == "acknowledged" and complaint.acknowledged_on == TODAY()


def test_an_acknowledgement_before_receipt_is_refused_with_a_message(client_for, handler, complaint):
    client = client_for(handler)
    response = act(client, complaint, "acknowledge", on=d(complaint.received_on - DAY))
    assert page_messages(response) == [
        "Date acknowledged: " + svc.ERR_ACK_BEFORE_RECEIPT.format(received=f"{complaint.received_on:%-d %B %Y}")
    ]
    complaint.refresh_from_db()
    assert complaint.status == "received"


def test_a_forbidden_jump_through_the_page_is_refused_with_a_message(client_for, handler, complaint):
    client = client_for(handler)
    response = act(client, complaint, "respond", on=d(TODAY()), summary="Done")
    assert page_messages(response) == [workflow.ERR_COMPLAINT_MOVE.format(current="Received", target="Responded")]
    complaint.refresh_from_db()
    assert complaint.status == "received"


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 403), ("handler", 302), ("other_handler", 403), ("dpo", 302), ("auditor", 403), ("itadmin", 403),
     ("nobody", 403)],
)  # fmt: skip
def test_only_the_handler_or_the_dpo_may_act(client_for, cast, complaint, role, status):
    client = client_for(cast[role])
    response = client.post(reverse("requests:complaint_action", args=[complaint.pk, "acknowledge"]), {"on": d(TODAY())})
    assert response.status_code == status
    complaint.refresh_from_db()
    assert (complaint.status == "acknowledged") == (status == 302)


def test_a_handler_with_another_complaint_gets_404_on_this_one(client_for, dpo, other_handler, complaint):
    svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=other_handler)
    client = client_for(other_handler)
    response = client.post(reverse("requests:complaint_action", args=[complaint.pk, "acknowledge"]), {"on": d(TODAY())})
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["assign", "target", "conclude_review", "escalate", "ico_deadline", "ico_outcome"])
def test_the_handler_cannot_do_what_only_the_dpo_does(client_for, handler, complaint, action):
    client = client_for(handler)
    assert client.post(reverse("requests:complaint_action", args=[complaint.pk, action]), {}).status_code == 403


def test_actions_need_post_and_unknown_ones_are_404(client_for, handler, complaint):
    client = client_for(handler)
    assert client.get(reverse("requests:complaint_action", args=[complaint.pk, "acknowledge"])).status_code == 405
    assert client.post(reverse("requests:complaint_action", args=[complaint.pk, "teleport"])).status_code == 404


def test_dpo_sets_the_target_and_reassigns(client_for, dpo, other_handler, complaint):
    client = client_for(dpo)
    act(client, complaint, "target", due_on=d(TODAY() + 20 * DAY))
    act(client, complaint, "assign", handler=other_handler.pk)
    complaint.refresh_from_db()
    assert complaint.response_due_on == TODAY() + 20 * DAY and complaint.handler == other_handler


def test_dpo_escalates_through_the_ico_panel_and_a_past_deadline_is_refused(client_for, dpo, complaint):
    svc.complaint_acknowledge(actor=dpo, complaint=complaint, on=TODAY())
    client = client_for(dpo)
    data = {
        "ico_reference": "IC-777-X",
        "contacted_on": d(TODAY()),
        "contact_method": "email",
        "requested": "Our response",
        "deadline_what": "Our response",
        "deadline_due_on": d(TODAY() - DAY),
    }
    response = act(client, complaint, "escalate", **data)
    assert page_messages(response) == ["Due on: " + svc.ERR_ICO_DEADLINE_PAST]
    assert not IcoCase.objects.exists()
    response = act(client, complaint, "escalate", **{**data, "deadline_due_on": d(TODAY() + 10 * DAY)})
    assert page_messages(response) == ["Escalation to the ICO recorded (IC-777-X)."]
    ico = IcoCase.objects.get()
    act(client, complaint, "ico_deadline", what="Call recording", due_on=d(TODAY() + 20 * DAY))
    first = ico.deadlines.order_by("due_on").first()
    act(client, complaint, "ico_answer", deadline=first.pk, on=d(TODAY()))
    first.refresh_from_db()
    assert ico.deadlines.count() == 2 and first.answered_on == TODAY()
    body = client.get(reverse("requests:complaint", args=[complaint.pk])).content.decode()
    assert "IC-777-X" in body and "Call recording" in body and "Record the ICO's outcome" in body


def test_answering_a_deadline_of_another_complaint_is_answered_404_as_for_none(client_for, dpo, auditor, complaint):
    """The deadline is fetched through requests.access.ico_deadline_for, within the complaint named."""
    other = ComplaintFactory()
    for c in (complaint, other):
        svc.complaint_acknowledge(actor=dpo, complaint=c, on=TODAY())
        svc.complaint_escalate(actor=dpo, complaint=c, ico_reference="IC-9", contacted_on=TODAY(),
                               contact_method="email", requested="x", deadlines=[("x", TODAY() + DAY)])  # fmt: skip
    theirs = other.ico_case.deadlines.get()
    client = client_for(dpo)
    response = act(client, complaint, "ico_answer", deadline=theirs.pk, on=d(TODAY()))
    assert response.status_code == 404
    assert act(client, complaint, "ico_answer", deadline=theirs.pk + 1000, on=d(TODAY())).status_code == 404
    theirs.refresh_from_db()
    assert theirs.answered_on is None
    # Through its own complaint it is answered; a reader is refused (403) whatever it names.
    assert page_messages(act(client, other, "ico_answer", deadline=theirs.pk, on=d(TODAY()))) == [
        "Answer to the ICO recorded."
    ]
    assert act(client_for(auditor), other, "ico_answer", deadline=theirs.pk, on=d(TODAY())).status_code == 403


def test_linking_a_request_through_the_page(client_for, handler, complaint):
    case = CaseFactory(customer=complaint.customer)
    client = client_for(handler)
    act(client, complaint, "link_case", reference=case.reference)
    response = act(client, complaint, "link_case", reference="R-2026-00000")
    assert page_messages(response) == ["Request reference: " + svc.ERR_CASE_UNKNOWN.format(reference="R-2026-00000")]
    assert list(complaint.cases.all()) == [case]


# --- correspondence ----------------------------------------------------------------------


def test_handler_records_correspondence_with_a_pdf_and_a_fake_one_is_refused(client_for, handler, complaint):
    client = client_for(handler)
    base = {"occurred_on": d(TODAY()), "direction": "inbound", "medium": "letter", "summary": "Letter of complaint"}
    response = act(client, complaint, "correspondence", **base,
                   attachment=SimpleUploadedFile("letter.pdf", b"<html>not a pdf</html>"))  # fmt: skip
    assert page_messages(response) == ["Attachment: " + ERR_TYPE]
    assert not CaseCorrespondence.objects.exists()
    response = act(client, complaint, "correspondence", **base, attachment=SimpleUploadedFile("letter.pdf", PDF))
    assert page_messages(response) == ["Correspondence recorded."]
    item = CaseCorrespondence.objects.get()
    assert "Letter of complaint" in response.content.decode()
    assert reverse("requests:complaint_correspondence", args=[complaint.pk, item.pk]) in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 404), ("handler", 200), ("other_handler", 404), ("dpo", 200), ("auditor", 200), ("itadmin", 404),
     ("nobody", 403)],
)  # fmt: skip
def test_attachments_are_served_only_to_those_who_see_the_complaint_and_recorded(
    client_for, cast, complaint, role, status, django_capture_on_commit_callbacks
):
    # The file is written once its row commits (private_storage.write_after_commit): run the callbacks.
    with django_capture_on_commit_callbacks(execute=True):
        item = correspondence_add(actor=cast["dpo"], complaint=complaint, occurred_on=TODAY(), direction="inbound",
                                  medium="email", summary="x", upload=SimpleUploadedFile("a.pdf", PDF))  # fmt: skip
    client = client_for(cast[role])
    response = client.get(reverse("requests:complaint_correspondence", args=[complaint.pk, item.pk]))
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF
        assert response["Cache-Control"] == "private, no-store"
        event = AccessEvent.objects.get(user=cast[role])
        assert (event.action, event.object_id, event.customer_id) == ("export", item.pk, complaint.customer_id)
    assert client.post(reverse("requests:complaint_correspondence", args=[complaint.pk, item.pk])).status_code in (
        403,
        405,
    )


def test_correspondence_on_a_rights_request_from_the_case_page(
    client_for, dpo, handler, auditor, django_capture_on_commit_callbacks
):
    case = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    client = client_for(handler)
    url = reverse("requests:case_correspondence_add", args=[case.pk])
    png = SimpleUploadedFile("e.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    data = {"occurred_on": d(TODAY()), "direction": "outbound", "medium": "email", "summary": "Sent the export link"}
    # The attachment's file is written once its row commits (private_storage.write_after_commit).
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**data, "attachment": png}, follow=True)
    assert page_messages(response) == ["Correspondence recorded."]
    item = CaseCorrespondence.objects.get(case=case)
    body = response.content.decode()
    assert "Sent the export link" in body and "Record a letter, email or call" in body
    assert client.get(url).status_code == 405
    client = client_for(auditor)
    assert client.post(url, {}).status_code == 403
    body = client.get(reverse("requests:case", args=[case.pk])).content.decode()
    assert "Sent the export link" in body and "Record a letter, email or call" not in body
    download = client.get(reverse("requests:case_correspondence", args=[case.pk, item.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "image/png"


def test_case_correspondence_access_by_role(client_for, cast, dpo, handler):
    case = case_svc.case_assign(actor=dpo, case=CaseFactory(), handler=handler)
    url = reverse("requests:case_correspondence_add", args=[case.pk])
    data = {"occurred_on": d(TODAY()), "direction": "inbound", "medium": "phone", "summary": "Called"}
    expected = {"agent": 403, "handler": 302, "other_handler": 403, "dpo": 302, "auditor": 403, "itadmin": 403,
                "nobody": 403}  # fmt: skip
    for role, status in expected.items():
        client = client_for(cast[role])
        assert client.post(url, data).status_code in ((404, 403) if status == 403 else (status,)), role
    assert CaseCorrespondence.objects.count() == 2


# --- the bundle --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 403), ("handler", 403), ("other_handler", 403), ("dpo", 200), ("auditor", 200), ("itadmin", 403),
     ("nobody", 403)],
)  # fmt: skip
def test_bundle_download_by_role_is_recorded_as_a_read(client_for, cast, complaint, role, status):
    client = client_for(cast[role])
    response = client.get(reverse("requests:complaint_bundle", args=[complaint.pk]))
    assert response.status_code == status
    events = AccessEvent.objects.filter(user=cast[role], action="export")
    if status == 200:
        assert response["Content-Type"] == "application/zip"
        assert f'filename="{complaint.reference}-bundle.zip"' in response["Content-Disposition"]
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert f"{complaint.reference}-report.pdf" in names
        event = events.get()
        assert (event.object_type, event.object_id, event.customer_id) == (
            "requests.Complaint",
            complaint.pk,
            complaint.customer_id,
        )
    else:
        assert not events.exists()


def test_bundle_rejects_post(client_for, dpo, complaint):
    client = client_for(dpo)
    assert client.post(reverse("requests:complaint_bundle", args=[complaint.pk])).status_code == 405


# --- complaints I logged and navigation --------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 200), ("handler", 403), ("dpo", 200), ("auditor", 200), ("itadmin", 403), ("nobody", 403)],
)
def test_logged_page_access_by_role(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("requests:complaints_logged")).status_code == status


def test_logged_page_lists_only_what_the_agent_logged(client_for, agent, dpo):
    mine = svc.complaint_log(actor=agent, complainant_name="Ann Caller", received_on=TODAY(), channel="phone",
                             category="other", description="Secret details")  # fmt: skip
    theirs = svc.complaint_log(actor=dpo, complainant_name="Bob Caller", received_on=TODAY(), channel="post",
                               category="other", description="x")  # fmt: skip
    client = client_for(agent)
    body = client.get(reverse("requests:complaints_logged")).content.decode()
    assert mine.reference in body and theirs.reference not in body
    assert "Secret details" not in body and "Ann Caller" not in body
    assert client.post(reverse("requests:complaints_logged")).status_code == 405


def test_navigation_and_customer_page_links_follow_permissions(client_for, agent, dpo, handler):
    customer = CustomerFactory()
    client = client_for(agent)
    body = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Complaints I logged" in body
    assert reverse("requests:complaint_new") + f"?customer={customer.pk}" in body
    assert reverse("requests:complaints") + '"' not in body
    client = client_for(dpo)
    body = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("requests:complaints")}"' in body and "Complaints I logged" not in body
    client = client_for(handler)
    assert "My complaints" in client.get(reverse("home")).content.decode()


# --- the DPO's dashboard -----------------------------------------------------------------


def test_dpo_dashboard_counts_complaints_by_category_and_month_acknowledgements_and_ico_cases(client_for, dpo):
    from requests.selectors.complaints import complaint_dashboard

    on_time = ComplaintFactory(category="marketing", received_on=TODAY() - 3 * DAY)
    svc.complaint_acknowledge(actor=dpo, complaint=on_time, on=TODAY())
    late = ComplaintFactory(category="marketing", received_on=TODAY() - 40 * DAY)
    svc.complaint_acknowledge(actor=dpo, complaint=late, on=TODAY())
    ComplaintFactory(category="security", received_on=TODAY() - 31 * DAY)  # overdue, not acknowledged
    ComplaintFactory(category="other")  # in time, not acknowledged
    svc.complaint_escalate(actor=dpo, complaint=on_time, ico_reference="IC-1", contacted_on=TODAY(),
                           contact_method="email", requested="x")  # fmt: skip
    old = ComplaintFactory(category="other", received_on=TODAY() - relativedelta(months=13))  # outside the window
    svc.complaint_acknowledge(actor=dpo, complaint=old, on=old.received_on)
    figures = complaint_dashboard()
    # Acknowledgements are counted over all time; the table covers the last 12 months.
    assert (figures["acknowledged_on_time"], figures["acknowledged_late"]) == (2, 1)
    assert (figures["acknowledgement_overdue"], figures["acknowledgement_waiting"]) == (1, 1)
    assert figures["ico_open"] == 1
    categories = [value for value, _ in figures["categories"]]
    total = {value: sum(row["counts"][i] for row in figures["months"]) for i, value in enumerate(categories)}
    assert (total["marketing"], total["security"], total["other"]) == (2, 1, 1)
    assert len(figures["months"]) <= 12
    client = client_for(dpo)
    body = client.get(reverse("home")).content.decode()
    assert "1 ICO case open" in body and "1 acknowledgement overdue" in body and "2 acknowledged on time" in body


def test_the_complaints_list_names_customers_so_opening_it_is_recorded_with_whom_it_showed(client_for, dpo, handler):
    mine = svc.complaint_assign(actor=dpo, complaint=ComplaintFactory(), handler=handler)
    assert_list_records_whom_it_showed(
        client_for(handler), reverse("requests:complaints"), user=handler, shown=mine, hidden=ComplaintFactory(),
        search_kind="complaints",
    )  # fmt: skip


def test_logging_a_complaint_for_a_named_customer_records_the_read_of_the_customer(client_for, agent):
    url = reverse("requests:complaint_new")
    assert_form_records_the_customer_read(client_for(agent), url, user=agent, customer=CustomerFactory())


def test_a_handler_cannot_log_a_complaint_for_a_customer_outside_its_cases(client_for, other_handler):
    url = reverse("requests:complaint_new")
    assert_form_hides_the_customer_unrecorded(
        client_for(other_handler), url, user=other_handler, customer=CustomerFactory()
    )


def test_a_new_complaint_customer_id_that_is_not_a_number_answers_not_found_rather_than_a_server_error(
    client_for, agent
):
    assert client_for(agent).get(reverse("requests:complaint_new"), {"customer": "abc"}).status_code == 404
