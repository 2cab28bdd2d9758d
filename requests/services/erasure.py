"""Erasure (UK GDPR Art 17): the preview the DPO reads before signing off, and the erasure.

THE AUDITED EXCEPTION to "never QuerySet.update() a tracked table" (with the nightly purge in
customers.services.retention). The live rows are changed the usual way, by saves and
simple-history's bulk helpers, so the erasure itself is in history with who and when. But
the personal values also sit in every *older* history row ("Mrs Quill, SW1A 1AA" as she was
last year), and a history that still says so defeats the erasure. So `customer_erase`, and
only it, overwrites those values in place in the historical tables (`bulk_update` on the
historical models). Only the personal values change: each history row itself, with its
history_user, history_date, history_type and (redacted) change reason, survives, so who
changed what and when is still known. Calls and correspondence are deleted together with
their history rows in SQL, like the purge, without the "deleted" history row simple-history
would write (it would copy the transcript once more).

What belongs to the person is the subject graph (customers.subject.subject_records), the
one answer the export, the bundle and Art 19 use too; what erasure does to each of its
models is `PLAN`, which must name every model the graph covers (a test checks). Free text
that must be kept (case notes, descriptions, change reasons, every text field of every kept
row and history row) is not blanked but redacted: every identifying value the person has
ever had is replaced by "[erased]" (requests.services.redaction). Requests and complaints
logged without choosing the customer whose details match the person are offered to the DPO
in the preview; those the DPO includes are linked to the customer and erased with it.

The certificate of erasure is written from the ledger of what the erasure did, table by
table and file by file (removed, anonymised, detached, redacted and kept, with the legal
reason for what is kept), never from fixed text.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from customers.models import (
    ERASURE_REASON,
    Customer,
    PreferenceChange,
    Purchase,
    SuppressionEntry,
)
from customers.selectors.disclosures import subject_recipients
from customers.services.ad_feed import ad_removal_add, may_be_in_an_audience
from customers.services.campaign import in_flight_redacted, results_redacted, results_write_after_commit
from customers.services.external_deletion import deletion_tasks_create
from customers.services.retention import purged_calls_of
from customers.services.suppression import suppression_add_identifiers
from customers.subject import Candidate, SubjectRecords, subject_records
from privacy_portal import legal
from privacy_portal.audit import audit_scrub, redact_free_text
from privacy_portal.history import history_model
from privacy_portal.models import AccessEvent, User
from privacy_portal.private_storage import files_delete_after_commit, private_file
from privacy_portal.services.replay import record_erasure
from privacy_portal.tracked import save_tracked

from ..models import (
    Case,
    CaseDocument,
    CaseTask,
    Complaint,
)
from .documents import HTML, document_create
from .fulfilment import Art19Action, art19_tasks_create
from .locking import transition
from .redaction import redact_rows, redactor, set_text
from .workflow import ERR_ERASURE_ONLY, require_signoff

ERASED_NAME = "Erased"
REASON = ERASURE_REASON

ERR_NO_CUSTOMER = "This erasure case has no customer record to erase."
ERR_NOT_APPROVED = "An erasure is carried out only once the DPO has signed it off."
ERR_INCLUDE = "Only requests and complaints offered in the erasure preview can be included: {keys}."

CUSTOMER_PERSONAL = {
    "title": "",
    "first_name": ERASED_NAME,
    "last_name": "",
    "email": "",
    "phone": "",
    "address_line1": "",
    "address_line2": "",
    "town": "",
    "county": "",
    "postcode": "",
    "date_of_birth": None,
}
# The person who asked (a case) or complained (a complaint).
CASE_PARTY = ("requester_name", "requester_email", "requester_phone", "requester_address")
COMPLAINT_PARTY = ("complainant_name", "complainant_email", "complainant_phone", "complainant_address")
# What erasure does to the rows of each model of the subject graph.
REMOVED, ANONYMISED, DETACHED, REDACTED_KEPT, KEPT = "removed", "anonymised", "detached", "redacted", "kept"
ACTION_LABELS = {
    REMOVED: "Removed",
    ANONYMISED: "Anonymised",
    DETACHED: "Detached from the person and kept",
    REDACTED_KEPT: "Kept, with the person's details removed or replaced by “[erased]”",
    KEPT: "Kept as they are",
}
# What the figures of each section of the certificate count.
SECTION_DONE = {
    REMOVED: ("deleted", "deleted"),
    ANONYMISED: ("anonymised", "scrubbed"),
    DETACHED: ("detached", "scrubbed"),
    REDACTED_KEPT: ("redacted", "scrubbed"),
    KEPT: ("changed", "changed"),
}
CASE_FILE_WHY = (
    f"Case files are kept {legal.CASE_FILE_RETENTION_YEARS} years after closing for legal claims (Art 17(3)(e))."
)


@dataclass(frozen=True)
class Treatment:
    action: str
    what: str
    why: str


PLAN: dict[str, Treatment] = {
    "customers.Customer": Treatment(
        ANONYMISED,
        "The customer record and every earlier version of it: name (becomes “Erased”), email, phone, postal "
        "address, town, county, postcode and date of birth",
        "Erasure upheld (Art 17(1)). The reference, dates and restriction and objection flags stay so the rows "
        "below stay meaningful without identifying anyone; who changed the record and when stays in its history.",
    ),
    "customers.PreferenceChange": Treatment(
        REDACTED_KEPT,
        "Marketing preference changes, without their free-text evidence",
        "Proof of consent and of opt-outs honoured (UK GDPR Art 7(1), PECR).",
    ),
    "customers.Call": Treatment(
        REMOVED,
        "Recorded calls and their transcripts (also unmatched calls from a number the person had), with their history",
        "Kept only for customer service and training: no longer needed (Art 17(1)(a)).",
    ),
    "customers.Correspondence": Treatment(
        REMOVED,
        "Correspondence records, with their history",
        "Kept only for customer service: no longer needed (Art 17(1)(a)).",
    ),
    "customers.Purchase": Treatment(
        DETACHED,
        "Purchases, detached from the person (any name in a description redacted)",
        f"Kept {legal.PURCHASE_RETENTION_YEARS} years for tax and guarantees (Companies Act 2006 s388, VAT Act 1994 "
        "Sch 11; Art 17(3)(b)), no longer linked to anyone.",
    ),
    "customers.Disclosure": Treatment(
        REDACTED_KEPT,
        "The disclosure log, linked only to the anonymised record (override reasons redacted)",
        "Shows what went to whom, so that each recipient can be told (Art 19) and the disclosures accounted for "
        "(Art 5(2)).",
    ),
    "customers.InboundSms": Treatment(
        REDACTED_KEPT,
        "Text messages received: the gateway's message id and what was done; the text and number of a message "
        "that was not a stop blanked, with their history",
        "So that a replayed message changes nothing; what remains holds no personal value.",
    ),
    "customers.MpsMatch": Treatment(
        KEPT,
        "Matches with the Mailing Preference Service's file: the file's line, its flag and dates (no name or address)",
        "Shows why post to the person stopped (PECR, DMA Code); linked only to the anonymised record, it holds no "
        "personal value.",
    ),
    "customers.Bereavement": Treatment(
        REDACTED_KEPT,
        "The record that the person has died (its evidence note redacted)",
        "So that no marketing is ever sent again on any channel (DMA Code); linked only to the anonymised record.",
    ),
    "customers.EmailEvent": Treatment(
        KEPT,
        "Email provider events: the provider's event id and what was done (no address)",
        "So that a redelivered event changes nothing; it holds no personal value.",
    ),
    "requests.Case": Treatment(
        REDACTED_KEPT, "Rights requests: the person's details as requester removed, free text redacted", CASE_FILE_WHY
    ),
    "requests.ClockStop": Treatment(REDACTED_KEPT, "Clock stops on those requests (questions redacted)", CASE_FILE_WHY),
    "requests.CaseDocument": Treatment(
        REDACTED_KEPT, "Records of documents on those requests (the files: see below)", CASE_FILE_WHY
    ),
    "requests.CaseTask": Treatment(REDACTED_KEPT, "Tasks on those requests (titles redacted)", CASE_FILE_WHY),
    "requests.CaseNote": Treatment(REDACTED_KEPT, "Notes on those requests (redacted)", CASE_FILE_WHY),
    "requests.ReminderKey": Treatment(KEPT, "Reminders sent to staff (threshold and date only)", CASE_FILE_WHY),
    "requests.Complaint": Treatment(
        REDACTED_KEPT, "Complaints: the person's details as complainant removed, free text redacted", CASE_FILE_WHY
    ),
    "requests.IcoCase": Treatment(REDACTED_KEPT, "The ICO's cases (what it asked, its notes: redacted)", CASE_FILE_WHY),
    "requests.IcoDeadline": Treatment(REDACTED_KEPT, "The ICO's deadlines (redacted)", CASE_FILE_WHY),
    "requests.CaseCorrespondence": Treatment(
        REDACTED_KEPT, "Correspondence records on those requests and complaints (summaries redacted)", CASE_FILE_WHY
    ),
    "requests.BreachAffected": Treatment(
        KEPT,
        "Personal-data breaches that affected the person, and whether they were told (no free text)",
        "The breach register must show who was affected and told (Art 33(5), Art 34), linked only to the "
        "anonymised record.",
    ),
    "privacy_portal.AccessEvent": Treatment(
        KEPT,
        "Access log entries: who read the record and when, by staff and record ids",
        "The append-only, hash-chained proof of who saw what (Art 5(2), Art 32); it cannot be changed.",
    ),
}

# The access log's free text sits beside its chained entries (privacy_portal.AccessEventText).
ACCESS_REASONS = Treatment(
    REDACTED_KEPT,
    "Free-text reasons typed by staff beside access log entries (e.g. break-glass): the text of the person's "
    "own entries removed, their details redacted from any other",
    "The chained entry keeps only a salted digest of the text, which can no longer be opened once the salt is "
    "destroyed; the chain still verifies (privacy_portal.audit.redact_free_text).",
)

# Call-list screenings' result files (customers.subject.MENTIONS): rows holding the person's numbers.
SCREENING_RESULTS = Treatment(
    REDACTED_KEPT,
    "Call-list screening results: the person's phone numbers in the result files replaced by “[erased]”",
    "Each row's answer (allowed or blocked, and why) stays: the evidence the campaign was screened (PECR reg 21).",
)

# The breach register (customers.subject.MENTIONS): every row and history row is searched, and
# the person's values redacted wherever they were typed.
MENTION_PLAN: dict[str, Treatment] = {
    "requests.Breach": Treatment(
        REDACTED_KEPT,
        "Breach register: incidents whose free text (what happened, how it was found, the assessment, the "
        "letter) named the person, with the person's values replaced by “[erased]”",
        "The register of breaches must be kept with the facts, effects and remedial action (Art 33(5)).",
    ),
    "requests.BreachNotification": Treatment(
        REDACTED_KEPT,
        "Breach register: reports to the ICO whose notes named the person (redacted)",
        "The register of breaches must be kept with the facts, effects and remedial action (Art 33(5)).",
    ),
    "requests.BreachTask": Treatment(
        REDACTED_KEPT,
        "Breach register: remedial tasks whose titles named the person (redacted)",
        "The register of breaches must be kept with the facts, effects and remedial action (Art 33(5)).",
    ),
    "customers.CampaignScreening": Treatment(
        REDACTED_KEPT,
        "Call-list screenings: the record's file name if it named the person (redacted)",
        "The evidence that each marketing campaign was screened against the TPS (PECR reg 21).",
    ),
}

# Files in the case files: which kinds go, which stay and why.
FILE_PLAN: dict[str, Treatment] = {
    CaseDocument.Kind.IDENTITY: Treatment(REMOVED, "Identity evidence", "A copy of the person's documents, not part "
                                          "of the case file: no longer needed (Art 17(1)(a))."),
    CaseDocument.Kind.EXPORT: Treatment(REMOVED, "Access-export packages", "A copy of the person's data: no longer "
                                        "needed (Art 17(1)(a))."),
    CaseDocument.Kind.AUTHORITY: Treatment(KEPT, "Evidence of authority, with the person's details in it", "Part of "
                                           f"the case file: {CASE_FILE_WHY}"),
    CaseDocument.Kind.CORRESPONDENCE: Treatment(KEPT, "Letters filed on the cases, with the person's details in "
                                                "them", f"Part of the case file: {CASE_FILE_WHY}"),
    CaseDocument.Kind.CERTIFICATE: Treatment(KEPT, "Earlier certificates of erasure (no personal data)",
                                             "Proof that the request was handled (Art 5(2))."),
    "attachment": Treatment(KEPT, "Attachments of case-file correspondence (letters, emails), with the person's "
                            "details in them", f"Part of the case file: {CASE_FILE_WHY}"),
}  # fmt: skip
FILE_KINDS_DELETED: tuple[str, ...] = tuple(k for k, t in FILE_PLAN.items() if t.action == REMOVED)

# The person who asked (a case) or complained (a complaint).
CASE_PARTY = ("requester_name", "requester_email", "requester_phone", "requester_address")
COMPLAINT_PARTY = ("complainant_name", "complainant_email", "complainant_phone", "complainant_address")
# Text fields that are the record's own codes, never free text (unique references, paths).
NOT_FREE_TEXT = {"path", "attachment_path", "content_type", "attachment_type", "recording_ref"}


def free_text_fields(model: type[models.Model]) -> tuple[str, ...]:
    """Every text field of `model` that may hold what someone wrote: not choices, not unique
    references, not file paths. A field added later is redacted without anyone listing it."""
    return tuple(
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, (models.CharField, models.TextField))
        and not f.choices
        and not f.unique
        and not isinstance(f, models.SlugField)
        and f.name not in NOT_FREE_TEXT
    )


# --- The preview -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    what: str
    count: int | None
    why: str
    history: int | None = None
    model: str = ""


@dataclass
class ErasurePreview:
    """What erasing the customer will anonymise, delete and keep, and why. Counts and
    categories only: the preview holds no personal data."""

    customer_reference: str
    already_erased: bool
    anonymise: list[Line] = field(default_factory=list)
    delete: list[Line] = field(default_factory=list)
    keep: list[Line] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Requests and complaints logged without choosing the customer that match the person:
    # the DPO may include them in the erasure.
    candidates: list[Candidate] = field(default_factory=list)


def _history_count(graph: SubjectRecords, model) -> int | None:
    history = graph.history(model)
    return history.count() if history is not None else None


def erasure_preview(*, customer: Customer, include: Iterable[str] = ()) -> ErasurePreview:
    """List what erasure will do to `customer`'s data, for the DPO to read before signing off."""
    graph = subject_records(customer, include=include, keep=[ERASED_NAME])
    preview = ErasurePreview(customer_reference=customer.reference, already_erased=customer.is_erased)
    preview.recipients = [entry.recipient.name for entry in subject_recipients(graph)]
    preview.candidates = graph.candidates
    groups = {ANONYMISED: preview.anonymise, REMOVED: preview.delete}
    for label, treatment in PLAN.items():
        model = apps.get_model(label)
        line = Line(treatment.what, graph.rows(model).count(), treatment.why, _history_count(graph, model), model=label)
        groups.get(treatment.action, preview.keep).append(line)
    typed = graph.rows(AccessEvent).exclude(reason_digest="").count()
    if typed:
        preview.keep.append(Line(ACCESS_REASONS.what, typed, ACCESS_REASONS.why))
    redact = redactor(graph.identifiers)
    for label, treatment in MENTION_PLAN.items():
        model = apps.get_model(label)
        rows, history = _mentioning(model, redact)
        if rows or history:
            preview.keep.append(Line(treatment.what, rows, treatment.why, history, model=label))
    results = results_redacted(phones=graph.identifiers.phones, references=frozenset({customer.reference}))
    if results:
        preview.keep.append(Line(f"Files: {SCREENING_RESULTS.what}", len(results), SCREENING_RESULTS.why))
    files = graph.files()
    for kind, treatment in FILE_PLAN.items():
        count = sum(1 for f in files if _file_kind(f) == kind)
        if count:
            (preview.delete if treatment.action == REMOVED else preview.keep).append(
                Line(f"Files: {treatment.what}", count, treatment.why)
            )
    ids = graph.identifiers
    preview.keep.append(
        Line(
            "Suppression entries: keyed one-way hashes of every email, phone number and postal address the person "
            "has had, current and former",
            2 * len(ids.phones) + len(ids.emails) + len(ids.postal_keys),
            "So the person is never marketed to again (Art 21(3), PECR); a hash shows no personal value.",
        )
    )
    preview.keep.append(
        Line(
            "This case's certificate of erasure (no personal data)",
            None,
            "Proof that the request was handled (Art 5(2)), kept as a case file.",
        )
    )
    preview.warnings = _warnings(graph)
    return preview


