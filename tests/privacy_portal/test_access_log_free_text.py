"""Free text never lives in the append-only access log (issue 10 item 1): the break-glass reason
sits in a side table, the chain covers its salted commitment, erasure redacts it and the chain
still verifies."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from privacy_portal.audit import (
    TEXT_ALTERED,
    TEXT_MISSING,
    TEXT_REDACTED_UNRECORDED,
    free_text_commitment,
    kept_commitment,
    redact_free_text,
    verify_chain,
)
from privacy_portal.models import AccessEvent, AccessEventText
from tests.factories import CustomerFactory
from tests.fixtures.access_log import REASON, SURNAME, behind_the_apps_back, break_glass, chained
from tests.fixtures.erasure import erasure_case, find_everywhere, sign_off

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path


def test_the_reason_is_kept_beside_the_entry_and_the_chain_covers_its_salted_commitment(client_for, handler):
    customer = CustomerFactory(last_name=SURNAME)
    (event,) = chained(break_glass(client_for, handler, customer))
    row_values = " ".join(str(v) for v in AccessEvent.objects.filter(pk=event.pk).values().get().values())
    assert SURNAME not in row_values and "phoned" not in row_values
    text = AccessEventText.objects.get(event=event)
    assert text.text == REASON and event.reason == REASON
    assert event.reason_digest == free_text_commitment(bytes.fromhex(text.salt), REASON)
    assert event.content()["reason"] == event.reason_digest
    # Salted: the plain hash of the text (or of the surname) is not what the entry holds.
    assert event.reason_digest != hashlib.sha256(REASON.encode()).hexdigest()
    assert verify_chain().ok


def test_free_text_can_never_reach_the_chained_row_even_in_bulk(agent):
    event = AccessEvent.objects.create(user=agent, action="break_glass", customer_id=1, reason=REASON)
    assert AccessEventText.objects.get(event=event).text == REASON and event.reason_digest
    with pytest.raises(ValueError, match="one at a time"):
        AccessEvent.objects.bulk_create([AccessEvent(user=agent, action="break_glass", reason=REASON)])


def test_two_entries_with_the_same_reason_have_different_commitments(client_for, handler):
    first = break_glass(client_for, handler, CustomerFactory())
    second = break_glass(client_for, handler, CustomerFactory())
    assert first.reason_digest != second.reason_digest


def test_the_dpo_pages_show_the_reason_from_the_side_table(client_for, handler, dpo, django_assert_max_num_queries):
    customer = CustomerFactory()
    for _ in range(3):
        break_glass(client_for, handler, customer)
    client = client_for(dpo)
    assert REASON.encode() in client.get(reverse("home")).content
    with django_assert_max_num_queries(12):  # the reasons come with the entries, not one query each
        response = client.get(reverse("customer_access", args=[customer.pk]))
    assert response.content.count(b"handler is on leave") == 3


def test_altering_the_reason_behind_the_applications_back_is_reported(client_for, handler):
    (event,) = chained(break_glass(client_for, handler, CustomerFactory()))
    behind_the_apps_back(
        "UPDATE privacy_portal_accesseventtext SET text = 'Routine check' WHERE event_id = %s", [event.pk]
    )
    report = verify_chain()
    assert [(b.entry_id, b.problem) for b in report.breaks] == [(event.pk, TEXT_ALTERED)]
    with pytest.raises(CommandError, match="the text was altered"):
        call_command("verify_audit_log", stdout=io.StringIO())


def test_removing_the_reason_or_redacting_it_without_a_scrub_entry_is_reported(client_for, handler):
    removed = break_glass(client_for, handler, CustomerFactory())
    quietly_redacted = break_glass(client_for, handler, CustomerFactory())
    chained(removed, quietly_redacted)
    behind_the_apps_back("DELETE FROM privacy_portal_accesseventtext WHERE event_id = %s", [removed.pk])
    behind_the_apps_back(
        "UPDATE privacy_portal_accesseventtext SET text = '', salt = '', redacted_at = now() WHERE event_id = %s",
        [quietly_redacted.pk],
    )
    problems = {(b.entry_id, b.problem) for b in verify_chain().breaks}
    assert problems == {(removed.pk, TEXT_MISSING), (quietly_redacted.pk, TEXT_REDACTED_UNRECORDED)}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE privacy_portal_accesseventtext SET text = 'Routine check'",
        # Redaction must destroy the salt and name its scrub entry.
        "UPDATE privacy_portal_accesseventtext SET text = '', redacted_at = now()",
        "DELETE FROM privacy_portal_accesseventtext",
    ],
)
def test_a_postgresql_trigger_keeps_the_text_until_erasure_redacts_it(client_for, handler, sql):
    break_glass(client_for, handler, CustomerFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_redaction_happens_once_and_a_second_run_changes_nothing(client_for, handler, dpo):
    customer = CustomerFactory()
    event = break_glass(client_for, handler, customer)
    assert redact_free_text(customer_id=customer.pk, actor=dpo) == 1
    scrubs = AccessEvent.objects.filter(action="scrub").count()
    assert redact_free_text(customer_id=customer.pk, actor=dpo) == 0
    assert AccessEvent.objects.filter(action="scrub").count() == scrubs
    text = AccessEventText.objects.get(event=event)
    assert (
        text.text == ""
        and text.salt == ""
        and text.redacted_at
        and {k: text.redaction_entry.details[k] for k in ("field", "rows", "redacted_entries")}
        == {
            "field": "text",
            "rows": 1,
            "redacted_entries": [event.pk],
        }
        and text.redaction_entry.details["redacted"]
        == [{"entry": event.pk, "removed": event.reason_digest, "kept": kept_commitment("")}]
    )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE privacy_portal_accesseventtext SET text = %s, salt = 'ab'", [REASON])


def test_after_erasure_a_surname_given_in_a_break_glass_reason_is_nowhere_and_the_chain_verifies(
    client_for, agent, handler, dpo, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(first_name="Perpetua", last_name=SURNAME)
    own = break_glass(client_for, handler, customer)
    # Another customer's opening whose reason names this one: redacted in place, the rest kept.
    other = break_glass(client_for, handler, CustomerFactory(), f"Her neighbour Mrs {SURNAME} called for her instead.")
    unrelated = break_glass(client_for, handler, CustomerFactory(), "The customer rang about a late parcel today.")
    chained(own, other, unrelated)
    assert ("privacy_portal_accesseventtext", "text", SURNAME) in find_everywhere([SURNAME])
    case = erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)

    sign_off(dpo, case, django_capture_on_commit_callbacks)

    assert find_everywhere([SURNAME]) == []
    own_text, other_text, unrelated_text = (AccessEventText.objects.get(event=e) for e in (own, other, unrelated))
    assert own_text.text == "" and own_text.salt == ""
    assert other_text.text.startswith("Her neighbour ") and other_text.text.endswith("[erased] called for her instead.")
    assert SURNAME not in other_text.text and other_text.salt == ""
    assert unrelated_text.text == "The customer rang about a late parcel today." and unrelated_text.redacted_at is None
    scrub = own_text.redaction_entry
    assert scrub.action == "scrub" and scrub.customer_id == customer.pk and scrub.user == dpo
    assert scrub.details["redacted_entries"] == sorted([own.pk, other.pk])
    # Nobody can now confirm a guess: the salt is gone and the digest opens to nothing.
    digest = AccessEvent.objects.get(pk=own.pk).reason_digest
    assert digest and digest != hashlib.sha256(REASON.encode()).hexdigest()
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "intact" in out.getvalue()
    page = client_for(dpo).get(reverse("customer_access", args=[customer.pk])).content.decode()
    assert "Redacted at erasure" in page and SURNAME not in page
