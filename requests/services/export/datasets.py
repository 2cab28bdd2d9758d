"""The data sets of an access or portability export: what each holds (columns, rows from the
subject graph) and how a value is made plain. See requests.services.export for what goes in."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

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
from customers.subject import COVERAGE, SubjectRecords
from privacy_portal import legal
from privacy_portal.history_labels import history_type_label, record_kind
from privacy_portal.models import AccessEvent

from ...models import (
    Breach,
    BreachAffected,
    Case,
    CaseCorrespondence,
    CaseDocument,
    CaseNote,
    CaseTask,
    ClockStop,
    Complaint,
    IcoCase,
    IcoDeadline,
    ReminderKey,
)

STAFF = "A member of staff"
SYSTEM = "Automatic (no member of staff)"
YOU_ONLINE = "You, through your secure page"


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
        return [{c.name: plain(c.get(obj)) for c in self.columns} for obj in self.rows(graph)]


def _staff_or_system(user_id) -> str:
    return STAFF if user_id else SYSTEM


def _history_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    return (
        column("changed_at", lambda h: h.history_date),
        column("change", lambda h: history_type_label(h.history_type, capital=True)),
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
        related, attname = f.related_model, f.attname
        assert related is not None and related != "self"  # resolved once the apps are loaded

        def staff(h: Any) -> str:
            return _staff_or_system(getattr(h, attname)) if getattr(h, attname) else ""

        def reference(h: Any) -> Any:
            return _reference(related, getattr(h, attname))

        return column(f.name, staff if related is get_user_model() else reference)
    return field(f.name)


def _unless_acting_for_other(name: str, h: Any) -> Any:
    return "" if h.acting_for_other else getattr(h, name)


def _history_rows(model: type[models.Model]) -> Callable[[SubjectRecords], Iterable[Any]]:
    """A history data set's rows: every history row of the person's rows of `model`."""

    def rows(graph: SubjectRecords) -> Iterable[Any]:
        history = graph.history(model)
        assert history is not None, model  # history data sets are made for tracked models only
        return history

    return rows


# Fields read another way than their stored value in every version of a record.
_COLUMN_OVERRIDES: dict[str, dict[str, Getter]] = {
    # Details of someone acting for the customer are that person's data, not the customer's.
    "requests.Case": {
        name: partial(_unless_acting_for_other, name)
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
        _history_rows(Customer),
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
        _history_rows(PreferenceChange),
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
        "Texts you sent us and what we did with them. For a STOP we keep no copy of the text; any other message "
        "is kept, with the number it came from, so that we can answer it.",
        (field("received_at"), field("outcome"), field("sender"), field("text"), field("handled_at")),
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
        _rows(ReminderKey, "sent_at"),
        model="requests.ReminderKey",
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
            field("on_former_address"),
            field("review"),
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
    name = record_kind(model)
    return DataSet(
        f"{model._meta.model_name}_history",
        f"Earlier versions: {name}",
        f"Every version of each {name} record above: when it changed, why, and what it held.",
        _history_columns(generic_columns(model)),
        _history_rows(model),
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


def plain(value):
    """A JSON-ready value: dates as ISO 8601 (local time), amounts as exact strings."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@contextmanager
def references_cached(graph: SubjectRecords) -> Iterator[None]:
    """While building one export: the references of the graph's requests, complaints and ICO
    cases, read once, for the columns that name them."""
    token = _REFERENCES.set(_references(graph))
    try:
        yield
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