def _file_kind(f) -> str:
    return f.kind if f.model is CaseDocument else "attachment"


def _warnings(graph: SubjectRecords) -> list[str]:
    warnings = []
    today = timezone.localdate()
    running = [
        p
        for p in graph.rows(Purchase).filter(
            payment_method=Purchase.PaymentMethod.INSTALMENTS, instalments__isnull=False
        )
        if p.ordered_on + relativedelta(months=p.instalments) >= today
    ]
    if running:
        warnings.append(
            f"{len(running)} instalment plan(s) may still be running: money may be owed. Consider whether "
            "the data is needed for a legal claim (Art 17(3)(e)) before approving."
        )
    others = list(
        Case.objects.filter(pk__in=graph.case_ids, status__in=Case.OPEN_STATUSES)
        .exclude(right=Case.Right.ERASURE)
        .order_by("pk")
        .values_list("reference", flat=True)
    )
    if others:
        warnings.append(f"Other open cases for this customer will refer to an anonymised record: {', '.join(others)}.")
    if graph.candidates:
        warnings.append(
            f"{len(graph.candidates)} request(s) or complaint(s) logged without choosing the customer match the "
            "person's details: include them below if they are the person's."
        )
    return warnings


def _scrub_history(
    model: type[models.Model], filters: Q, fields: Iterable[str], redact, *, blank: Iterable[str] = ()
) -> int:
    """Redact personal values (and the change reason) in place in `model`'s history rows, and
    blank the `blank` fields; return how many history rows this changed."""
    history = history_model(model)
    blank = tuple(blank)
    names = list(dict.fromkeys([*fields, *blank, "history_change_reason"]))
    rows = history.objects.filter(filters).only("history_id", *names).iterator(chunk_size=2000)
    changed = []
    for row in rows:
        dirty = False
        for name in names:
            old = getattr(row, name)
            if old:
                dirty = set_text(row, name, "" if name in blank else redact(old)) or dirty
        if dirty:
            changed.append(row)
    history.objects.bulk_update(changed, names, batch_size=500)
    return len(changed)


