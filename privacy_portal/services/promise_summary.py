"""Having the dashboard's promise summary made now, rather than at the next hourly run."""

from __future__ import annotations

from django.db import transaction

from privacy_portal.tasks import summarise_promises

MSG_SUMMARY_ASKED = (
    "The promise report is being summarised for this quarter; the dashboard shows it in a moment (reload)."
)


@transaction.atomic
def promise_summary_request(*, actor) -> None:
    """Enqueue the hourly job's task now, once this request commits (the DPO's "Summarise now";
    the view checks who may). Idempotent: the task summarises the current quarter afresh and
    the dashboard reads the latest summary, so asking twice leaves one current summary."""
    transaction.on_commit(summarise_promises.delay)
