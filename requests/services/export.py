"""Access (Art 15) and portability (Art 20) exports: one ZIP in private storage per build.

What goes in, and why:

- **Access** (`right=access`): the subject graph of the customer (customers.subject), and
  nothing else: for every model it covers, the rows about the person and every version of
  each in its history (customer record, preferences, disclosures, calls (also those from a
  number they used to have), correspondence, purchases, SMS received, requests with their
  notes, tasks, clock stops, documents and reminders, complaints, the ICO's cases and
  deadlines, case-file correspondence, and who has seen their data). Then the supplementary
  information of Art 15(1)-(2) from the register of processing activities (purposes, lawful
  bases, recipients, retention, source, the rights, the right to complain to the ICO), as
  JSON and as readable HTML.
- **Portability** (`right=portability`): only what the customer provided to us (Art 20(1);
  ICO guidance counts data the person actively gave and the record of what they did, such
  as orders placed, but not what we derived or wrote ourselves): contact details and date
  of birth, the marketing preferences they gave, and their orders. Not call recordings
  (processed for legitimate interests, outside Art 20), not correspondence summaries or case
  notes (written by staff), not disclosures (our own record of what we did).

Left out of both, on purpose: the names of members of staff (other people's data; ICO
guidance allows withholding it: we say "a member of staff"), internal ids, and the one-way
suppression hashes (they cannot be linked back to anyone).

Files: `personal_data.json` (every data set, self-describing), `csv/<data set>.csv` (one per
data set, spreadsheet-safe), `index.html` (what the package is, in plain English) and, for
access, `supplementary_information.json` and `.html`.

Building is idempotent per request: a second delivery of the same request finds the export
it already built and returns it. A newer request replaces the older export (one live
package per case: fewer copies of everything). Exports are deleted after
legal.EXPORT_RETENTION_DAYS by the nightly job, the deletion recorded on the document row.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import io
import json
import logging
import uuid
import zipfile
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from customers.models import (
    Call,
    Correspondence,
    Customer,
    Disclosure,
    EmailEvent,
    InboundSms,
    PreferenceChange,
    Purchase,
    preference_label,
)
from customers.models_screening import Bereavement, MpsMatch
from customers.subject import COVERAGE, SubjectRecords, subject_records
from privacy_portal import csv_safe, legal
from privacy_portal.models import AccessEvent

from ..models import (
    Breach,
    BreachAffected,
    Case,
    CaseCorrespondence,
    CaseDocument,
    CaseNote,
    CaseTask,
    ClockStop,
    Complaint,
    ExportRequest,
    IcoCase,
    IcoDeadline,
    ReminderSent,
)
from .cases import may_work
from .documents import document_delete, document_write_after_commit, private_path, temporary_files_delete_stale
from .locking import transition

log = logging.getLogger(__name__)

ERR_RIGHT = "Only access and portability requests have an export."
ERR_STATUS = "Build the export while the case is in progress."
ERR_NO_CUSTOMER = "This case is not linked to a customer record, so there is nothing to export from the portal."
ERR_ERASED = "This customer has been erased: there is no personal data left to export."
ERR_NOT_WORKER = "Only the assigned handler or the DPO can build the export."
ERR_GAVE_UP = (
    "The export could not be built (it was started {n} times and never finished). "
    "Build it again; if it fails again, tell IT."
)

# A build started this many times without finishing (killed, timed out) is given up, and the
# case page says so: retrying for ever would hide a real fault behind a spinner.
EXPORT_MAX_ATTEMPTS = 3
# Requests the sweep handles per run (it runs every minute).
SWEEP_BATCH = 500

EXPORT_RIGHTS = (Case.Right.ACCESS, Case.Right.PORTABILITY)
CONTENT_TYPE = "application/zip"
STAFF = "A member of staff"
SYSTEM = "Automatic (no member of staff)"
YOU_ONLINE = "You, through your secure page"
HISTORY_TYPES = {"+": "Created", "~": "Changed", "-": "Deleted"}
REPLACED_REASON = "Replaced by a newer export"
EXPIRED_REASON = f"Export kept {legal.EXPORT_RETENTION_DAYS} days (retention policy), then deleted"


# --- Data sets ----------------------------------------------------------------------------------


Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    name: str
    get: Getter


def field(name: str, attribute: str | None = None) -> Column:
    """A column read from a model field; choices come out as their labels, not internal codes."""
    attribute = attribute or name

    def get(obj):
        display = getattr(obj, f"get_{attribute}_display", None)
        value = getattr(obj, attribute)
        return display() if display is not None and value not in (None, "") else value

    return Column(name, get)


def column(name: str, get: Getter) -> Column:
    return Column(name, get)


@dataclass(frozen=True)
class DataSet:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: Callable[[SubjectRecords], Iterable[Any]]
    portable: bool = False  # in a portability export (data the customer provided)
    # The subject graph's model whose rows (or, with history=True, history rows) this set holds.
    model: str = ""
    history: bool = False

    def records(self, graph: SubjectRecords) -> list[dict]:
        return [{c.name: _plain(c.get(obj)) for c in self.columns} for obj in self.rows(graph)]


def _staff_or_system(user_id) -> str:
    return STAFF if user_id else SYSTEM


def _history_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    return (
        column("changed_at", lambda h: h.history_date),
        column("change", lambda h: HISTORY_TYPES.get(h.history_type, h.history_type)),
        column("changed_by", lambda h: _staff_or_system(h.history_user_id)),
        column("reason", lambda h: h.history_change_reason or ""),
        *columns,
    )


# References of the records a history row points at (its request, complaint, recipient), by
# (model label, id): filled for one build from the graph, then looked up as needed.
_REFERENCES: ContextVar[dict | None] = ContextVar("export_references", default=None)


def _reference(related: type[models.Model], pk) -> str:
    if pk is None:
        return ""
    refs = _REFERENCES.get()
    key = (related._meta.label, pk)
    if refs is not None and key in refs:
        return refs[key]
    obj = related._default_manager.filter(pk=pk).first()
    text = (obj.reference if hasattr(obj, "reference") else str(obj)) if obj is not None else ""
    if refs is not None:
        refs[key] = text
    return text


def _generic_column(f: models.Field) -> Column | None:
    """A column for any tracked field: staff as "a member of staff", linked records by their
    reference or name, choices by their labels; internal ids are left out."""
    if f.primary_key or f.name == "id":
        return None
    if f.is_relation:
        related = f.related_model
        if related is get_user_model():
            return column(f.name, lambda h, a=f.attname: _staff_or_system(getattr(h, a)) if getattr(h, a) else "")
        return column(f.name, lambda h, a=f.attname, r=related: _reference(r, getattr(h, a)))
    return field(f.name)


# Fields read another way than their stored value in every version of a record.
_COLUMN_OVERRIDES: dict[str, dict[str, Getter]] = {
    # Details of someone acting for the customer are that person's data, not the customer's.
    "requests.Case": {
        name: (lambda h, n=name: "" if h.acting_for_other else getattr(h, n))
        for name in ("requester_name", "requester_email", "requester_phone", "requester_address")
    },
}


def generic_columns(model: type[models.Model]) -> tuple[Column, ...]:
    fields = model.history.model.tracked_fields if hasattr(model, "history") else model._meta.concrete_fields
    overrides = _COLUMN_OVERRIDES.get(model._meta.label, {})
    columns = (column(f.name, overrides[f.name]) if f.name in overrides else _generic_column(f) for f in fields)
    return tuple(c for c in columns if c is not None)


CUSTOMER_COLUMNS = (
    column("reference", lambda c: c.reference),
    field("title"),
    field("first_name"),
    field("last_name"),
    field("email"),
    field("phone"),
    field("address_line1"),
    field("address_line2"),
    field("town"),
    field("county"),
    field("postcode"),
    field("date_of_birth"),
    field("account_opened_on"),
    field("last_order_on"),
    field("processing_restricted"),
    field("restricted_at"),
    field("marketing_objected"),
    field("objected_at"),
)
# What the customer gave us: the portable part of the record.
PROVIDED_CUSTOMER_COLUMNS = tuple(
    c
    for c in CUSTOMER_COLUMNS
    if c.name
    in {"title", "first_name", "last_name", "email", "phone", "address_line1", "address_line2", "town", "county",
        "postcode", "date_of_birth"}
)  # fmt: skip

PREFERENCE_COLUMNS = (
    column("preference", lambda p: preference_label(p.purpose, p.channel)),
    field("purpose"),
    field("channel"),
    column("choice", lambda p: "Opted in" if p.granted else "Opted out"),
    field("source"),
    field("evidence"),
    field("notice_version"),
    field("received_at"),
    field("takes_effect_by"),
    field("actioned_at"),
)


def _preference_changes(graph: SubjectRecords):
    return graph.rows(PreferenceChange).order_by("received_at", "id")


def _current_preferences(graph: SubjectRecords) -> list[PreferenceChange]:
    latest: dict[tuple[str, str], PreferenceChange] = {}
    for change in _preference_changes(graph):
        latest[(change.purpose, change.channel)] = change
    return list(latest.values())


def _rows(model: type[models.Model], *order: str, related: tuple[str, ...] = ()):
    def rows(graph: SubjectRecords):
        qs = graph.rows(model)
        return (qs.select_related(*related) if related else qs).order_by(*order, "pk")

    return rows


def _requester(case: Case, attribute: str) -> str:
    # Details of someone acting for the customer are that person's data, not the customer's.
    return "" if case.acting_for_other else getattr(case, attribute)


def _request(row) -> str:
    return _reference(Case, row.case_id)


DATA_SETS: list[DataSet] = [
    DataSet(
        "customer",
        "Your customer record",
        "Your name, contact details and date of birth as we hold them now, and whether you have restricted our "
        "use of your data or objected to marketing.",
        CUSTOMER_COLUMNS,
        lambda graph: [graph.customer],
        model="customers.Customer",
    ),
    DataSet(
        "customer_history",
        "Earlier versions of your customer record",
        "Every version of your customer record since it was created: when it changed, why, and what it held.",
        _history_columns(CUSTOMER_COLUMNS[1:]),
        lambda graph: graph.history(Customer),
        model="customers.Customer",
        history=True,
    ),
    DataSet(
        "current_preferences",
        "Your marketing preferences now",
        "For each kind of marketing, the latest choice you told us and when it takes effect.",
        PREFERENCE_COLUMNS,
        _current_preferences,
        portable=True,
    ),
    DataSet(
        "preference_changes",
        "Every marketing choice you told us",
        "Each time you opted in or out of a kind of marketing: how you told us, when, and by when it took effect.",
        PREFERENCE_COLUMNS,
        _preference_changes,
        portable=True,
        model="customers.PreferenceChange",
    ),
    DataSet(
        "preference_change_history",
        "Earlier versions of those records",
        "Every version of each preference record, for example when an opt-out was sent to our marketing systems.",
        _history_columns(PREFERENCE_COLUMNS),
        lambda graph: graph.history(PreferenceChange),
        model="customers.PreferenceChange",
        history=True,
    ),
    DataSet(
        "disclosures",
        "Who we have shared your data with",
        "Each time we passed some of your data to another organisation: who, what kind of data, why, and the "
        "lawful basis.",
        (
            field("disclosed_at"),
            column("recipient", lambda d: d.recipient.name),
            column("recipient_type", lambda d: d.recipient.get_category_display()),
            column("recipient_country", lambda d: d.recipient.country),
            column("data_categories", lambda d: d.data_category_labels),
            field("purpose"),
            field("lawful_basis"),
            field("sensitive"),
            field("special_category_condition"),
            field("recipient_reference"),
        ),
        _rows(Disclosure, "disclosed_at", related=("recipient",)),
        model="customers.Disclosure",
    ),
    DataSet(
        "calls",
        "Recorded calls and their transcripts",
        f"Calls recorded between you and us (kept {legal.CALL_RETENTION_MONTHS} months), with the automatic "
        "transcript of each, including calls from a number you have had that we did not match to your record at "
        "the time. The recordings themselves are available on request.",
        (
            field("started_at"),
            field("direction"),
            field("purpose"),
            field("duration_seconds"),
            field("customer_number"),
            field("our_number"),
            field("recording_ref"),
            field("transcript"),
            field("transcript_provider"),
        ),
        _rows(Call, "started_at"),
        model="customers.Call",
    ),
    DataSet(
        "correspondence",
        "Letters, emails and calls",
        f"Our brief record of each letter, email or call with you (kept {legal.CORRESPONDENCE_RETENTION_MONTHS} "
        "months).",
        (field("occurred_at"), field("direction"), field("medium"), field("summary")),
        _rows(Correspondence, "occurred_at"),
        model="customers.Correspondence",
    ),
    DataSet(
        "purchases",
        "Your orders",
        f"What you bought, how you paid, and any guarantee (kept {legal.PURCHASE_RETENTION_YEARS} years for tax "
        "and guarantees).",
        (
            field("order_ref"),
            field("ordered_on"),
            field("description"),
            field("amount"),
            field("payment_method"),
            field("instalments"),
            field("instalment_amount"),
            field("guarantee_until"),
        ),
        _rows(Purchase, "ordered_on"),
        portable=True,
        model="customers.Purchase",
    ),
    DataSet(
        "sms_received",
        "Text messages you sent us",
        "Replies to our text messages (for example STOP) and what we did with them. We keep no copy of the text.",
        (field("received_at"), field("outcome")),
        _rows(InboundSms, "received_at"),
        model="customers.InboundSms",
    ),
    DataSet(
        "email_events",
        "What your email provider told us",
        "Unsubscribes, spam complaints and undeliverable-address reports about our emails to you, and what we did.",
        (field("received_at"), field("kind"), field("outcome")),
        _rows(EmailEvent, "received_at"),
        model="customers.EmailEvent",
    ),
    DataSet(
        "rights_requests",
        "Your data-protection requests",
        "Each request you made about your data (this one included), what you asked, its progress and outcome.",
        (
            field("reference"),
            field("right"),
            field("channel"),
            field("received_on"),
            field("status"),
            field("identity"),
            field("identity_requested_on"),
            field("identity_received_on"),
            field("clock_started_on"),
            field("stopped_days"),
            field("due_on"),
            field("original_due_on"),
            field("extended"),
            field("extension_reason"),
            field("extension_notified_on"),
            field("refusal_ground"),
            field("closed_on"),
            field("outcome"),
            field("description"),
            column("requester_name", lambda c: _requester(c, "requester_name")),
            column("requester_email", lambda c: _requester(c, "requester_email")),
            column("requester_phone", lambda c: _requester(c, "requester_phone")),
            column("requester_address", lambda c: _requester(c, "requester_address")),
            field("acting_for_other"),
            field("representative_relationship"),
        ),
        _rows(Case, "received_on"),
        model="requests.Case",
    ),
    DataSet(
        "rights_request_notes",
        "Notes on your requests",
        "Notes our staff wrote while handling your requests.",
        (column("request", _request), field("created_at"), field("text")),
        _rows(CaseNote, "created_at"),
        model="requests.CaseNote",
    ),
    DataSet(
        "rights_request_tasks",
        "Work done on your requests",
        "Tasks on your requests, such as telling an organisation we shared your data with about a correction.",
        (
            column("request", _request),
            field("title"),
            field("created_at"),
            column("done", lambda t: t.done_at is not None),
            field("done_at"),
        ),
        _rows(CaseTask, "created_at"),
        model="requests.CaseTask",
    ),
    DataSet(
        "rights_request_clock_stops",
        "When the clock on your requests stood still",
        "Each time we asked you to clarify a request: the question, and the days the time limit was paused.",
        (column("request", _request), field("started_on"), field("ended_on"), field("question")),
        _rows(ClockStop, "started_on"),
        model="requests.ClockStop",
    ),
    DataSet(
        "rights_request_documents",
        "Documents on your requests",
        "Each document held on your requests (identity evidence, letters, exports), when it was received, and "
        "when and why it was deleted.",
        (
            column("request", _request),
            field("kind"),
            field("content_type"),
            field("size"),
            field("uploaded_at"),
            field("deleted_at"),
            field("deletion_reason"),
        ),
        _rows(CaseDocument, "uploaded_at"),
        model="requests.CaseDocument",
    ),
    DataSet(
        "rights_request_reminders",
        "Reminders about your requests",
        "Reminders our system sent to staff as the time limit of your requests approached.",
        (column("request", _request), field("threshold"), field("sent_at")),
        _rows(ReminderSent, "sent_at"),
        model="requests.ReminderSent",
    ),
]


def _ico(complaint: Complaint, attribute: str):
    ico = getattr(complaint, "ico_case", None)  # the reverse one-to-one raises AttributeError when absent
    if ico is None:
        return None
    display = getattr(ico, f"get_{attribute}_display", None)
    value = getattr(ico, attribute)
    return display() if display is not None and value else value


def _about(item: CaseCorrespondence) -> str:
    return _reference(Case, item.case_id) if item.case_id else _reference(Complaint, item.complaint_id)


def attachment_name(item: CaseCorrespondence) -> str:
    """Where a case-file attachment sits in the ZIP."""
    suffix = PurePosixPath(item.attachment_path).suffix
    return f"attachments/{_about(item)}-{item.pk}{suffix}" if item.attachment_path else ""


DATA_SETS += [
    DataSet(
        "complaints",
        "Your complaints",
        "Each complaint you made about how we handled your data, its progress, our response and any review, and "
        "whether the Information Commissioner's Office was involved.",
        (
            field("reference"),
            field("received_on"),
            field("channel"),
            field("category"),
            field("description"),
            field("status"),
            field("acknowledge_by"),
            field("acknowledged_on"),
            field("response_due_on"),
            field("responded_on"),
            field("response_summary"),
            field("review_requested_on"),
            field("review_concluded_on"),
            field("review_outcome"),
            field("closed_on"),
            field("outcome"),
            column("ico_reference", lambda c: _ico(c, "ico_reference")),
            column("ico_outcome", lambda c: _ico(c, "outcome")),
            column("ico_outcome_on", lambda c: _ico(c, "outcome_on")),
        ),
        _rows(Complaint, "received_on", related=("ico_case",)),
        model="requests.Complaint",
    ),
    DataSet(
        "ico_cases",
        "The Information Commissioner's Office's cases",
        "Where you complained to the ICO about us: its reference, what it asked us, and its outcome.",
        (
            column("complaint", lambda i: _reference(Complaint, i.complaint_id)),
            field("ico_reference"),
            field("contacted_on"),
            field("contact_method"),
            field("caseworker"),
            field("requested"),
            field("outcome"),
            field("outcome_on"),
            field("outcome_notes"),
        ),
        _rows(IcoCase, "contacted_on"),
        model="requests.IcoCase",
    ),
    DataSet(
        "ico_deadlines",
        "Deadlines the ICO set us",
        "Each deadline the ICO set in those cases, and when we answered it.",
        (
            column("ico_case", lambda d: _reference(IcoCase, d.ico_case_id)),
            field("what"),
            field("due_on"),
            field("answered_on"),
        ),
        _rows(IcoDeadline, "due_on"),
        model="requests.IcoDeadline",
    ),
    DataSet(
        "case_correspondence",
        "Letters, emails and calls about your requests and complaints",
        "Each letter, email or call about your data-protection requests and complaints. Where we hold a copy of a "
        "letter or document, it is in the attachments folder, named as shown.",
        (
            column("about", _about),
            field("occurred_on"),
            field("direction"),
            field("medium"),
            field("summary"),
            column("attachment", attachment_name),
        ),
        _rows(CaseCorrespondence, "occurred_on"),
        model="requests.CaseCorrespondence",
    ),
    DataSet(
        "breaches",
        "Personal-data breaches that affected you",
        "Each personal-data breach that involved your data (UK GDPR Art 33-34): its reference, when we became "
        "aware of it, and whether and how we told you.",
        (
            column("breach", lambda a: _reference(Breach, a.breach_id)),
            column("what_happened", lambda a: a.breach.summary),
            column("we_became_aware", lambda a: a.breach.aware_at),
            field("told"),
            field("told_at"),
            field("method"),
        ),
        _rows(BreachAffected, "linked_at", related=("breach",)),
        model="requests.BreachAffected",
    ),
    DataSet(
        "mailing_preference_service",
        "Matches with the Mailing Preference Service",
        "Each time a file of the Mailing Preference Service (the MPS, which people join to receive less addressed "
        "post) matched your name and address: what it said and the date of its record.",
        (
            field("flag"),
            field("requested_on"),
            field("matched_at"),
        ),
        _rows(MpsMatch, "matched_at"),
        model="customers.MpsMatch",
    ),
    DataSet(
        "bereavement",
        "Record of a bereavement",
        "Where we were told that the person has died: who told us, when, and that all marketing stopped.",
        (
            field("source"),
            field("reported_on"),
            field("evidence"),
            field("recorded_at"),
        ),
        _rows(Bereavement, "recorded_at"),
        model="customers.Bereavement",
    ),
]


def _accessed_by(event) -> str:
    """Staff named by role, or by name too where the DPO has chosen so (EXPORT_NAMES_STAFF)."""
    from django.conf import settings

    if event.user is None:
        # The requester's own reads through their secure page (requests.services.public).
        return YOU_ONLINE if (event.details or {}).get("actor") == "verified_requester" else SYSTEM
    role = event.user.get_role_display() or "Member of staff"
    return f"{event.user.get_full_name()} ({role})" if settings.EXPORT_NAMES_STAFF else role


DATA_SETS += [
    DataSet(
        "who_has_seen_your_data",
        "Who has seen your data",
        "Each time a member of our staff opened your record, its calls, purchases, disclosures or case files, "
        "downloaded an export, or ran a search that showed you, with when and why where a reason was asked for.",
        (
            column("when", lambda e: e.at),
            column("who", _accessed_by),
            column("what", lambda e: e.get_action_display()),
            column("reason", lambda e: e.reason),
        ),
        lambda graph: graph.rows(AccessEvent).select_related("user", "free_text"),
        model="privacy_portal.AccessEvent",
    ),
]


def _history_set(label: str) -> DataSet:
    model = apps.get_model(label)
    name = model._meta.verbose_name
    return DataSet(
        f"{model._meta.model_name}_history",
        f"Earlier versions: {name}",
        f"Every version of each {name} record above: when it changed, why, and what it held.",
        _history_columns(generic_columns(model)),
        lambda graph, m=model: graph.history(m),
        model=label,
        history=True,
    )


# Every other tracked model of the subject graph: its history, field by field.
DATA_SETS += [
    _history_set(label)
    for label in COVERAGE
    if label not in {d.model for d in DATA_SETS if d.history} and hasattr(apps.get_model(label), "history")
]


PORTABLE_CUSTOMER = DataSet(
    "customer",
    "The details you gave us",
    "Your name, contact details and date of birth.",
    PROVIDED_CUSTOMER_COLUMNS,
    lambda graph: [graph.customer],
    portable=True,
)


def data_sets_for(right: str) -> list[DataSet]:
    if right == Case.Right.PORTABILITY:
        return [PORTABLE_CUSTOMER, *(d for d in DATA_SETS if d.portable)]
    return list(DATA_SETS)


# --- Values ---------------------------------------------------------------------------------------


def _plain(value):
    """A JSON-ready value: dates as ISO 8601 (local time), amounts as exact strings."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def csv_cell(value) -> str:
    """How one value reads in a spreadsheet: yes/no, lists joined, and nothing a spreadsheet
    would run as a formula (such text gets a leading apostrophe; phone numbers stay as they are)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return csv_safe.safe_cell(str(value))


def _csv(columns: tuple[Column, ...], records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv_safe.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for record in records:
        writer.writerow([csv_cell(record[c.name]) for c in columns])
    return out.getvalue()


# --- Supplementary information ----------------------------------------------------------------------


def supplementary() -> Any:
    """The Art 15(1)-(2) information, from the register of processing activities (one source)."""
    from privacy_portal.register import supplementary_information

    return supplementary_information()


_ACRONYMS = {"ico": "ICO", "uk": "UK", "dpo": "DPO"}


def _label(key: str) -> str:
    words = key.replace("_", " ").strip().split()
    text = " ".join(_ACRONYMS.get(w.lower(), w) for w in words)
    return text[:1].upper() + text[1:]


def _is_table(value: list) -> bool:
    """A list of mappings with the same keys and plain values reads best as a table."""
    if not value or not all(isinstance(v, dict) for v in value):
        return False
    keys = list(value[0])
    return all(list(v) == keys and not any(isinstance(x, (dict, list)) for x in v.values()) for v in value)


def render_html_sections(value) -> str:
    """The top level of a mapping as headed sections, each rendered by render_html_value."""
    if not isinstance(value, dict):
        return render_html_value(value)
    return format_html_join(
        "",
        "<section><h2>{}</h2>{}</section>",
        ((_label(k), render_html_value(v)) for k, v in value.items()),
    )


def render_html_value(value) -> str:
    """Readable HTML for any JSON-shaped value: mappings as definition lists, lists of
    records as tables, other lists as bullet lists. Everything is escaped."""
    if isinstance(value, dict):
        items = ((_label(k), render_html_value(v)) for k, v in value.items())
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", items))
    if isinstance(value, list):
        if not value:
            return "None."
        if _is_table(value):
            head = format_html_join("", '<th scope="col">{}</th>', ((_label(k),) for k in value[0]))
            cells = (format_html_join("", "<td>{}</td>", ((render_html_value(x),) for x in r.values())) for r in value)
            rows = format_html_join("", "<tr>{}</tr>", ((c,) for c in cells))
            return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((render_html_value(v),) for v in value)))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    return format_html("{}", value)


# --- Building ---------------------------------------------------------------------------------------


def _check(case: Case) -> None:
    if case.right not in EXPORT_RIGHTS:
        raise ValidationError(ERR_RIGHT)
    if case.customer_id is None:
        raise ValidationError(ERR_NO_CUSTOMER)
    if case.customer.is_erased:
        raise ValidationError(ERR_ERASED)


def export_files(case: Case, *, generated_at: datetime.datetime | None = None) -> dict[str, bytes]:
    """The package's files, by name in the ZIP: the subject graph of the case's customer, and
    nothing else (customers.subject.subject_records)."""
    customer = case.customer
    graph = subject_records(customer, candidates=False)  # the export offers no candidates
    token = _REFERENCES.set(_references(graph))
    try:
        return _files(case, graph, generated_at or timezone.now())
    finally:
        _REFERENCES.reset(token)


def _references(graph: SubjectRecords) -> dict:
    refs: dict = {}
    for model in (Case, Complaint, IcoCase):
        refs.update({(model._meta.label, pk): ref for pk, ref in _reference_rows(model, graph)})
    return refs


def _reference_rows(model, graph: SubjectRecords):
    attribute = "ico_reference" if model is IcoCase else "reference"
    return graph.rows(model).values_list("pk", attribute)


def _files(case: Case, graph: SubjectRecords, generated_at: datetime.datetime) -> dict[str, bytes]:
    customer = graph.customer
    kind = Case.Right(case.right)
    sets = [(data_set, data_set.records(graph)) for data_set in data_sets_for(case.right)]
    about = {
        "kind": kind.label,
        "request_reference": case.reference,
        "customer_reference": customer.reference,
        "generated_at": _plain(generated_at),
        "deleted_after": _plain(generated_at + datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS)),
    }
    personal_data = {
        "package": about,
        "data_sets": {
            d.name: {"title": d.title, "description": d.description, "records": records} for d, records in sets
        },
    }
    files: dict[str, bytes] = {
        "personal_data.json": json.dumps(personal_data, ensure_ascii=False, indent=2).encode(),
    }
    for data_set, records in sets:
        # With a byte-order mark, so that Excel reads the file as UTF-8.
        files[f"csv/{data_set.name}.csv"] = _csv(data_set.columns, records).encode("utf-8-sig")
    info = None
    if case.right == Case.Right.ACCESS:
        info = _plain(supplementary())
        files["supplementary_information.json"] = json.dumps(info, ensure_ascii=False, indent=2).encode()
        files["supplementary_information.html"] = render_to_string(
            "requests/export/supplementary_information.html",
            {"about": about, "body": render_html_sections(info)},
        ).encode()
        for item in graph.rows(CaseCorrespondence).exclude(attachment_path=""):
            try:
                files[attachment_name(item)] = private_path(item.attachment_path).read_bytes()
            except FileNotFoundError:
                log.warning("export: attachment of case correspondence %s is missing", item.pk)
    files["index.html"] = render_to_string(
        "requests/export/index.html",
        {
            "about": about,
            "access": case.right == Case.Right.ACCESS,
            "sets": [{"data_set": d, "count": len(records)} for d, records in sets],
            "retention_days": legal.EXPORT_RETENTION_DAYS,
        },
    ).encode()
    return files


def _zip(files: dict[str, bytes]) -> bytes:
    """The ZIP's bytes (index.html first: the file a person opens). Built in memory, as its
    files are, so the row can say its size and the file is written only after the commit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda n: (n != "index.html", n)):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def _live_exports(case: Case) -> list[CaseDocument]:
    return list(case.documents.filter(kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True).order_by("uploaded_at"))