def _scrubbed_history_ids(model: type[models.Model], filters: Q, redact, fields: Iterable[str] = ()) -> set[int]:
    """Like _scrub_history, but the ids of the history rows it changed (to count a row once
    when two steps touch it)."""
    history = history_model(model)
    names = [*fields, "history_change_reason"]
    rows = history.objects.filter(filters).only("history_id", *names).iterator(chunk_size=2000)
    changed = redact_rows(rows, names, redact)
    history.objects.bulk_update(changed, names, batch_size=500)
    return {row.history_id for row in changed}


def _scrub_party(row, fields: Iterable[str], redact, *, blank: bool) -> None:
    """The customer's own details as the one who asked or complained go (blank); anyone
    else's (a solicitor or relative acting for them) stay as the record of who acted, with
    the customer's details redacted out of them."""
    for name in fields:
        set_text(row, name, "" if blank else redact(getattr(row, name)))


def _scrub_case(row, customer: Customer, redact) -> None:
    """A case, or a history row of one. Blanking needs the customer still on the case (a case
    needs a customer or a requester's name)."""
    _scrub_party(row, CASE_PARTY, redact, blank=row.customer_id == customer.pk and not row.acting_for_other)
    for name in free_text_fields(Case):
        if name not in CASE_PARTY:
            set_text(row, name, redact(getattr(row, name)))


