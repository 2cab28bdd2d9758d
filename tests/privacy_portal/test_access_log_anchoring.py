"""The access log's scrub entries and head are anchored: a side-table reason rewritten together
with a forged scrub entry is detected (the scrub record is signed with a key the database does
not hold and commits to what was removed and what is kept), and a log cut short at the end is
detected against the signed checkpoint written outside the database."""

from __future__ import annotations

import hashlib
import json

import pytest

from privacy_portal import audit
from privacy_portal.audit import (
    CHECKPOINT_BAD_SIGNATURE,
    CHECKPOINT_SHORTER,
    TEXT_REDACTED_UNRECORDED,
    TEXT_SCRUB_FORGED,
    read_checkpoint,
    redact_free_text,
    verify_chain,
)
from privacy_portal.models import AccessEvent, AccessEventText
from privacy_portal.tasks import verify_audit_log
from tests.factories import CustomerFactory
from tests.fixtures.access_log import behind_the_apps_back, break_glass, chained, make_events

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


def _problems() -> set[tuple[int, str]]:
    return {(b.entry_id, b.problem) for b in verify_chain().breaks}


def _forge(event: AccessEvent, text: str, details: dict) -> AccessEvent:
    """What someone with write access to the database (not the app's settings) can do: append a
    scrub entry of their own (the chainer chains it like any other) and point the row at it."""
    forged = AccessEvent.objects.create(action=AccessEvent.Action.SCRUB, object_type="privacy_portal.AccessEventText",
                                        customer_id=event.customer_id, details=details)  # fmt: skip
    chained(forged)
    behind_the_apps_back(
        "UPDATE privacy_portal_accesseventtext SET text = %s, salt = '', redacted_at = now(), redaction_entry_id = %s "
        "WHERE event_id = %s",
        [text, forged.pk, event.pk],
    )
    return forged


@pytest.mark.parametrize("style", ["ids only", "commitments, guessed signature"])
def test_a_reason_rewritten_with_a_forged_chained_scrub_entry_is_detected(client_for, handler, style):
    (event,) = chained(break_glass(client_for, handler, CustomerFactory()))
    rewritten = "Routine check requested by the DPO."
    details = {"field": "text", "rows": 1, "redacted_entries": [event.pk]}
    if style != "ids only":
        redacted = [{"entry": event.pk, "removed": event.reason_digest,
                     "kept": hashlib.sha256(rewritten.encode()).hexdigest()}]  # fmt: skip
        details |= {"redacted": redacted, "mac": hashlib.sha256(json.dumps(redacted).encode()).hexdigest()}
    _forge(event, rewritten, details)
    assert _problems() == {(event.pk, TEXT_REDACTED_UNRECORDED if style == "ids only" else TEXT_SCRUB_FORGED)}


def test_a_genuine_scrub_entry_reused_for_another_rows_rewrite_is_detected(client_for, handler, dpo):
    customer = CustomerFactory(last_name="Quibbleworthy")
    erased = break_glass(client_for, handler, customer)
    other = break_glass(client_for, handler, CustomerFactory(), "The customer rang about a late parcel today.")
    chained(erased, other)
    redact_free_text(customer_id=customer.pk, actor=dpo)
    genuine = AccessEventText.objects.get(event=erased).redaction_entry
    chained(genuine)
    assert verify_chain().ok
    behind_the_apps_back(
        "UPDATE privacy_portal_accesseventtext SET text = '', salt = '', redacted_at = now(), redaction_entry_id = %s "
        "WHERE event_id = %s",
        [genuine.pk, other.pk],
    )
    assert _problems() == {(other.pk, TEXT_REDACTED_UNRECORDED)}


def test_a_redacted_reason_rewritten_afterwards_is_detected(client_for, handler, dpo):
    customer = CustomerFactory(last_name="Quibbleworthy")
    other = break_glass(client_for, handler, CustomerFactory(), "Her neighbour Mrs Quibbleworthy called instead.")
    chained(other)
    from requests.services.redaction import redactor_for

    redact_free_text(customer_id=customer.pk, actor=dpo, redact=redactor_for(customer))
    kept = AccessEventText.objects.get(event=other)
    assert kept.text == "Her neighbour [erased] called instead." and verify_chain().ok
    behind_the_apps_back(
        "UPDATE privacy_portal_accesseventtext SET text = 'Her neighbour called instead.' WHERE event_id = %s",
        [other.pk],
    )
    assert _problems() == {(other.pk, TEXT_SCRUB_FORGED)}


def test_truncating_the_tail_of_the_log_is_detected_against_the_checkpoint(agent, private_storage):
    events = make_events(agent, 5)
    detail = verify_audit_log()
    checkpoint = read_checkpoint()
    assert detail["ok"] and checkpoint["seq"] == events[-1].chain_seq == detail["checkpoint_seq"]
    assert (private_storage / audit.CHECKPOINT_FILE).exists()
    # Entries after the checkpoint are normal growth.
    chained(AccessEvent.objects.create(user=agent, action="view_customer", customer_id=7))
    assert verify_chain().ok
    # Cut the last entries off: what is left verifies as a chain, but not against the checkpoint.
    cut = AccessEvent.objects.filter(chain_seq__gte=events[-2].chain_seq)
    behind_the_apps_back(
        "DELETE FROM privacy_portal_accessevent WHERE id = ANY(%s)", [list(cut.values_list("pk", flat=True))]
    )
    assert _problems() == {(events[-3].pk, CHECKPOINT_SHORTER)}


def test_an_edited_checkpoint_is_detected(agent, private_storage):
    make_events(agent, 3)
    verify_audit_log()
    path = private_storage / audit.CHECKPOINT_FILE
    checkpoint = json.loads(path.read_text())
    checkpoint["seq"] -= 1
    path.write_text(json.dumps(checkpoint))
    assert _problems() == {(0, CHECKPOINT_BAD_SIGNATURE)}


def test_a_checkpoint_is_written_only_from_a_chain_that_verifies(agent, private_storage):
    events = make_events(agent, 3)
    behind_the_apps_back("UPDATE privacy_portal_accessevent SET action = 'search' WHERE id = %s", [events[0].pk])
    assert verify_audit_log()["ok"] is False
    assert read_checkpoint() is None