def _send(export_request_id: int) -> None:
    """Hand a request to the broker. An unreachable broker is logged, not raised: the request
    row is the record of the work, and the sweep sends it again."""
    from kombu.exceptions import OperationalError

    from ..tasks import run_export_request

    try:
        run_export_request.apply_async(args=[export_request_id])
    except OperationalError:
        log.warning("export request %s not sent (broker unreachable); the sweep sends it again", export_request_id)


@transition("case")
def export_request(*, actor, case: Case) -> ExportRequest:
    """Ask for the case's export to be built in the background.

    The request is recorded here, in the caller's transaction (the outbox), and sent to the
    broker once that commits; if the broker cannot be reached it stays queued and the sweep
    sends it again. A request already queued for the case (a second click) is returned as it
    is: it reads the data when it starts, so it serves both.
    """
    if not may_work(actor, case):
        raise ValidationError(ERR_NOT_WORKER)
    _check(case)
    if case.status != Case.Status.IN_PROGRESS:
        raise ValidationError(ERR_STATUS)
    # Two clicks at once: the case's row lock (@transition) orders them, and the second is served
    # by the first's request whether it is still queued or already being built.
    pending = ExportRequest.objects.filter(case=case, status__in=ExportRequest.PENDING_STATUSES).first()
    if pending is not None:
        return pending
    request = ExportRequest(case=case, requested_by=actor)
    request._history_user = actor
    request._change_reason = "Export requested"
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:  # a concurrent click queued one first (exportrequest_one_queued_per_case)
        return ExportRequest.objects.filter(case=case, status=ExportRequest.Status.QUEUED).first() or request
    transaction.on_commit(partial(_send, request.pk))
    return request