def _scrub_complaint(row, customer: Customer, redact) -> None:
    """A complaint, or a history row of one. A complaint about the customer was made by the
    customer (there is no "acting for" on complaints); one linked only through a case may
    have come from someone else, so it is redacted instead."""
    _scrub_party(row, COMPLAINT_PARTY, redact, blank=row.customer_id == customer.pk)
    for name in free_text_fields(Complaint):
        if name not in COMPLAINT_PARTY:
            set_text(row, name, redact(getattr(row, name)))


# --- The erasure -------------------------------------------------------------------------------


@dataclass
class LedgerLine:
    """What the erasure did to one table (or one kind of file), counted from what each
    operation did, never from the graph: `rows` removed, anonymised, detached or redacted (or
    files deleted); `history_rows` earlier versions removed or scrubbed (None: the model keeps
    no history); `unchanged` the person's rows kept as they were (nothing in them to remove);
    and, for what is kept, the legal reason."""

    model: str
    what: str
    action: str
    rows: int
    history_rows: int | None
    why: str
    unchanged: int = 0


@dataclass
class Ledger:
    tables: list[LedgerLine] = field(default_factory=list)
    files: list[LedgerLine] = field(default_factory=list)
    suppressed: int = 0
    # New entries of the advertising audiences' removal files (customers.AdRemovalEntry).
    ad_removal: int | None = None
    included: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows removed or changed per table (the scrub entry in the access log records these)."""
        return {line.model: line.rows for line in self.tables}


@dataclass
class ErasureResult:
    counts: dict[str, int]
    tasks: list[CaseTask]
    certificate: CaseDocument
    ledger: Ledger


def _check(actor: User, case: Case) -> None:
    if case.right != Case.Right.ERASURE:
        raise ValidationError(ERR_ERASURE_ONLY)
    if case.customer_id is None:
        raise ValidationError(ERR_NO_CUSTOMER)
    being_signed_off = case.status == Case.Status.AWAITING_SIGNOFF and case.pending_signoff == Case.Signoff.ERASURE
    # A completed erasure case was signed off (case_complete refuses erasures): a re-run,
    # e.g. after restoring a backup taken before the erasure, carries it out again.
    pending = being_signed_off or case.status == Case.Status.COMPLETED
    require_signoff(actor, case, pending=pending, err_not_pending=ERR_NOT_APPROVED)


def _raw_delete(model: type[models.Model], ids: list[int]) -> int:
    """DELETE by id in SQL: no signal, so no "deleted" history row copying the values again.
    Returns how many rows were deleted."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [ids])  # noqa: S608 (name from model meta)
        return cursor.rowcount


