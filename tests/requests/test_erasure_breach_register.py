"""Erasure and the breach register: a breach record's free text (and its history) may name an
affected person; erasure redacts the person's values from it through the same redaction as
everything else, and the subject graph covers the register instead of excluding it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from customers.subject import EXCLUDED, MENTIONS, unaccounted
from requests.models import Breach, BreachNotification, BreachTask
from requests.services import breaches
from requests.services.erasure import MENTION_PLAN, erasure_preview
from requests.services.redaction import REDACTED
from tests.fixtures.erasure import FIRST, FORMER_LAST, LAST, POSTCODE, find_everywhere, sign_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def test_the_breach_register_is_covered_by_the_subject_graph_not_excluded():
    for label in ("requests.Breach", "requests.BreachNotification", "requests.BreachTask"):
        assert label in MENTIONS and label not in EXCLUDED and label in MENTION_PLAN
    assert unaccounted() == []


def test_erasure_redacts_the_person_from_breach_records_and_their_history(
    rich,
    agent,
    dpo,
    handler,
    django_capture_on_commit_callbacks,
):
    customer = rich["customer"]
    breach = breaches.breach_report(
        actor=agent, summary=f"Parcel for Mr {FORMER_LAST} sent next door",
        what_happened=f"{FIRST} {FORMER_LAST}'s parcel went to the wrong house.",
        aware_at=timezone.now() - datetime.timedelta(hours=3),
    )  # fmt: skip
    # A later version: the history keeps the first text, the live row the second.
    breach.what_happened = f"Mr {LAST} ({POSTCODE}) rang: his parcel went next door. In May we wrote."
    breach._change_reason = f"Corrected after {LAST} rang"
    breach.save()
    BreachTask.objects.create(breach=breach, title=f"Ring Mr {LAST} back", owner=handler, due_on=timezone.localdate())
    BreachNotification.objects.create(
        breach=breach, phase="initial", sent_at=timezone.now(), notes=f"Told the ICO about {FIRST} {LAST}"
    )
    other = breaches.breach_report(
        actor=agent, summary="Laptop lost", what_happened="In May a laptop was left on a train.",
        aware_at=timezone.now() - datetime.timedelta(hours=3),
    )  # fmt: skip
    preview = erasure_preview(customer=customer)
    assert any(line.model == "requests.Breach" and line.count == 1 for line in preview.keep)

    case = sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)

    breach.refresh_from_db()
    assert LAST not in breach.what_happened and "In May we wrote." in breach.what_happened
    assert REDACTED in breach.summary and REDACTED in breach.what_happened
    assert BreachTask.objects.get(breach=breach).title == f"Ring {REDACTED} back"
    assert BreachNotification.objects.get(breach=breach).notes == f"Told the ICO about {REDACTED}"
    for row in Breach.history.filter(id=breach.pk):
        text = " ".join([row.summary, row.what_happened, row.history_change_reason or ""])
        assert LAST not in text and FORMER_LAST not in text and FIRST not in text, text
    other.refresh_from_db()
    assert other.what_happened == "In May a laptop was left on a train."  # another incident: untouched
    hits = [hit for hit in find_everywhere([FIRST, LAST, FORMER_LAST]) if "breach" in hit[0]]
    assert hits == []
    certificate = case.documents.get(kind="certificate")
    from privacy_portal.private_storage import private_path

    assert MENTION_PLAN["requests.Breach"].what.split(":")[0] in private_path(certificate.path).read_text()