def _mark(request: ExportRequest, reason: str, **changes) -> None:
    for name, value in changes.items():
        setattr(request, name, value)
    request._history_user = None  # the background worker or the sweep, not a member of staff
    request._change_reason = reason
    request.save()


def export_request_run(*, export_request_id: int) -> CaseDocument | None:
    """Build the export a request asked for, once. Returns the document, or None when there
    is nothing to do (unknown, already built or given up, or being built right now by another
    delivery of the same request) or the case no longer qualifies (recorded as not built).

    Two transactions: the first records that a build started (so the sweep counts attempts
    and the case page says "being built"); the second holds the request's row lock for the
    whole build and commits the document and "built" together. A worker killed mid-build
    therefore commits nothing of the build, and its lock ends with its connection: the sweep
    then sees the request not started in time and sends it again.
    """
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=export_request_id, status__in=ExportRequest.PENDING_STATUSES)
            .first()
        )
        if request is None:
            return None
        _mark(
            request,
            "Export build started",
            status=ExportRequest.Status.RUNNING,
            attempts=request.attempts + 1,
            started_at=timezone.now(),
        )
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .select_related("case", "requested_by")
            .filter(pk=export_request_id, status=ExportRequest.Status.RUNNING)
            .first()
        )
        if request is None:  # another delivery took it over meanwhile
            return None
        try:
            doc = export_build(actor=request.requested_by, case=request.case, requested_at=request.requested_at)
        except ValidationError as exc:
            # The case changed since the request (e.g. the customer was erased): nothing to retry.
            _mark(
                request,
                "Export not built",
                status=ExportRequest.Status.FAILED,
                failure="; ".join(exc.messages)[:300],
                finished_at=timezone.now(),
            )
            return None
        _mark(request, "Export built", status=ExportRequest.Status.DONE, document=doc, finished_at=timezone.now())
        return doc