def _delete_with_history(model: type[models.Model], graph: SubjectRecords) -> tuple[int, int, int]:
    """(rows deleted, history rows deleted, rows kept unchanged: none)."""
    ids = sorted(graph.ids(model))
    history = history_model(model)
    history_rows, _ = history.objects.filter(Q(id__in=ids) | graph.scope(model)).delete()
    return (_raw_delete(model, ids) if ids else 0), history_rows, 0


def _include(actor: User, customer: Customer, graph: SubjectRecords, case: Case) -> None:
    """Link the requests and complaints the DPO included to the customer, so they are erased
    with it (and a re-run finds them as the customer's)."""
    reason = f"Included by the DPO in the erasure of {customer.reference} under {case.reference}"
    for candidate in graph.included:
        model = Case if candidate.kind == "case" else Complaint
        row = model.objects.select_for_update().get(pk=candidate.pk)
        row.customer = customer
        save_tracked(row, actor=actor, reason=reason)


@transition("case")
def customer_erase(*, actor: User, case: Case, include: Iterable[str] = ()) -> ErasureResult | None:
    """Erase the customer of an erasure case the DPO (`actor`) has signed off.

    `include`: keys of requests and complaints logged without choosing the customer that the
    preview offered (ErasurePreview.candidates) and the DPO chose to include.

    Called by case_signoff inside its transaction, so the sign-off and the erasure commit
    together or not at all; files are touched only once the transaction commits. Running it
    again changes nothing (returns None): an erased customer is left as it is.

    In order: suppress every identifier the person ever had (before blanking it); remove,
    detach, anonymise or redact the rows of every model of the subject graph as PLAN says,
    their history rows too; open an Art 19 task per recipient; write the certificate of
    erasure from the ledger of what was done.
    """
    _check(actor, case)
    assert case.customer_id is not None  # _check refused a case without one
    customer = Customer.objects.select_for_update().get(pk=case.customer_id)
    if customer.is_erased:
        return None
    include = list(include)
    graph = subject_records(customer, include=include, keep=[ERASED_NAME])
    unknown = sorted(set(include) - {c.key for c in graph.included})
    if unknown:
        raise ValidationError({"include": ERR_INCLUDE.format(keys=", ".join(unknown))})
    _include(actor, customer, graph, case)
    now = timezone.now()
    redact = redactor(graph.identifiers)
    ledger = Ledger(included=[c.reference for c in graph.included])
    # Recipients before anything changes (Art 19 asks who received the data).
    recipients = subject_recipients(graph)

    suppressed = suppression_add_identifiers(
        actor=actor, identifiers=graph.identifiers, reason=SuppressionEntry.Reason.ERASED
    )
    ledger.suppressed = len(suppressed)
    if may_be_in_an_audience(customer):
        ids = graph.identifiers
        ledger.ad_removal = ad_removal_add(actor=actor, emails=ids.emails, phones=ids.phones)
    files = graph.files()
    # Per table: (rows removed or changed, history rows removed or scrubbed, rows kept as they were).
    done: dict[str, tuple[int, int | None, int]] = {}
    # The recording store and the transcription provider hold copies of the calls: each is
    # asked to delete them (a deletion task, tracked until confirmed).
    erased_calls = purged_calls_of(graph.rows(apps.get_model("customers.Call")))
    for label in ("customers.Call", "customers.Correspondence"):
        done[label] = _delete_with_history(apps.get_model(label), graph)
    deletion_tasks_create(actor=actor, calls=erased_calls, cause="erasure", source_reference=case.reference, now=now)
    done["customers.Purchase"] = _detach_purchases(actor, graph, redact, now)
    done["customers.PreferenceChange"] = _blank_preference_evidence(actor, graph, redact)
    done["customers.InboundSms"] = _blank_inbound_sms(actor, graph, redact)
    paths, case_files_done, files_removed = _scrub_case_files(actor, case, graph, customer, redact, now)
    done.update(case_files_done)
    for label, treatment in PLAN.items():
        model = apps.get_model(label)
        if label in done or label == "customers.Customer":
            continue
        if treatment.action == REDACTED_KEPT:
            changed, history, total = _redact_model(actor, model, graph, redact)
            changed |= files_removed if model is CaseDocument else set()  # their file deleted, path blanked
            done[label] = (len(changed), history, total - len(changed))
        else:  # kept as they are
            done[label] = (0, 0 if hasattr(model, "history") else None, graph.rows(model).count())

    for name, value in CUSTOMER_PERSONAL.items():
        setattr(customer, name, value)
    customer.erased_at = now
    customer.version += 1
    save_tracked(customer, actor=actor, reason=f"{REASON} under {case.reference}")
    # The audited exception: personal values out of every earlier version of the record.
    still_personal = Q()
    for name, value in CUSTOMER_PERSONAL.items():
        still_personal |= Q(**{f"{name}__isnull": False}) if value is None else ~Q(**{name: value})
    scrubbed = set(customer.history.filter(still_personal).values_list("history_id", flat=True))
    customer.history.filter(history_id__in=scrubbed).update(**CUSTOMER_PERSONAL)
    scrubbed |= _scrubbed_history_ids(Customer, Q(id=customer.pk), redact)
    done["customers.Customer"] = (1, len(scrubbed), 0)
    case.customer = customer

    for label, treatment in PLAN.items():
        rows, history_rows, unchanged = done[label]
        ledger.tables.append(
            LedgerLine(label, treatment.what, treatment.action, rows, history_rows, treatment.why, unchanged)
        )
    for label, treatment in MENTION_PLAN.items():
        rows, history_rows = _redact_mentions(actor, apps.get_model(label), redact)
        ledger.tables.append(LedgerLine(label, treatment.what, treatment.action, rows, history_rows, treatment.why))
    # The screenings' result files hold the numbers screened: the person's go from every one kept.
    results = results_redacted(phones=graph.identifiers.phones, references=frozenset({customer.reference}))
    results_write_after_commit(results)
    # A list still being screened holds the numbers too: redacted, and screened again from the start.
    lists = len(results) + in_flight_redacted(
        phones=graph.identifiers.phones, references=frozenset({customer.reference})
    )
    if lists:
        t = SCREENING_RESULTS
        ledger.files.append(LedgerLine("call_list_results", t.what, t.action, lists, None, t.why))
    typed = redact_free_text(customer_id=customer.pk, actor=actor, redact=redact)
    if typed:
        t = ACCESS_REASONS
        ledger.tables.append(LedgerLine("privacy_portal.AccessEventText", t.what, t.action, typed, None, t.why))
    for kind, treatment in FILE_PLAN.items():
        held = [f for f in files if _file_kind(f) == kind and private_file(f.path) is not None]
        if held:
            # Files removed: those held now, deleted once the erasure commits (`paths`).
            count = sum(1 for f in held if f.path in paths) if treatment.action == REMOVED else len(held)
            ledger.files.append(LedgerLine(kind, treatment.what, treatment.action, count, None, treatment.why))

    tasks = art19_tasks_create(actor=actor, case=case, action=Art19Action.ERASURE, recipients=recipients)
    certificate = _certificate(actor, case, customer, ledger, now, [entry.recipient.name for entry in recipients])
    counts = ledger.counts()
    # The replay ledger (outside the database): ids and keyed hashes, so a restored backup is
    # erased again by `replay_erasures`. Written once this commits; its copy in the scrub entry
    # below lets the reconciliation write it if the process dies first (replay.ledger_reconcile).
    replay_line = record_erasure(
        case_id=case.pk, customer_id=customer.pk, actor_id=actor.pk, include=include, suppression=suppressed
    )
    # A chained entry in the access log: what was scrubbed (tables and counts), never the values.
    details = {"case": case.reference, "counts": counts, "customer_fields": sorted(CUSTOMER_PERSONAL)}
    audit_scrub(
        actor=actor,
        what="erasure",
        customer_id=customer.pk,
        details={**details, "replay": replay_line} if replay_line else details,
    )
    files_delete_after_commit(paths)
    return ErasureResult(counts=counts, tasks=tasks, certificate=certificate, ledger=ledger)


