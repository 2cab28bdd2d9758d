"""The DPO edits the words of the messages sent to the public: each edit a new version with its
history, used by the next message sent (which records the version); others may not edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests.models import CaseCorrespondence, MessageTemplate
from tests.fixtures.complaint_form import complaint_data

EDIT = reverse("requests:message_template", args=["complaint_ack"])


@pytest.mark.django_db
def test_the_dpo_edits_a_template_and_the_next_message_uses_the_new_version(
    client,
    client_for,
    dpo,
    smtp_server,
):
    staff = client_for(dpo)
    assert staff.get(reverse("requests:message_templates")).status_code == 200
    response = staff.post(
        EDIT,
        {
            "subject": "Complaint ${reference} received",
            "body": "Dear complainant, ref ${reference}.",
            "reason": "Plainer",
        },
    )
    assert response.status_code == 302
    template = MessageTemplate.objects.get(key="complaint_ack")
    assert template.version == 2 and template.history.count() == 2
    assert template.history.first().history_change_reason == "Plainer"
    staff.logout()
    client.post(reverse("public_requests:complaint"), complaint_data())
    (message,) = smtp_server.wait_for("jane.public@example.org")
    assert message["Subject"].startswith("Complaint CP-") and "Dear complainant" in smtp_server.body(message)
    assert CaseCorrespondence.objects.get().template_version == 2


@pytest.mark.django_db
def test_an_unknown_placeholder_is_refused_naming_the_field(client_for, dpo):
    response = client_for(dpo).post(EDIT, {"subject": "Hi ${password}", "body": "Text", "reason": "x"})
    assert response.status_code == 200
    assert "Subject line" in response.content.decode() and "Unknown placeholder" in response.content.decode()
    assert MessageTemplate.objects.get(key="complaint_ack").version == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin"])
def test_only_the_dpo_edits_the_templates(client_for, cast, role):
    client = client_for(cast[role])
    assert client.post(EDIT, {"subject": "x", "body": "y", "reason": "z"}).status_code == 403
    expected = 200 if role == "auditor" else 403
    assert client.get(reverse("requests:message_templates")).status_code == expected
