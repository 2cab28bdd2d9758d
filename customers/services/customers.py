"""Creating customers and editing their contact details (with a reason, without lost updates)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from privacy_portal.history import timeline
from privacy_portal.history_labels import field_label
from privacy_portal.legal import MINIMUM_CUSTOMER_AGE_YEARS
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Customer
from .normalise import normalise_email, normalise_phone, normalise_postcode

ERR_UNDER_AGE = f"The customer must be at least {MINIMUM_CUSTOMER_AGE_YEARS}: we do not hold data on children."
ERR_DOB_FUTURE = "The date of birth cannot be in the future."
ERR_REASON = "Give a reason for changing the contact details."
ERR_ERASED = "This customer has been erased; their record can no longer be changed."
ERR_NAME = "Enter the customer's {field}."
ERR_STALE = "Someone else saved this customer while you were editing, so your changes were not saved."

CONTACT_FIELDS = (
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "town",
    "county",
    "postcode",
    "date_of_birth",
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: object
    new: object
    by: str
    at: datetime.datetime


class StaleEditError(ValidationError):
    """The form was based on an older version of the customer. Carries what changed since."""

    def __init__(self, changes: list[FieldChange]):
        super().__init__(ERR_STALE, code="stale")
        self.changes = changes


def _clean_contact(data: dict) -> dict:
    """Normalise and validate contact fields; raise one ValidationError naming every bad field."""
    cleaned: dict = {}
    errors: dict[str, list[str]] = {}
    for field in CONTACT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        try:
            if field == "email":
                value = normalise_email(value)
            elif field == "phone":
                value = normalise_phone(value)
            elif field == "postcode":
                value = normalise_postcode(value)
            elif field == "date_of_birth":
                value = _check_date_of_birth(value)
            elif isinstance(value, str):
                value = value.strip()
                if field in ("first_name", "last_name") and not value:
                    raise ValidationError(ERR_NAME.format(field=field.replace("_", " ")))
        except ValidationError as exc:
            errors[field] = exc.messages
        cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_date_of_birth(value: datetime.date | None) -> datetime.date | None:
    if value is None:
        return None
    today = timezone.localdate()
    if value > today:
        raise ValidationError(ERR_DOB_FUTURE)
    if value > today - relativedelta(years=MINIMUM_CUSTOMER_AGE_YEARS):
        raise ValidationError(ERR_UNDER_AGE)
    return value


@transaction.atomic
def customer_create(*, actor: User, reason: str = "New customer", **data) -> Customer:
    """Create a customer from contact details (normalised and validated)."""
    customer = Customer(**_clean_contact(data))
    save_tracked(customer, actor=actor, reason=reason)
    return customer


@transaction.atomic
def customer_update_contact(*, actor: User, customer_id: int, expected_version: int, reason: str, **data) -> Customer:
    """Change contact details. Refused, with what changed meanwhile, if the record moved on."""
    if not (reason or "").strip():
        raise ValidationError({"reason": ERR_REASON})
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.is_erased:
        raise ValidationError(ERR_ERASED)
    if customer.version != expected_version:
        raise StaleEditError(changes_since(customer, expected_version))
    cleaned = _clean_contact(data)
    changed = [f for f, v in cleaned.items() if getattr(customer, f) != v]
    if not changed:
        return customer
    for field, value in cleaned.items():
        setattr(customer, field, value)
    if "email" in changed:
        customer.email_bounced_at = None  # the bounce was the old address's
    customer.version += 1
    save_tracked(customer, actor=actor, reason=reason.strip())
    return customer


def changes_since(customer: Customer, version: int) -> list[FieldChange]:
    """Every contact-field change made after `version`, oldest first, with who and when."""
    rows = timeline({Customer._meta.label: customer.history.filter(version__gte=version)})
    return [
        FieldChange(
            field=change.field,
            label=field_label(Customer, change.field),
            old=change.old,
            new=change.new,
            by=str(row.record.history_user or "the system"),
            at=row.record.history_date,
        )
        for row in rows
        for change in row.changes(CONTACT_FIELDS)
    ]