def export_requests_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Every minute (beat): send again every export request not started in time, give up on
    those that have started EXPORT_MAX_ATTEMPTS times without finishing, and delete temporary
    files left by writers killed mid-write.

    "Not started in time": still pending OUTBOX_REQUEUE_AFTER_SECONDS after it was last sent,
    and not locked. A build in progress holds its request's row lock, so it is skipped however
    long it runs; a worker that died released the lock with its connection. A request sent
    twice is harmless: export_request_run does the work once.
    """
    from django.conf import settings

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    sent = failed = 0
    with transaction.atomic():
        stale = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .filter(status__in=ExportRequest.PENDING_STATUSES, sent_at__lte=cutoff)
            .order_by("sent_at", "pk")[:SWEEP_BATCH]
        )
        for request in stale:
            if request.attempts >= EXPORT_MAX_ATTEMPTS:
                failure = ERR_GAVE_UP.format(n=EXPORT_MAX_ATTEMPTS)
                _mark(request, "Export given up", status=ExportRequest.Status.FAILED, failure=failure, finished_at=now)
                failed += 1
                continue
            _mark(request, "Export request sent again (not started in time)", sent_at=now)
            transaction.on_commit(partial(_send, request.pk))
            sent += 1
    parts = temporary_files_delete_stale(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT)
    if sent or failed or parts:
        log.warning("export sweep: %s sent again, %s given up, %s temporary files deleted", sent, failed, parts)
    return {"sent_again": sent, "given_up": failed, "temporary_files_deleted": parts}


@transaction.atomic
def export_build(*, actor, case: Case, requested_at: datetime.datetime | None = None) -> CaseDocument:
    """Build the ZIP for an access or portability case and store it privately as a document.

    Idempotent per request: if an export was already built at or after `requested_at`, that
    one is returned and nothing is built. Concurrent deliveries queue on the case's row lock.
    """
    # NO KEY: concurrent builds still queue, but rows referring to the case (notes, new export
    # requests) can be written while this one builds.
    case = Case.objects.select_for_update(of=("self",), no_key=True).select_related("customer").get(pk=case.pk)
    existing = _live_exports(case)
    if requested_at is not None:
        done = [doc for doc in existing if doc.uploaded_at >= requested_at]
        if done:
            return done[-1]
    _check(case)
    files = export_files(case)
    relative = f"cases/{case.pk}/{CaseDocument.Kind.EXPORT}/{uuid.uuid4().hex}.zip"
    data = _zip(files)
    private_path(relative)  # refuses a path outside private storage before anything is written
    doc = CaseDocument(
        case=case, kind=CaseDocument.Kind.EXPORT, path=relative, content_type=CONTENT_TYPE, size=len(data),
        uploaded_by=actor,
    )  # fmt: skip
    doc._history_user = actor
    doc._change_reason = f"{Case.Right(case.right).label} export built"
    doc.save()
    for old in existing:
        document_delete(actor=actor, doc=old, reason=REPLACED_REASON)
    document_write_after_commit(doc, data)  # no file without its committed row
    return doc


def exports_delete_expired(*, now: datetime.datetime | None = None) -> dict:
    """Nightly: delete every export older than legal.EXPORT_RETENTION_DAYS, recording each deletion."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS)
    expired = CaseDocument.objects.filter(
        kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True, uploaded_at__lte=cutoff
    ).order_by("pk")
    deleted = 0
    for doc in expired.iterator(chunk_size=500):
        document_delete(actor=None, doc=doc, reason=EXPIRED_REASON)
        deleted += 1
    return {"deleted": deleted}
