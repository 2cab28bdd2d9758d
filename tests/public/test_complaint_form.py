"""The public complaint form (DPA 2018 s164A(2)): filed, acknowledged by email at once through a
real SMTP server, recorded as the acknowledgement; abuse refused with nothing stored."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from requests.models import Case, CaseCorrespondence, Complaint
from tests.factories import CaseFactory
from tests.fixtures.complaint_form import complaint_data

URL = reverse("public_requests:complaint")


@pytest.mark.django_db
def test_a_complaint_filed_on_the_form_is_acknowledged_by_email_at_once(client, smtp_server):
    response = client.post(URL, complaint_data())
    assert response.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.channel == Case.Channel.WEB_FORM
    assert complaint.logged_by is None
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.acknowledged_on == complaint.received_on == timezone.localdate()
    assert complaint.remedy_sought == "Stop, and explain why."
    assert complaint.reference in response.content.decode()

    (message,) = smtp_server.wait_for("jane.public@example.org")
    assert complaint.reference in message["Subject"]
    body = smtp_server.body(message)
    assert complaint.reference in body and "What happens next" in body

    item = CaseCorrespondence.objects.get(complaint=complaint)
    assert item.delivery == CaseCorrespondence.Delivery.SENT
    assert item.direction == "outbound" and item.medium == "email" and item.sent_at is not None
    assert item.template_key == "complaint_ack" and item.template_version == 1
    assert complaint.history.filter(status="acknowledged").exists()


@pytest.mark.django_db
def test_a_bounced_acknowledgement_is_recorded_and_the_complaint_stays_to_acknowledge(client, smtp_server):
    smtp_server.refuse.add("nobody@example.org")
    client.post(URL, complaint_data(email="nobody@example.org"))
    complaint = Complaint.objects.get()
    assert complaint.status == Complaint.Status.RECEIVED and complaint.acknowledged_on is None
    assert CaseCorrespondence.objects.get(complaint=complaint).delivery == CaseCorrespondence.Delivery.BOUNCED


@pytest.mark.django_db
def test_someone_complaining_for_another_person_must_say_how_they_are_related(client):
    response = client.post(URL, complaint_data(who="other", on_behalf_of="Mum"))
    assert response.status_code == 200
    assert "How you are related to them" in response.content.decode()
    assert not Complaint.objects.exists()
    client.post(URL, complaint_data(who="other", on_behalf_of="Ann Public", relationship="Daughter"))
    complaint = Complaint.objects.get()
    assert (complaint.on_behalf_of, complaint.complainant_relationship) == ("Ann Public", "Daughter")


@pytest.mark.django_db
def test_a_request_reference_links_only_a_request_of_the_same_person_and_the_answer_never_says(client):
    mine = CaseFactory(requester_name="Jane Public", requester_email="jane.public@example.org", customer=None)
    other = CaseFactory(requester_name="Someone Else", requester_email="else@example.org", customer=None)
    answers = []
    for reference in (mine.reference, other.reference, "R-2099-99999"):
        response = client.post(URL, complaint_data(request_reference=reference))
        answers.append(response.content.decode().replace(Complaint.objects.latest("pk").reference, "REF"))
    assert answers[0] == answers[1] == answers[2]
    first, second, third = Complaint.objects.order_by("pk")
    assert list(first.cases.all()) == [mine]
    assert not second.cases.exists() and other.reference in second.description
    assert not third.cases.exists()


@pytest.mark.django_db
def test_html_and_script_typed_in_the_form_stay_inert_in_the_staff_page_and_the_email(
    client,
    client_for,
    dpo,
    smtp_server,
):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(URL, complaint_data(name=f"Jane {script}", description=f"Bad {script}"))
    complaint = Complaint.objects.get()
    page = client_for(dpo).get(complaint.get_absolute_url()).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    (message,) = smtp_server.wait_for("jane.public@example.org")
    assert message.get_content_type() == "text/plain"


@pytest.mark.django_db
def test_the_honeypot_filled_in_stores_nothing_and_is_logged_without_content(client, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client.post(URL, complaint_data(website="http://spam.example"))
    assert response.status_code == 400
    assert not Complaint.objects.exists()
    assert "honeypot" in caplog.text
    assert "spam.example" not in caplog.text and "Jane" not in caplog.text


@pytest.mark.django_db
def test_the_form_page_shows_no_staff_navigation_and_works_signed_out(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign out" not in html and 'aria-label="Main"' not in html
    assert "Make a complaint" in html and 'name="website"' in html


@pytest.mark.django_db
def test_the_form_answers_get_and_post_only(client):
    assert client.put(URL).status_code == 405


@pytest.mark.django_db
def test_a_phone_number_typed_on_the_complaint_form_is_stored_in_e164_and_an_extension_is_refused(client):
    client.post(URL, complaint_data(phone="07911 123456"))
    assert Complaint.objects.get().complainant_phone == "+447911123456"
    response = client.post(URL, complaint_data(email="second@example.org", phone="020 7946 0000 x12"))
    assert response.status_code == 200 and "extension" in response.content.decode()
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_an_acknowledgement_that_bounces_later_is_not_the_acknowledgement(
    client,
    client_for,
    dpo,
    smtp_server,
):
    """The mail server took it (recorded as acknowledged), then the provider reports a bounce: it
    did not reach them, so the 30-day duty is not met by it. The complaint is back to acknowledge
    (the clock and the promise check count it so) and the handler is told to acknowledge another way."""
    from requests.selectors.complaints import complaint_dashboard
    from requests.services import messages

    client.post(URL, complaint_data())
    complaint = Complaint.objects.get()
    assert complaint.acknowledged_on is not None
    item = CaseCorrespondence.objects.get(complaint=complaint)
    assert messages.message_bounced(message_id=item.message_id)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RECEIVED and complaint.acknowledged_on is None
    assert complaint.history.first().history_change_reason == messages.ACK_BOUNCED_REASON
    counts = complaint_dashboard()
    assert counts["acknowledged_on_time"] == 0 and counts["acknowledgement_waiting"] == 1
    html = client_for(dpo).get(complaint.get_absolute_url()).content.decode()
    assert "Acknowledgement email bounced: acknowledge another way" in html
    # Told again (a redelivered report) changes nothing more.
    count = complaint.history.count()
    messages.message_bounced(message_id=item.message_id)
    assert complaint.history.count() == count


@pytest.mark.django_db
def test_a_bounce_after_the_handler_moved_the_complaint_on_leaves_it(client, smtp_server):
    from requests.services import messages

    client.post(URL, complaint_data())
    complaint = Complaint.objects.get()
    complaint.status = Complaint.Status.INVESTIGATING
    complaint.save()
    item = CaseCorrespondence.objects.get(complaint=complaint)
    messages.message_bounced(message_id=item.message_id)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING and complaint.acknowledged_on is not None


def test_the_public_complaint_service_names_every_field_it_takes():
    """Issue 15 (c): complaint_file_public takes the form's fields as named keyword parameters,
    never **details, so an unknown field fails at the call and mypy checks each one."""
    import inspect

    from requests.services.public import complaint_file_public

    public = inspect.signature(complaint_file_public).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in public.values())
    assert list(public) == [
        "name", "email", "phone", "address", "on_behalf", "on_behalf_of", "relationship", "category", "description",
        "remedy", "request_reference"]  # fmt: skip
    assert {n for n, p in public.items() if p.default is inspect.Parameter.empty} == {
        "name", "email", "category", "description"}  # fmt: skip
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        complaint_file_public(name="A", email="a@example.org", category="x", description="y", colour="red")
