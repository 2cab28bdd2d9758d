"""The recipient register: who receives customers' data, on what terms (the DPO edits it)."""

from __future__ import annotations

import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import UK_COUNTRY_CODE, Recipient

Mechanism = Recipient.TransferMechanism

ERR_COUNTRY = "Enter the country as a two-letter code (ISO 3166-1), such as GB, IE or US."
ERR_UK_MECHANISM = "A recipient in the UK makes no international transfer: leave the transfer mechanism empty."
ERR_UK_ADEQUACY = "The UK needs no adequacy decision: leave this unticked for a recipient in the UK."
ERR_TRA_MISSING = "A transfer mechanism needs the transfer risk assessment: enter its {what}."
ERR_TRA_FUTURE = "The transfer risk assessment cannot be dated in the future."
ERR_TRA_WITHOUT_MECHANISM = "Record the transfer risk assessment together with the transfer mechanism it supports."
ERR_PROCESSOR_AGREEMENT = "A processor needs a data-processing agreement (UK GDPR Art 28(3)): enter its reference."
ERR_RENEWAL_WITHOUT_AGREEMENT = "Enter the agreement's reference as well as its renewal date."
ERR_DUPLICATE = "Another recipient already has this {what}."
ERR_REQUIRED = "Enter the recipient's {what}."
ERR_REASON = "Say why you are changing the register entry."

# Region codes of the world's telephone numbering plans: the ISO 3166-1 alpha-2 codes in use,
# from a library we already ship (phonenumbers), rather than a second list to keep current.
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS)

FIELDS = (
    "code",
    "name",
    "category",
    "role",
    "country",
    "country_adequate",
    "transfer_mechanism",
    "tra_date",
    "tra_reference",
    "agreement_reference",
    "agreement_renews_on",
    "contact",
    "holds_call_data",
    "active",
)


def _clean(data: dict) -> dict:
    """Normalise and check the register's rules; one ValidationError naming every bad field."""
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    data["country"] = (data.get("country") or "").upper()
    data["code"] = slugify(data.get("code") or data.get("name") or "")
    data["transfer_mechanism"] = data.get("transfer_mechanism") or ""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, what in (("name", "name"), ("contact", "contact for notifications"), ("code", "short code")):
        if not data.get(field):
            add(field, ERR_REQUIRED.format(what=what))
    if data["category"] not in Recipient.Category.values:
        add("category", "Choose a category.")
    if data["role"] not in Recipient.Role.values:
        add("role", "Choose a role.")
    if data["country"] not in COUNTRY_CODES:
        add("country", ERR_COUNTRY)
    if data["transfer_mechanism"] not in Mechanism.values:
        add("transfer_mechanism", "Choose a transfer mechanism.")
    if data["country"] == UK_COUNTRY_CODE:
        if data["transfer_mechanism"]:
            add("transfer_mechanism", ERR_UK_MECHANISM)
        if data.get("country_adequate"):
            add("country_adequate", ERR_UK_ADEQUACY)
    if data["transfer_mechanism"]:
        if not data.get("tra_date"):
            add("tra_date", ERR_TRA_MISSING.format(what="date"))
        if not data.get("tra_reference"):
            add("tra_reference", ERR_TRA_MISSING.format(what="reference"))
    elif data.get("tra_date") or data.get("tra_reference"):
        add("transfer_mechanism", ERR_TRA_WITHOUT_MECHANISM)
    if data.get("tra_date") and data["tra_date"] > timezone.localdate():
        add("tra_date", ERR_TRA_FUTURE)
    if data["role"] == Recipient.Role.PROCESSOR and not data.get("agreement_reference"):
        add("agreement_reference", ERR_PROCESSOR_AGREEMENT)
    if data.get("agreement_renews_on") and not data.get("agreement_reference"):
        add("agreement_reference", ERR_RENEWAL_WITHOUT_AGREEMENT)
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def recipient_save(
    *,
    actor: User,
    recipient: Recipient | None = None,
    reason: str = "",
    code: str = "",
    name: str,
    category: str,
    role: str,
    country: str,
    country_adequate: bool = False,
    transfer_mechanism: str = "",
    tra_date: datetime.date | None = None,
    tra_reference: str = "",
    agreement_reference: str = "",
    agreement_renews_on: datetime.date | None = None,
    contact: str,
    holds_call_data: bool = False,
    active: bool = True,
) -> Recipient:
    """Add a recipient to the register, or change one (a change needs a reason, kept in its
    history). The register's rules: a valid country; a transfer mechanism, with its transfer
    risk assessment, only outside the UK; a data-processing agreement for every processor."""
    values = _clean(
        {
            "code": code,
            "name": name,
            "category": category,
            "role": role,
            "country": country,
            "country_adequate": country_adequate,
            "transfer_mechanism": transfer_mechanism,
            "tra_date": tra_date,
            "tra_reference": tra_reference,
            "agreement_reference": agreement_reference,
            "agreement_renews_on": agreement_renews_on,
            "contact": contact,
            "holds_call_data": holds_call_data,
            "active": active,
        }
    )
    if recipient is not None and not reason.strip():
        raise ValidationError({"reason": ERR_REASON})
    for field, what in (("code", "short code"), ("name", "name")):
        clash = Recipient.objects.filter(**{f"{field}__iexact": values[field]})
        if recipient is not None:
            clash = clash.exclude(pk=recipient.pk)
        if clash.exists():
            raise ValidationError({field: ERR_DUPLICATE.format(what=what)})
    target = recipient or Recipient()
    for field, value in values.items():
        setattr(target, field, value)
    try:
        save_tracked(
            target,
            actor=actor,
            reason=reason.strip()[:100] if recipient is not None else "Added to the register",
            savepoint=True,
        )
    except IntegrityError:
        # Someone saved the same name or code at the same moment.
        raise ValidationError({"name": ERR_DUPLICATE.format(what="name or short code")}) from None
    return target
