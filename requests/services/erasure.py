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

Free text that must be kept (case notes, the case's description, change reasons) is not
blanked but redacted: every form of the customer's names, emails, phone numbers, postcodes
and address lines ever held is replaced by "[erased]" (requests.services.redaction).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from customers.models import (
    Call,
    Channel,
    Correspondence,
    Customer,
    Disclosure,
    PreferenceChange,
    Purchase,
    SuppressionEntry,
)
from customers.services.suppression import channel_identifier, suppression_add_customer
from privacy_portal import legal
from privacy_portal.audit import audit_scrub
from privacy_portal.models import AccessEvent

from ..models import (
    Case,
    CaseCorrespondence,
    CaseDocument,
    CaseNote,
    CaseTask,
    ClockStop,
    Complaint,
    IcoCase,
    IcoDeadline,
)
from .cases import ERR_ERASURE_ONLY, ERR_SELF_SIGNOFF, ERR_SIGNOFF_PERMISSION
from .documents import private_path
from .fulfilment import Art19Action, art19_tasks_create, write_on_commit
from .locking import transition
from .redaction import redact_rows, redactor_for, set_text

ERASED_NAME = "Erased"
REASON = "Erased (Art 17)"
# Files on the customer's cases that are copies of their data, not the case file itself.
FILE_KINDS_DELETED = (CaseDocument.Kind.IDENTITY, CaseDocument.Kind.EXPORT)
FILES_KEPT = (CaseDocument.Kind.AUTHORITY, CaseDocument.Kind.CORRESPONDENCE)

ERR_NO_CUSTOMER = "This erasure case has no customer record to erase."
ERR_NOT_APPROVED = "An erasure is carried out only once the DPO has signed it off."

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
CASE_TEXT = (
    "representative_relationship",
    "authority_note",
    "description",
    "signoff_reason",
    "outcome",
    "extension_reason",
)
COMPLAINT_TEXT = ("description", "response_summary", "review_outcome", "outcome")
# Other free text kept in the case files, redacted: model -> fields.
CASE_FILE_TEXT: dict[type[models.Model], tuple[str, ...]] = {
    CaseNote: ("text",),
    ClockStop: ("question",),
    CaseTask: ("title",),
    CaseDocument: ("deletion_reason",),
    CaseCorrespondence: ("summary",),
    IcoCase: ("requested", "outcome_notes"),
    IcoDeadline: ("what",),
}


# --- The preview -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    what: str
    count: int | None
    why: str


@dataclass
class ErasurePreview:
    """What erasing the customer will anonymise, delete and keep, and why. Counts and
    categories only: the preview (and the certificate made from it) holds no personal data."""

    customer_reference: str
    already_erased: bool
    anonymise: list[Line] = field(default_factory=list)
    delete: list[Line] = field(default_factory=list)
    keep: list[Line] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFiles:
    """The rights-request cases and complaints that are, or ever were, about the customer."""

    case_ids: set[int]
    complaint_ids: set[int]
    ico_ids: set[int]

    @classmethod
    def of(cls, customer: Customer) -> CaseFiles:
        case_ids = set(Case.objects.filter(customer=customer).values_list("pk", flat=True))
        case_ids |= set(Case.history.filter(customer_id=customer.pk).values_list("id", flat=True))
        complaints = Complaint.objects.filter(Q(customer=customer) | Q(cases__in=case_ids))
        complaint_ids = set(complaints.values_list("pk", flat=True))
        complaint_ids |= set(Complaint.history.filter(customer_id=customer.pk).values_list("id", flat=True))
        ico_ids = set(IcoCase.objects.filter(complaint_id__in=complaint_ids).values_list("pk", flat=True))
        return cls(case_ids, complaint_ids, ico_ids)

    def scope(self, model: type[models.Model]) -> Q:
        """Rows of `model` in these files (also valid on its history table: same column names)."""
        if model is IcoCase:
            return Q(complaint_id__in=self.complaint_ids)
        if model is IcoDeadline:
            return Q(ico_case_id__in=self.ico_ids)
        if model is CaseCorrespondence:
            return Q(case_id__in=self.case_ids) | Q(complaint_id__in=self.complaint_ids)
        return Q(case_id__in=self.case_ids)


def _call_filter(customer: Customer) -> Q:
    """The customer's calls, and unmatched calls from any number the customer has had (calls
    are kept six months: an unmatched call from the customer's number is almost surely theirs)."""
    numbers = {customer.phone, *customer.history.values_list("phone", flat=True)} - {""}
    return Q(customer=customer) | Q(customer__isnull=True, customer_number__in=numbers)


def erasure_preview(*, customer: Customer) -> ErasurePreview:
    """List what erasure will do to `customer`'s data, for the DPO to read before signing off."""
    from customers.disclosure_selectors import art19_recipients

    files = CaseFiles.of(customer)
    recipients = [entry.recipient.name for entry in art19_recipients(customer)]
    purchases = Purchase.objects.filter(customer=customer)
    preview = ErasurePreview(customer_reference=customer.reference, already_erased=customer.is_erased)
    preview.recipients = recipients
    preview.anonymise = [
        Line(
            "Name (becomes “Erased”), email, phone, postal address, postcode and date of birth, "
            "on the customer record and in every earlier version of it",
            customer.history.count(),
            "Erasure upheld (Art 17(1)); who changed the record and when stays in its history.",
        ),
        Line(
            "Free-text evidence notes on preference changes (the changes themselves are kept)",
            PreferenceChange.objects.filter(customer=customer).exclude(evidence="").count(),
            "The record of opt-ins and opt-outs is proof of consent and of opt-outs honoured "
            "(UK GDPR Art 7(1), PECR); only the notes might hold personal details.",
        ),
        Line(
            "The customer's details in rights-request and complaint files: who asked, notes, descriptions",
            len(files.case_ids) + len(files.complaint_ids),
            f"Case files are kept {legal.CASE_FILE_RETENTION_YEARS} years after closing for legal claims "
            "(Art 17(3)(e)), without the customer's details.",
        ),
    ]
    preview.delete = [
        Line(
            "Recorded calls and their transcripts, with their history",
            Call.objects.filter(_call_filter(customer)).count(),
            "Kept only for customer service and training: no longer needed (Art 17(1)(a)).",
        ),
        Line(
            "Correspondence records, with their history",
            Correspondence.objects.filter(customer=customer).count(),
            "Kept only for customer service: no longer needed (Art 17(1)(a)).",
        ),
        Line(
            "Identity evidence and access-export files on the customer's cases",
            CaseDocument.objects.filter(
                case_id__in=files.case_ids, kind__in=FILE_KINDS_DELETED, deleted_at__isnull=True
            ).count(),
            "Copies of the customer's data, not part of the case file.",
        ),
    ]
    identifiers = sum(1 for channel in Channel.values if channel_identifier(customer, channel))
    preview.keep = [
        Line(
            "Purchases, detached from the person",
            purchases.count(),
            f"Kept {legal.PURCHASE_RETENTION_YEARS} years for tax and guarantees (Companies Act 2006 s388, "
            "VAT Act 1994 Sch 11; Art 17(3)(b)), no longer linked to anyone.",
        ),
        Line(
            "Suppression entries: keyed one-way hashes of the email, phone and postal address",
            identifiers,
            "So the person is never marketed to again (Art 21(3), PECR); a hash shows no personal value.",
        ),
        Line(
            "The disclosure log, linked only to the anonymised record",
            Disclosure.objects.filter(customer=customer).count(),
            f"Shows what went to whom. Recipients to tell of the erasure (Art 19): {len(recipients)}.",
        ),
        Line(
            "This case, its history and the certificate of erasure (no personal data)",
            None,
            "Proof that the request was handled (Art 5(2)), kept as a case file.",
        ),
        Line(
            "Letters and documents filed in the cases and complaints (evidence of authority, correspondence)",
            CaseDocument.objects.filter(
                case_id__in=files.case_ids, deleted_at__isnull=True, kind__in=FILES_KEPT
            ).count()
            + CaseCorrespondence.objects.filter(files.scope(CaseCorrespondence)).exclude(attachment_path="").count(),
            f"Part of the case file, kept {legal.CASE_FILE_RETENTION_YEARS} years for legal claims (Art 17(3)(e)).",
        ),
        Line(
            "Access log entries",
            AccessEvent.objects.filter(customer_id=customer.pk).count(),
            "They hold staff and record ids only, never personal values.",
        ),
        Line(
            "The anonymised record itself: reference, dates, restriction and objection flags",
            1,
            "Keeps the flags and the links above meaningful without identifying anyone.",
        ),
    ]
    preview.warnings = _warnings(files.case_ids, purchases)
    return preview


def _warnings(case_ids: set[int], purchases) -> list[str]:
    warnings = []
    today = timezone.localdate()
    running = [
        p
        for p in purchases.filter(payment_method=Purchase.PaymentMethod.INSTALMENTS, instalments__isnull=False)
        if p.ordered_on + relativedelta(months=p.instalments) >= today
    ]
    if running:
        warnings.append(
            f"{len(running)} instalment plan(s) may still be running: money may be owed. Consider whether "
            "the data is needed for a legal claim (Art 17(3)(e)) before approving."
        )
    others = list(
        Case.objects.filter(pk__in=case_ids, status__in=Case.OPEN_STATUSES)
        .exclude(right=Case.Right.ERASURE)
        .values_list("reference", flat=True)
    )
    if others:
        warnings.append(f"Other open cases for this customer will refer to an anonymised record: {', '.join(others)}.")
    return warnings


def _scrub_history(model: type[models.Model], filters: Q, fields: Iterable[str], redact) -> int:
    """Redact personal values (and the change reason) in place in `model`'s history rows."""
    history = model.history.model
    names = [*fields, "history_change_reason"]
    rows = history.objects.filter(filters).only("history_id", *names).iterator(chunk_size=2000)
    changed = redact_rows(rows, names, redact)
    history.objects.bulk_update(changed, names, batch_size=500)
    return len(changed)


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
    for name in CASE_TEXT:
        set_text(row, name, redact(getattr(row, name)))


def _scrub_complaint(row, customer: Customer, redact) -> None:
    """A complaint, or a history row of one. A complaint about the customer was made by the
    customer (there is no "acting for" on complaints); one linked only through a case may
    have come from someone else, so it is redacted instead."""
    _scrub_party(row, COMPLAINT_PARTY, redact, blank=row.customer_id == customer.pk)
    for name in COMPLAINT_TEXT:
        set_text(row, name, redact(getattr(row, name)))


# --- The erasure -------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    counts: dict[str, int]
    tasks: list[CaseTask]
    certificate: CaseDocument


def _check(actor, case: Case) -> None:
    if case.right != Case.Right.ERASURE:
        raise ValidationError(ERR_ERASURE_ONLY)
    if case.customer_id is None:
        raise ValidationError(ERR_NO_CUSTOMER)
    if not actor.has_perm("requests.signoff_case"):
        raise ValidationError(ERR_SIGNOFF_PERMISSION)
    if actor.pk in (case.handler_id, case.signoff_requested_by_id):
        raise ValidationError(ERR_SELF_SIGNOFF)
    being_signed_off = case.status == Case.Status.AWAITING_SIGNOFF and case.pending_signoff == Case.Signoff.ERASURE
    # A completed erasure case was signed off (case_complete refuses erasures): a re-run,
    # e.g. after restoring a backup taken before the erasure, carries it out again.
    if not (being_signed_off or case.status == Case.Status.COMPLETED):
        raise ValidationError(ERR_NOT_APPROVED)


def _raw_delete(model: type[models.Model], ids: list[int]) -> None:
    """DELETE by id in SQL: no signal, so no "deleted" history row copying the values again."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [ids])  # noqa: S608 (name from model meta)


def _delete_with_history(model: type[models.Model], ids: list[int], customer: Customer) -> int:
    history = model.history.model
    history.objects.filter(id__in=ids).delete()
    # A row that once pointed at the customer but has moved on keeps its history, unlinked.
    history.objects.filter(customer_id=customer.pk).update(customer=None)
    if ids:
        _raw_delete(model, ids)
    return len(ids)


@transition("case")
def customer_erase(*, actor, case: Case) -> ErasureResult | None:
    """Erase the customer of an erasure case the DPO (`actor`) has signed off.

    Called by case_signoff inside its transaction, so the sign-off and the erasure commit
    together or not at all; files are touched only once the transaction commits. Running it
    again changes nothing (returns None): an erased customer is left as it is.

    In order: suppress every identifier (before blanking it); delete calls and
    correspondence with their history; detach purchases; blank preference evidence; take the
    customer's details out of their case files; anonymise the customer; scrub every history
    row; open an Art 19 task per recipient; write the certificate of erasure.
    """
    _check(actor, case)
    customer = Customer.objects.select_for_update().get(pk=case.customer_id)
    if customer.is_erased:
        return None
    now = timezone.now()
    redact = redactor_for(customer, keep=[ERASED_NAME])
    counts: dict[str, int] = {}

    suppression_add_customer(customer=customer, channels=Channel.values, reason=SuppressionEntry.Reason.ERASED)

    call_ids = list(Call.objects.filter(_call_filter(customer)).values_list("pk", flat=True))
    counts["calls"] = _delete_with_history(Call, call_ids, customer)
    letter_ids = list(Correspondence.objects.filter(customer=customer).values_list("pk", flat=True))
    counts["correspondence"] = _delete_with_history(Correspondence, letter_ids, customer)

    counts["purchases"] = _detach_purchases(actor, customer, redact, now)
    counts["preference_changes"] = _blank_preference_evidence(actor, customer, redact)
    _redact_disclosures(actor, customer, redact)
    paths = _scrub_case_files(actor, case, CaseFiles.of(customer), customer, redact, now)
    counts["files"] = len(paths)

    for name, value in CUSTOMER_PERSONAL.items():
        setattr(customer, name, value)
    customer.erased_at = now
    customer.version += 1
    customer._history_user = actor
    customer._change_reason = f"{REASON} under {case.reference}"
    customer.save()
    counts["customer_versions"] = customer.history.count()
    # The audited exception: personal values out of every earlier version of the record.
    customer.history.update(**CUSTOMER_PERSONAL)
    _scrub_history(Customer, Q(id=customer.pk), [], redact)
    case.customer = customer

    tasks = art19_tasks_create(actor=actor, case=case, action=Art19Action.ERASURE)
    counts["recipients"] = len(tasks)
    certificate = _certificate(actor, case, customer, counts, now)
    # A chained entry in the access log: what was scrubbed (fields and counts), never the values.
    audit_scrub(
        actor=actor,
        what="erasure",
        customer_id=customer.pk,
        details={"case": case.reference, "counts": counts, "customer_fields": sorted(CUSTOMER_PERSONAL)},
    )
    transaction.on_commit(lambda: [private_path(p).unlink(missing_ok=True) for p in paths])
    return ErasureResult(counts=counts, tasks=tasks, certificate=certificate)


def _detach_purchases(actor, customer: Customer, redact, now: datetime.datetime) -> int:
    """Purchases stay (tax, guarantees), linked to no one; their history forgets the link too.
    A description naming the customer (an engraving: "To Peregrine, 60 today") is redacted."""
    purchases = list(Purchase.objects.filter(customer=customer))
    for purchase in purchases:
        purchase.customer = None
        purchase.detached_at = now
        set_text(purchase, "description", redact(purchase.description))
    bulk_update_with_history(
        purchases,
        Purchase,
        ["customer", "detached_at", "description"],
        batch_size=1000,
        default_user=actor,
        default_change_reason=f"Detached from the customer: {REASON}",
    )
    ids = [p.pk for p in purchases]
    Purchase.history.filter(Q(id__in=ids) | Q(customer_id=customer.pk)).update(customer=None)
    _scrub_history(Purchase, Q(id__in=ids), ["description"], redact)
    return len(purchases)


def _blank_preference_evidence(actor, customer: Customer, redact) -> int:
    """Preference changes are kept as the proof of consent and of opt-outs honoured; their
    free-text evidence, the one field that may hold personal details, is blanked."""
    changes = list(PreferenceChange.objects.filter(customer=customer).exclude(evidence=""))
    for change in changes:
        change.evidence = ""
    bulk_update_with_history(
        changes, PreferenceChange, ["evidence"], batch_size=1000, default_user=actor, default_change_reason=REASON
    )
    PreferenceChange.history.filter(customer_id=customer.pk).exclude(evidence="").update(evidence="")
    _scrub_history(PreferenceChange, Q(customer_id=customer.pk), [], redact)
    return PreferenceChange.objects.filter(customer=customer).count()


def _redact_disclosures(actor, customer: Customer, redact) -> None:
    """The disclosure log stays (Art 19, accountability); any details in an override reason go."""
    rows = Disclosure.objects.filter(customer=customer).exclude(override_reason="")
    changed = redact_rows(rows, ["override_reason"], redact)
    bulk_update_with_history(
        changed, Disclosure, ["override_reason"], batch_size=1000, default_user=actor, default_change_reason=REASON
    )
    _scrub_history(Disclosure, Q(customer_id=customer.pk), ["override_reason"], redact)


def _scrub_case_files(actor, case: Case, files: CaseFiles, customer: Customer, redact, now) -> list[str]:
    """The customer's cases and complaints are kept (case-file retention) without the
    customer's details. Returns the paths of files to delete once the transaction commits."""
    reason = f"Customer's details removed: {REASON}"
    for other in Case.objects.filter(pk__in=files.case_ids).exclude(pk=case.pk):
        _scrub_case(other, customer, redact)
        other._history_user, other._change_reason = actor, reason
        other.save()
    _scrub_case(case, customer, redact)  # the very instance case_signoff saves after us
    case._history_user, case._change_reason = actor, reason
    case.save()
    for complaint in Complaint.objects.filter(pk__in=files.complaint_ids):
        _scrub_complaint(complaint, customer, redact)
        complaint._history_user, complaint._change_reason = actor, reason
        complaint.save()
    # The audited exception: the same for every history row of those cases and complaints.
    for model, scrub, fields in (
        (Case, _scrub_case, ("acting_for_other", *CASE_PARTY, *CASE_TEXT)),
        (Complaint, _scrub_complaint, (*COMPLAINT_PARTY, *COMPLAINT_TEXT)),
    ):
        ids = files.case_ids if model is Case else files.complaint_ids
        history = model.history.filter(id__in=ids)
        rows = list(history.only("history_id", "customer_id", "history_change_reason", *fields))
        for row in rows:
            scrub(row, customer, redact)
            set_text(row, "history_change_reason", redact(row.history_change_reason or ""))
        editable = [f for f in fields if f != "acting_for_other"]
        model.history.model.objects.bulk_update(rows, [*editable, "history_change_reason"], batch_size=500)

    docs = list(
        CaseDocument.objects.filter(case_id__in=files.case_ids, kind__in=FILE_KINDS_DELETED, deleted_at__isnull=True)
    )
    paths = [doc.path for doc in docs if doc.path]
    for doc in docs:
        doc.path, doc.deleted_at, doc.deletion_reason = "", now, REASON
    bulk_update_with_history(
        docs, CaseDocument, ["path", "deleted_at", "deletion_reason"], default_user=actor, default_change_reason=REASON
    )
    for model, fields in CASE_FILE_TEXT.items():
        changed = redact_rows(model.objects.filter(files.scope(model)), fields, redact)
        bulk_update_with_history(changed, model, list(fields), default_user=actor, default_change_reason=REASON)
        _scrub_history(model, files.scope(model), fields, redact)
    return paths


def _certificate(actor, case: Case, customer: Customer, counts: dict[str, int], now) -> CaseDocument:
    """The certificate of erasure: what was done, when, under whose sign-off. No personal data.
    The row is saved now; the file is written once the transaction commits."""
    html = render_to_string(
        "requests/erasure_certificate.html",
        {
            "case": case,
            "customer_reference": customer.reference,
            "erased_at": now,
            "counts": counts,
            "dpo_id": actor.pk,
            "purchase_years": legal.PURCHASE_RETENTION_YEARS,
            "case_file_years": legal.CASE_FILE_RETENTION_YEARS,
        },
    )
    data = html.encode()
    relative = f"cases/{case.pk}/{CaseDocument.Kind.CERTIFICATE}/{uuid.uuid4().hex}.html"
    doc = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.CERTIFICATE,
        path=relative,
        content_type="text/html; charset=utf-8",
        size=len(data),
        uploaded_by=actor,
        uploaded_at=now,
    )
    doc._history_user = actor
    doc._change_reason = "Certificate of erasure"
    doc.save()

    write_on_commit(relative, data)
    return doc
