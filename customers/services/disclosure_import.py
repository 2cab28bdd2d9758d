"""Bulk disclosures from CSV: logistics consignments and finance applications, by the thousand.

The file is validated whole: any bad input (unknown recipient or category, a lawful basis
that does not fit, a date in the future, a reference twice in the file, wrong columns)
rejects the whole file and nothing is written. Then every guard is applied row by row
(customers.services.disclosures.refusals_for): a refused row is not recorded and is listed in
the report with the reason; the others are. Idempotent on recipient plus reference: a row
already recorded is skipped, so a re-sent file records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from privacy_portal.models import User
from privacy_portal.tracked import track

from ..models import Customer, Disclosure, Recipient
from ..selectors.disclosures import forget_monthly_counts
from .disclosures import (
    ERR_CONSENT_NOT_RECORDED,
    ConsentHistory,
    LawfulBasis,
    consent_covers,
    consent_histories,
    refusals_for,
)
from .disclosures import clean_fields as clean_disclosure_fields
from .imports import (
    BATCH_SIZE,
    ERR_DATETIME,  # noqa: F401 (the message, named where its tests look for it)
    ERR_REQUIRED,
    ERR_UNKNOWN_CUSTOMER,
    ImportRejected,
    RowError,
    chunked,
    parse_datetime_cell,
    parse_reference,
    read_csv,
    read_upload,
)

DISCLOSURE_HEADER = (
    "recipient",
    "recipient_reference",
    "customer_reference",
    "disclosed_at",
    "data_categories",
    "purpose",
    "lawful_basis",
    "sensitive",
    "art9_condition",
)
# Columns of the file named after the model's fields where they differ.
COLUMN_OF_FIELD = {"special_category_condition": "art9_condition"}
CATEGORY_SEPARATOR = ";"
YES_NO = {
    "": False,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
}

ERR_UNKNOWN_RECIPIENT = "No recipient has this code. Use the short code from the recipient register."
ERR_DUPLICATE_REFERENCE = "This recipient and reference are also on line {line}."
ERR_YES_NO = "Enter yes or no."
ERR_RACE = (
    "Someone recorded some of these disclosures while this file was being imported, so nothing was imported. "
    "Import the file again: what is already recorded will be skipped."
)


@dataclass(frozen=True)
class RefusedRow:
    line: int
    recipient: str
    recipient_reference: str
    customer_reference: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"Line {self.line}: " + " ".join(self.reasons)


@dataclass
class DisclosureImportResult:
    rows: int = 0
    created: int = 0
    # Already recorded (same recipient and reference): skipped.
    already_recorded: int = 0
    refused: list[RefusedRow] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    recipient: Recipient
    customer_id: int
    customer_reference: str
    values: dict
    customer: Customer | None = None


def _parse_row(line: int, cells: list[str], recipients: dict[str, Recipient], errors: list[RowError]) -> _Row | None:
    """Check one row's format (no database but the recipient register); record each bad column."""
    raw = dict(zip(DISCLOSURE_HEADER, cells, strict=True))
    found = len(errors)
    recipient = recipients.get(raw["recipient"].lower())
    if not raw["recipient"]:
        errors.append(RowError(line, "recipient", ERR_REQUIRED))
    elif recipient is None:
        errors.append(RowError(line, "recipient", ERR_UNKNOWN_RECIPIENT))
    if not raw["recipient_reference"]:
        errors.append(RowError(line, "recipient_reference", ERR_REQUIRED))
    pk = parse_reference(errors, line, raw["customer_reference"])
    disclosed_at = parse_datetime_cell(errors, line, "disclosed_at", raw["disclosed_at"])
    sensitive = YES_NO.get(raw["sensitive"].lower())
    if sensitive is None:
        errors.append(RowError(line, "sensitive", ERR_YES_NO))
    categories = [c for c in raw["data_categories"].split(CATEGORY_SEPARATOR) if c.strip()]
    try:
        values = clean_disclosure_fields(
            data_categories=categories,
            purpose=raw["purpose"],
            lawful_basis=raw["lawful_basis"],
            sensitive=bool(sensitive),
            special_category_condition=raw["art9_condition"],
            disclosed_at=disclosed_at,
            recipient_reference=raw["recipient_reference"],
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            if name == "disclosed_at" and disclosed_at is None:
                continue  # already said: not a date
            column = COLUMN_OF_FIELD.get(name, name)
            errors.extend(RowError(line, column, message) for message in messages)
        return None
    if len(errors) > found:
        return None
    assert recipient is not None and pk is not None  # else an error was recorded
    return _Row(
        line=line, recipient=recipient, customer_id=pk, customer_reference=raw["customer_reference"], values=values
    )


def _load_customers(pks: set[int]) -> dict[int, Customer]:
    """The referenced customers, locked until the import commits, so a restriction, objection or
    erasure recorded meanwhile waits for it instead of slipping past the guards."""
    customers: dict[int, Customer] = {}
    for batch in chunked(sorted(pks), BATCH_SIZE * 5):
        qs = (
            Customer.objects.filter(pk__in=batch)
            .only("pk", "processing_restricted", "restricted_at", "marketing_objected", "objected_at", "erased_at")
            .order_by("pk")
            .select_for_update(no_key=True)
        )
        customers.update((c.pk, c) for c in qs)
    return customers


def _already_recorded(rows: list[_Row]) -> set[tuple[int, str]]:
    by_recipient: dict[int, list[str]] = {}
    for row in rows:
        by_recipient.setdefault(row.recipient.pk, []).append(row.values["recipient_reference"])
    found: set[tuple[int, str]] = set()
    for recipient_id, references in by_recipient.items():
        for batch in chunked(references, BATCH_SIZE * 5):
            found.update(
                Disclosure.objects.filter(recipient_id=recipient_id, recipient_reference__in=batch).values_list(
                    "recipient_id", "recipient_reference"
                )
            )
    return found


@transaction.atomic
def disclosure_import(*, actor: User, file: IO[bytes], name: str) -> DisclosureImportResult:
    """Import disclosures from a CSV file (DISCLOSURE_HEADER): bad input rejects the whole file
    (ImportRejected, every problem listed); guards refuse single rows (listed in the result);
    rows already recorded (recipient + reference) are skipped. Recorded by `actor`, with history."""
    data = read_upload(file, name=name)
    errors: list[RowError] = []
    recipients = {r.code.lower(): r for r in Recipient.objects.all()}
    rows: list[_Row] = []
    first_line: dict[tuple[int, str], int] = {}
    for line, cells in read_csv(data, DISCLOSURE_HEADER, errors):
        row = _parse_row(line, cells, recipients, errors)
        if row is None:
            continue
        key = (row.recipient.pk, row.values["recipient_reference"])
        if key in first_line:
            errors.append(RowError(line, "recipient_reference", ERR_DUPLICATE_REFERENCE.format(line=first_line[key])))
            continue
        first_line[key] = line
        rows.append(row)

    # The file's recipients, locked until commit: two imports for the same recipients run one after
    # the other, so a reference sent twice at once is still recorded once, and the guards see the
    # register as it is when the rows are written (forms are not held up: inserting a disclosure
    # takes only a key-share lock on its recipient).
    locked = Recipient.objects.select_for_update(no_key=True).filter(pk__in={r.recipient.pk for r in rows})
    current = {recipient.pk: recipient for recipient in locked.order_by("pk")}
    for row in rows:
        if row.recipient.pk in current:
            row.recipient = current[row.recipient.pk]
        else:  # removed from the register meanwhile
            errors.append(RowError(row.line, "recipient", ERR_UNKNOWN_RECIPIENT))
    rows = [row for row in rows if row.recipient.pk in current]
    recorded = _already_recorded(rows)
    new = [r for r in rows if (r.recipient.pk, r.values["recipient_reference"]) not in recorded]
    customers = _load_customers({r.customer_id for r in new})
    histories = consent_histories(r.customer_id for r in new if r.customer_id in customers)
    no_history = ConsentHistory()
    consents = {}
    for row in new:
        row.customer = customers.get(row.customer_id)
        if row.customer is None:
            errors.append(RowError(row.line, "customer_reference", ERR_UNKNOWN_CUSTOMER))
            continue
        consent = histories.get(row.customer_id, no_history).state_at(
            row.values["disclosed_at"], objected=row.customer.marketing_objected
        )
        consents[row.line] = consent
        if row.values["lawful_basis"] == LawfulBasis.CONSENT and not consent_covers(
            recipient=row.recipient, consent=consent
        ):
            errors.append(RowError(row.line, "lawful_basis", ERR_CONSENT_NOT_RECORDED))
    if errors:
        raise ImportRejected(errors)

    result = DisclosureImportResult(rows=len(rows), already_recorded=len(rows) - len(new))
    accepted: list[Disclosure] = []
    now = timezone.now()
    for row in new:
        assert row.customer is not None  # rows of unknown customers were refused above
        refusals = refusals_for(
            customer=row.customer,
            recipient=row.recipient,
            purpose=row.values["purpose"],
            lawful_basis=row.values["lawful_basis"],
            sensitive=row.values["sensitive"],
            disclosed_at=row.values["disclosed_at"],
            consent=consents[row.line],
        )
        if refusals:
            result.refused.append(
                RefusedRow(
                    line=row.line,
                    recipient=row.recipient.code,
                    recipient_reference=row.values["recipient_reference"],
                    customer_reference=row.customer.reference,
                    reasons=tuple(r.message for r in refusals),
                )
            )
            continue
        disclosure = Disclosure(
            customer_id=row.customer_id,
            recipient=row.recipient,
            recorded_by=actor,
            recorded_at=now,
            via=Disclosure.Via.IMPORT,
            **row.values,
        )
        accepted.append(track(disclosure, actor=actor, reason=f"Bulk import, line {row.line}"))
    try:
        with transaction.atomic():
            bulk_create_with_history(accepted, Disclosure, batch_size=BATCH_SIZE, default_user=actor)
    except IntegrityError:
        raise ImportRejected.file(ERR_RACE) from None
    if accepted:
        transaction.on_commit(forget_monthly_counts)
    result.created = len(accepted)
    return result