def _redact_model(actor: User, model: type[models.Model], graph: SubjectRecords, redact) -> tuple[set, int | None, int]:
    """Redact every free-text field of the person's rows of `model`, and of their history.
    Returns (ids of the rows redacted, history rows scrubbed, the person's rows of `model`)."""
    fields = free_text_fields(model)
    rows = list(graph.rows(model))
    changed = redact_rows(rows, fields, redact) if fields else []
    if changed:
        tracked = hasattr(model, "history")
        if tracked:
            bulk_update_with_history(
                changed, model, list(fields), batch_size=1000, default_user=actor, default_change_reason=REASON
            )
        else:
            model._default_manager.bulk_update(changed, list(fields), batch_size=1000)
    history = _scrub_history(model, graph.scope(model), fields, redact) if hasattr(model, "history") else None
    return {row.pk for row in changed}, history, len(rows)


def _mentioning(model: type[models.Model], redact) -> tuple[int, int]:
    """How many rows and history rows of a register (MENTIONS) name the person."""
    fields = free_text_fields(model)
    rows = sum(1 for row in model._default_manager.only("pk", *fields) if redact_rows([row], fields, redact))
    names = [*fields, "history_change_reason"]
    past = history_model(model).objects.only("history_id", *names)
    return rows, sum(1 for row in past.iterator(chunk_size=2000) if redact_rows([row], names, redact))


