"""The access log: every read recorded with ids only; "who has seen my data?"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_who_has_seen_my_data_lists_openings_and_searches_that_returned_the_customer(client_for, agent, dpo):
    ann = CustomerFactory(last_name="Quigglesworth", email="ann.q@example.co.uk")
    other = CustomerFactory()
    client = client_for(agent)
    client.get(reverse("customers:detail", args=[ann.pk]))
    client.get(reverse("customers:search"), {"q": "quigglesworth"})
    client.get(reverse("customers:detail", args=[other.pk]))
    client = client_for(dpo)
    response = client.get(reverse("customer_access", args=[ann.pk]))
    assert response.status_code == 200
    events = response.context["events"]
    assert {(e.user_id, e.action) for e in events} == {(agent.pk, "view_customer"), (agent.pk, "search")}
    body = response.content.decode()
    assert "quigglesworth" not in body.lower() and "ann.q@" not in body


def test_the_log_holds_no_personal_values(client_for, agent):
    ann = CustomerFactory(last_name="Zanzibarova", email="zz@example.co.uk", phone="+447911123456")
    client = client_for(agent)
    for term in ("zanzibarova", "zz@example.co.uk", "07911 123456"):
        client.get(reverse("customers:search"), {"q": term})
    client.get(reverse("customers:detail", args=[ann.pk]))
    dumped = " ".join(str(v) for e in AccessEvent.objects.values() for v in e.values()).lower()
    assert "zanzibarova" not in dumped and "zz@example" not in dumped and "7911123456" not in dumped


def test_everything_a_member_of_staff_opened(client_for, agent, dpo):
    ann = CustomerFactory()
    client = client_for(agent)
    client.get(reverse("customers:detail", args=[ann.pk]))
    client = client_for(dpo)
    response = client.get(reverse("staff_access", args=[agent.pk]))
    assert response.status_code == 200
    assert [e.customer_id for e in response.context["events"]] == [ann.pk]


@pytest.mark.parametrize(
    ("role", "status"), [("dpo", 200), ("auditor", 200), ("agent", 403), ("handler", 403), ("itadmin", 403)]
)
def test_access_log_pages_by_role(client_for, cast, role, status):
    client = client_for(cast[role])
    assert client.get(reverse("staff_access", args=[cast["agent"].pk])).status_code == status
    assert client.get(reverse("customer_access", args=[CustomerFactory().pk])).status_code == status


def test_access_events_cannot_be_changed_or_deleted_through_the_application(agent):
    event = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=1)
    event.customer_id = 2
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_forbidden_attempts_are_logged_without_content(client_for, auditor, caplog):
    import logging

    customer = CustomerFactory()
    client = client_for(auditor)
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client.post(reverse("customers:edit", args=[customer.pk]), {"first_name": "Hacked"})
    assert response.status_code == 403
    assert f"forbidden user_id={auditor.pk}" in caplog.text and "Hacked" not in caplog.text


def test_a_day_of_activity_leaves_no_personal_value_in_the_access_log(
    client_for, agent, handler, dpo, settings, tmp_path
):
    """Searches, openings, transcripts, history, case pages, exports, break-glass: ids only."""
    from django.utils import timezone

    from customers.services.preferences import preference_record
    from requests.services import cases as case_services
    from requests.services.export import export_build
    from tests.factories import CallFactory

    settings.PRIVATE_STORAGE_ROOT = tmp_path
    ann = CustomerFactory(first_name="Philippa", last_name="Zanzibarova", email="pz@example.co.uk",
                          phone="+447911123456", postcode="SE5 9DF", address_line1="7 Quince Lane")  # fmt: skip
    call = CallFactory(customer=ann, transcript="Philippa Zanzibarova asked about her order")
    client = client_for(agent)
    for term in ("Zanzibarova", "Philippa Zanzibarova", "pz@example.co.uk", "07911 123456", "se5 9df", ann.reference):
        client.get(reverse("customers:search"), {"q": term})
    client.get(reverse("customers:detail", args=[ann.pk]))
    client.get(reverse("customers:edit", args=[ann.pk]))
    client.get(reverse("customers:history", args=[ann.pk]))
    preference_record(actor=agent, customer=ann, purpose="direct_marketing", channel="post", granted=False,
                      source="phone_call")  # fmt: skip
    (case,) = case_services.case_log(
        actor=agent, rights=["access"], channel="phone", received_on=timezone.localdate(), customer=ann
    )
    case_services.case_assign(actor=dpo, case=case, handler=handler)
    case_services.case_start(actor=handler, case=case)
    client = client_for(handler)
    client.get(reverse("requests:case", args=[case.pk]))
    client.get(reverse("customers:calls", args=[ann.pk]))
    client.get(reverse("customers:call_transcript", args=[call.pk]))
    doc = export_build(actor=handler, case=case)
    client.get(reverse("requests:document", args=[case.pk, doc.pk]))
    other = CustomerFactory()
    reason = "Caller says her case is with a colleague on leave"
    client.post(reverse("customers:break_glass"), {"reference": other.reference, "reason": reason})
    client = client_for(dpo)
    client.get(reverse("customer_access", args=[ann.pk]))
    assert AccessEvent.objects.count() >= 12
    dumped = " ".join(str(v) for e in AccessEvent.objects.values() for v in e.values()).lower()
    for value in ("philippa", "zanzibarova", "pz@example", "7911123456", "07911 123456", "se5 9df", "quince"):
        assert value not in dumped, value
