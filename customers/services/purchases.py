"""Purchases: read-only in the portal, imported in bulk from the order system.

Kept for guarantees and tax (legal.PURCHASE_RETENTION_YEARS); erasure detaches a purchase
from the person rather than deleting it.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from privacy_portal import bounds
from privacy_portal.models import User
from privacy_portal.tracked import track

from ..models import Customer, Purchase
from .imports import (
    BATCH_SIZE,
    ERR_REQUIRED,
    ERR_UNKNOWN_CUSTOMER,
    ImportRejected,
    RowError,
    check_length,
    chunked,
    parse_reference,
    read_csv,
    read_upload,
)
from .preferences import ERR_ERASED

PaymentMethod = Purchase.PaymentMethod

PURCHASE_HEADER = (
    "order_ref",
    "customer_reference",
    "ordered_on",
    "description",
    "amount",
    "payment_method",
    "instalments",
    "instalment_amount",
    "guarantee_until",
)
# Payment methods that may carry an instalment plan; "instalments" must.
PLAN_METHODS = {PaymentMethod.INSTALMENTS, PaymentMethod.FINANCE}

ERR_DATE = "Enter an ISO 8601 date, like 2025-03-01."
ERR_ORDERED_FUTURE = "The order date cannot be in the future."
ERR_DUPLICATE_ORDER = "This order reference is also on line {line}."
ERR_AMOUNT = "Enter an amount in pounds of at most {max} with at most 2 decimal places, like 149.99."
ERR_PAYMENT_METHOD = "Enter one of: {choices}."
ERR_INSTALMENTS = "Enter the number of instalments, 2 or more."
ERR_PLAN_NEEDED = "An instalment plan needs both the number of instalments and the amount of each."
ERR_NO_PLAN = "Only instalment and finance purchases have an instalment plan: leave it empty."
ERR_GUARANTEE_BEFORE_ORDER = "The guarantee cannot end before the order date."


@dataclass
class PurchaseImportResult:
    rows: int = 0
    created: int = 0
    # Orders already imported (same order_ref): left as they are.
    already_present: int = 0


def _parse_date(errors: list[RowError], line: int, column: str, value: str) -> datetime.date | None:
    try:
        parsed = datetime.date.fromisoformat(value)
        bounds.check_date(parsed)
    except ValueError:
        errors.append(RowError(line, column, ERR_DATE))
        return None
    except ValidationError as exc:
        errors.extend(RowError(line, column, message) for message in exc.messages)
        return None
    return parsed


def _parse_money(errors: list[RowError], line: int, column: str, value: str) -> decimal.Decimal | None:
    field = Purchase._meta.get_field(column)
    assert isinstance(field, models.DecimalField)
    limit = decimal.Decimal(10) ** (field.max_digits - field.decimal_places)
    try:
        amount = decimal.Decimal(value.removeprefix("£"))
    except decimal.InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or amount >= limit
        or int(amount.as_tuple().exponent) < -2
    ):
        errors.append(RowError(line, column, ERR_AMOUNT.format(max=f"£{limit - decimal.Decimal('0.01'):,}")))
        return None
    return amount.quantize(decimal.Decimal("0.01"))


def _parse_purchase_row(line: int, cells: list[str], errors: list[RowError]) -> tuple[Purchase, int] | None:
    """Check one row's format (no database). Returns an unsaved purchase and its customer's pk."""
    values = dict(zip(PURCHASE_HEADER, cells, strict=True))
    found = len(errors)
    for column in ("order_ref", "description"):
        if not values[column]:
            errors.append(RowError(line, column, ERR_REQUIRED))
        check_length(errors, line, column, values[column], bounds.max_length(Purchase, column))
    pk = parse_reference(errors, line, values["customer_reference"])
    ordered_on = _parse_date(errors, line, "ordered_on", values["ordered_on"])
    if ordered_on and ordered_on > timezone.localdate():
        errors.append(RowError(line, "ordered_on", ERR_ORDERED_FUTURE))
    amount = _parse_money(errors, line, "amount", values["amount"])
    method = values["payment_method"]
    if method not in PaymentMethod.values:
        choices = ", ".join(PaymentMethod.values)
        errors.append(RowError(line, "payment_method", ERR_PAYMENT_METHOD.format(choices=choices)))

    instalments = instalment_amount = None
    if values["instalments"]:
        if (bounds.parse_id(values["instalments"]) or 0) >= 2 and int(values["instalments"]) <= 32767:
            instalments = int(values["instalments"])
        else:
            errors.append(RowError(line, "instalments", ERR_INSTALMENTS))
    if values["instalment_amount"]:
        instalment_amount = _parse_money(errors, line, "instalment_amount", values["instalment_amount"])
    has_plan = bool(values["instalments"] or values["instalment_amount"])
    if has_plan and method in PaymentMethod.values and method not in PLAN_METHODS:
        errors.append(RowError(line, "instalments", ERR_NO_PLAN))
    elif (has_plan or method == PaymentMethod.INSTALMENTS) and not (
        values["instalments"] and values["instalment_amount"]
    ):
        column = "instalment_amount" if values["instalments"] else "instalments"
        errors.append(RowError(line, column, ERR_PLAN_NEEDED))

    guarantee_until = None
    if values["guarantee_until"]:
        guarantee_until = _parse_date(errors, line, "guarantee_until", values["guarantee_until"])
        if guarantee_until and ordered_on and guarantee_until < ordered_on:
            errors.append(RowError(line, "guarantee_until", ERR_GUARANTEE_BEFORE_ORDER))
    if len(errors) > found:
        return None
    assert ordered_on is not None and amount is not None  # else an error was recorded
    purchase = Purchase(
        order_ref=values["order_ref"],
        customer_id=pk,
        ordered_on=ordered_on,
        description=values["description"],
        amount=amount,
        payment_method=method,
        instalments=instalments,
        instalment_amount=instalment_amount,
        guarantee_until=guarantee_until,
    )
    return purchase, line


@transaction.atomic
def purchase_import(*, actor: User, file: IO[bytes], name: str) -> PurchaseImportResult:
    """Import purchases from a CSV file (PURCHASE_HEADER), all or nothing.

    Every row is checked first; any problem raises ImportRejected listing each one, and
    nothing is written. Idempotent on order_ref: an order already in the portal is left as
    it is (even if it has since been detached by erasure), so importing the same file twice
    creates nothing the second time. New purchases are written with their history, the
    history user being `actor`.
    """
    data = read_upload(file, name=name)
    errors: list[RowError] = []
    parsed: list[tuple[Purchase, int]] = []
    first_line: dict[str, int] = {}
    for line, cells in read_csv(data, PURCHASE_HEADER, errors):
        item = _parse_purchase_row(line, cells, errors)
        if item is None:
            continue
        purchase = item[0]
        if purchase.order_ref in first_line:
            errors.append(RowError(line, "order_ref", ERR_DUPLICATE_ORDER.format(line=first_line[purchase.order_ref])))
            continue
        first_line[purchase.order_ref] = line
        parsed.append(item)

    existing: set[str] = set()
    for batch in chunked(list(first_line)):
        existing.update(Purchase.objects.filter(order_ref__in=batch).values_list("order_ref", flat=True))
    new = [(p, line) for p, line in parsed if p.order_ref not in existing]
    erased_at: dict[int, datetime.datetime | None] = {}
    for batch in chunked(sorted({p.customer_id for p, _ in new})):
        erased_at.update(Customer.objects.filter(pk__in=batch).values_list("pk", "erased_at"))
    for purchase, line in new:
        if purchase.customer_id not in erased_at:
            errors.append(RowError(line, "customer_reference", ERR_UNKNOWN_CUSTOMER))
        elif erased_at[purchase.customer_id] is not None:
            errors.append(RowError(line, "customer_reference", ERR_ERASED))
    if errors:
        raise ImportRejected(errors)

    rows = [track(p, actor=actor, reason=f"Bulk import of purchases, line {line}") for p, line in new]
    bulk_create_with_history(rows, Purchase, batch_size=BATCH_SIZE, default_user=actor)
    return PurchaseImportResult(rows=len(parsed), created=len(new), already_present=len(parsed) - len(new))


def purchases_for(customer: Customer) -> QuerySet[Purchase]:
    """A customer's purchases, newest first (one query, whatever their number)."""
    return customer.purchases.order_by("-ordered_on", "-id")