def _redact_mentions(actor: User, model: type[models.Model], redact) -> tuple[int, int]:
    """A register about incidents, not people (customers.subject.MENTIONS): the person's values
    out of every row and every history row, wherever they were typed. Returns (rows redacted,
    history rows scrubbed)."""
    fields = free_text_fields(model)
    rows = model._default_manager.select_for_update().order_by("pk")
    changed = redact_rows(rows.iterator(chunk_size=2000), fields, redact)
    bulk_update_with_history(
        changed, model, list(fields), batch_size=1000, default_user=actor, default_change_reason=REASON
    )
    # The history rows just written hold the redacted text already: only earlier ones change.
    return len(changed), _scrub_history(model, Q(), fields, redact)


def _detach_purchases(actor: User, graph: SubjectRecords, redact, now: datetime.datetime) -> tuple[int, int, int]:
    """Purchases stay (tax, guarantees), linked to no one; their history forgets the link too.
    A description naming the customer (an engraving: "To Peregrine, 60 today") is redacted."""
    purchases = list(graph.rows(Purchase))
    fields = free_text_fields(Purchase)
    for purchase in purchases:
        purchase.customer = None
        purchase.detached_at = now
        for name in fields:
            set_text(purchase, name, redact(getattr(purchase, name)))
    bulk_update_with_history(
        purchases,
        Purchase,
        ["customer", "detached_at", *fields],
        batch_size=1000,
        default_user=actor,
        default_change_reason=f"Detached from the customer: {REASON}",
    )
    ids = [p.pk for p in purchases]
    scope = Q(id__in=ids) | graph.scope(Purchase)
    scrubbed = _scrubbed_history_ids(Purchase, scope, redact, fields)
    linked = Purchase.history.filter(scope, customer__isnull=False)
    scrubbed |= set(linked.values_list("history_id", flat=True))
    linked.update(customer=None)
    return len(purchases), len(scrubbed), 0


def _blank_preference_evidence(actor: User, graph: SubjectRecords, redact) -> tuple[int, int, int]:
    """Preference changes are kept as the proof of consent and of opt-outs honoured; their
    free-text evidence, the one field that may hold personal details, is blanked, and any
    other text field redacted."""
    rows = list(graph.rows(PreferenceChange))
    fields = [f for f in free_text_fields(PreferenceChange) if f != "evidence"]
    changed = []
    for change in rows:
        dirty = set_text(change, "evidence", "")
        for name in fields:
            dirty = set_text(change, name, redact(getattr(change, name))) or dirty
        if dirty:
            changed.append(change)
    bulk_update_with_history(
        changed,
        PreferenceChange,
        ["evidence", *fields],
        batch_size=1000,
        default_user=actor,
        default_change_reason=REASON,
    )
    history = _scrub_history(PreferenceChange, graph.scope(PreferenceChange), fields, redact, blank=["evidence"])
    return len(changed), history, len(rows) - len(changed)


def _blank_inbound_sms(actor: User, graph: SubjectRecords, redact) -> tuple[int, int, int]:
    """Texts are kept by message id (a replay changes nothing) without what they said or the
    number they came from: anything may be written in a text, so it is blanked, not redacted."""
    model = apps.get_model("customers.InboundSms")
    rows = list(graph.rows(model))
    changed = []
    for message in rows:
        dirty = set_text(message, "text", "")
        dirty = set_text(message, "sender", "") or dirty
        if dirty:
            changed.append(message)
    bulk_update_with_history(
        changed, model, ["text", "sender"], batch_size=1000, default_user=actor, default_change_reason=REASON
    )
    history = _scrub_history(model, graph.scope(model), [], redact, blank=["text", "sender"])
    return len(changed), history, len(rows) - len(changed)


def _values(row, fields: Iterable[str]) -> tuple:
    return tuple(getattr(row, name) for name in fields)


def _scrub_case_files(
    actor: User, case: Case, graph: SubjectRecords, customer: Customer, redact, now
) -> tuple[list[str], dict[str, tuple[int, int, int]], set[int]]:
    """The customer's cases and complaints are kept (case-file retention) without the
    customer's details. Returns the paths of files to delete once the transaction commits,
    per model (rows changed, history rows scrubbed, rows with nothing to change), and the ids
    of the document records whose file goes."""
    reason = f"Customer's details removed: {REASON}"
    case_fields = (*CASE_PARTY, *free_text_fields(Case))
    complaint_fields = (*COMPLAINT_PARTY, *free_text_fields(Complaint))
    live = {"requests.Case": [0, 0, 0], "requests.Complaint": [0, 0, 0]}
    for row in [*Case.objects.filter(pk__in=graph.case_ids).exclude(pk=case.pk), case]:
        # `case` is the very instance case_signoff saves after us.
        before = _values(row, case_fields)
        _scrub_case(row, customer, redact)
        changed = _values(row, case_fields) != before
        live["requests.Case"][0 if changed else 2] += 1
        if changed or row is case:
            save_tracked(row, actor=actor, reason=reason)
    for complaint in Complaint.objects.filter(pk__in=graph.complaint_ids):
        before = _values(complaint, complaint_fields)
        _scrub_complaint(complaint, customer, redact)
        changed = _values(complaint, complaint_fields) != before
        live["requests.Complaint"][0 if changed else 2] += 1
        if changed:
            save_tracked(complaint, actor=actor, reason=reason)
    # The audited exception: the same for every history row of those cases and complaints.
    for model, scrub, fields in (
        (Case, _scrub_case, tuple(dict.fromkeys(("acting_for_other", *CASE_PARTY, *free_text_fields(Case))))),
        (Complaint, _scrub_complaint, tuple(dict.fromkeys((*COMPLAINT_PARTY, *free_text_fields(Complaint))))),
    ):
        ids = graph.case_ids if model is Case else graph.complaint_ids
        history = model.history.filter(id__in=ids)
        editable = [f for f in fields if f != "acting_for_other"]
        rows = list(history.only("history_id", "customer_id", "history_change_reason", *fields))
        scrubbed = []
        for row in rows:
            before = _values(row, [*editable, "history_change_reason"])
            scrub(row, customer, redact)
            set_text(row, "history_change_reason", redact(row.history_change_reason or ""))
            if _values(row, [*editable, "history_change_reason"]) != before:
                scrubbed.append(row)
        history_model(model).objects.bulk_update(scrubbed, [*editable, "history_change_reason"], batch_size=500)
        live[model._meta.label][1] = len(scrubbed)

    docs = list(graph.rows(CaseDocument).filter(kind__in=FILE_KINDS_DELETED, deleted_at__isnull=True))
    paths = [doc.path for doc in docs if doc.path]
    for doc in docs:
        doc.path, doc.deleted_at, doc.deletion_reason = "", now, REASON
    bulk_update_with_history(
        docs, CaseDocument, ["path", "deleted_at", "deletion_reason"], default_user=actor, default_change_reason=REASON
    )
    return paths, {label: (counts[0], counts[1], counts[2]) for label, counts in live.items()}, {doc.pk for doc in docs}


def _certificate(
    actor: User, case: Case, customer: Customer, ledger: Ledger, now, recipients: list[str]
) -> CaseDocument:
    """The certificate of erasure, written from the ledger of what the erasure did: per table
    and kind of file, removed, anonymised, detached, redacted or kept, with the reason for
    what is kept. No personal data. The row is saved now; the file once the transaction commits."""
    sections = [
        {
            "title": ACTION_LABELS[action],
            "done": SECTION_DONE[action][0],
            "history_done": SECTION_DONE[action][1],
            "lines": [line for line in ledger.tables if line.action == action],
        }
        for action in ACTION_LABELS
    ]
    html = render_to_string(
        "requests/erasure_certificate.html",
        {
            "case": case,
            "customer_reference": customer.reference,
            "erased_at": now,
            "dpo_id": actor.pk,
            "sections": [s for s in sections if s["lines"]],
            "files": ledger.files,
            "file_labels": ACTION_LABELS,
            "suppressed": ledger.suppressed,
            "ad_removal": ledger.ad_removal,
            "included": ledger.included,
            "recipients": recipients,
        },
    )
    data = html.encode()
    return document_create(
        actor=actor,
        case=case,
        kind=CaseDocument.Kind.CERTIFICATE,
        data=data,
        content_type=HTML,
        ext="html",
        reason="Certificate of erasure",
        uploaded_at=now,
    )
