"""The disclosure log: recording that a customer's data went to a recipient, behind the guards.

Two kinds of "no":

- **Bad input** (a ValidationError naming the field): unknown data category, purpose or
  lawful basis, an Art 9 condition that does not fit, consent claimed where none is
  recorded, a date in the future, a reference already recorded.
- **Guards** (DisclosureRefused, one message per guard): the disclosure itself is not
  allowed. A restricted customer (Art 18) unless for a legal obligation or legal claims with
  the DPO's override and reason; sensitive data without the customer's opt-in to sharing it;
  a restricted transfer without adequacy or a transfer mechanism (Art 44-46); an inactive
  recipient or a lapsed agreement. Bulk imports refuse such rows one by one and report them.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from privacy_portal import bounds
from privacy_portal.models import LawfulBasis, SpecialCategoryCondition, User
from privacy_portal.tracked import save_tracked

from ..access import may_override_restriction
from ..models import Customer, DataCategory, Disclosure, PreferenceChange, Purpose, Recipient
from ..selectors.disclosures import forget_monthly_counts
from .preferences import MARKETING_PURPOSES

DisclosurePurpose = Disclosure.Purpose

# A little leeway for clocks: "now" on the sender's machine may be a minute ahead of ours.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)

# Art 18(2): restricted data may still be processed for legal claims; Art 6(1)(c) covers what the law requires.
LEGAL_CLAIM_PURPOSES = frozenset({DisclosurePurpose.DEBT_RECOVERY, DisclosurePurpose.LEGAL_CLAIMS})

# The vocabularies as sets (TextChoices.values builds a new list on every access: too slow for
# a 100,000-row import), and the data categories' order.
CATEGORY_ORDER = {value: i for i, value in enumerate(DataCategory.values)}
PURPOSES = frozenset(DisclosurePurpose.values)
LAWFUL_BASES = frozenset(LawfulBasis.values)
CONDITIONS = frozenset(SpecialCategoryCondition.values)
REFERENCE_MAX_LENGTH = bounds.max_length(Disclosure, "recipient_reference")
OVERRIDE_MAX_LENGTH = bounds.max_length(Disclosure, "override_reason")

# --- Bad input ----------------------------------------------------------------------------------
ERR_NO_CATEGORY = "Choose at least one category of data."
ERR_CATEGORY = "Unknown data category {value!r}. Use: {choices}."
ERR_PURPOSE = "Choose the purpose of the disclosure."
ERR_BASIS = "Choose one of the six lawful bases of UK GDPR Art 6(1)."
ERR_CONDITION_NEEDED = "Sensitive data needs an Art 9 condition as well as a lawful basis."
ERR_CONDITION_UNKNOWN = "Choose one of the Art 9(2) conditions."
ERR_CONDITION_NOT_SENSITIVE = (
    "An Art 9 condition applies only to sensitive data: tick “includes sensitive data” or leave it."
)
ERR_FUTURE = "The date of the disclosure cannot be in the future."
ERR_NO_DATE = "Enter when the data was disclosed."
ERR_TOO_LONG = "At most {limit} characters."
ERR_CONSENT_NOT_RECORDED = (
    "Consent is claimed, but the customer has no consent on record that covers this disclosure. Record the "
    "customer's consent first, or choose the lawful basis that really applies."
)
ERR_REFERENCE_TAKEN = "This recipient's reference is already recorded: each disclosure is recorded once."
ERR_NOTHING_TO_OVERRIDE = "Processing is not restricted for this customer: there is nothing to override."

# --- Guards -------------------------------------------------------------------------------------
GUARD_RESTRICTED = (
    "Processing is restricted for this customer (Art 18): nothing may be disclosed, unless the law requires it or "
    "it is for legal claims, and then only with the DPO's override and its reason."
)
GUARD_RESTRICTED_GROUND = (
    "Even with an override, a restricted customer's data may be disclosed only under a legal obligation or for "
    "legal claims (debt recovery included) (Art 18(2))."
)
GUARD_OVERRIDE_DPO = "Only the DPO can override a processing restriction."
GUARD_SENSITIVE = (
    "Sensitive data may be shared only with the customer's opt-in consent to sharing sensitive data, and there is "
    "none on record at the time of this disclosure."
)
GUARD_TRANSFER = (
    "{recipient} is outside the UK, in a country without UK adequacy, and no transfer mechanism is recorded (UK IDTA, "
    "or EU standard contractual clauses with the UK Addendum): nothing may be sent to it."
)
GUARD_INACTIVE = "{recipient} is not an active recipient: nothing may be sent to it."
GUARD_LAPSED = "The agreement with {recipient} lapsed on {date:%-d %B %Y}: renew it in the register before disclosing."
GUARD_OBJECTED = "The customer has objected to direct marketing (Art 21): nothing may be disclosed for marketing."
GUARD_ERASED = "This customer has been erased: nothing more may be disclosed."


class Guard:
    RESTRICTED = "restricted"
    SENSITIVE = "sensitive"
    TRANSFER = "transfer"
    RECIPIENT = "recipient"
    OBJECTED = "objected"
    ERASED = "erased"


@dataclass(frozen=True)
class Refusal:
    guard: str
    message: str


class DisclosureRefused(ValidationError):
    """A guard refused the disclosure. `refusals` says which and why (every one that applies)."""

    def __init__(self, refusals: list[Refusal]):
        super().__init__([r.message for r in refusals], code="refused")
        self.refusals = refusals


# --- Consent on record --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    sensitive_sharing: bool = False
    marketing: bool = False  # any direct-marketing channel, or personalised advertising


class ConsentHistory:
    """A customer's consent-relevant preference changes, to answer "what was on record at time t?"."""

    def __init__(self, changes: Iterable[tuple[datetime.datetime, str, str, bool]] = ()):
        self._changes = sorted(changes, key=lambda c: c[0])  # stable: ties keep id order
        self._times = [c[0] for c in self._changes]

    def state_at(self, at: datetime.datetime, *, objected: bool = False) -> ConsentState:
        latest: dict[tuple[str, str], bool] = {}
        for _, purpose, channel, granted in self._changes[: bisect.bisect_right(self._times, at)]:
            latest[(purpose, channel)] = granted
        marketing = any(granted for (purpose, _), granted in latest.items() if purpose in MARKETING_PURPOSES)
        return ConsentState(
            sensitive_sharing=latest.get((Purpose.SENSITIVE_SHARING, ""), False),
            marketing=marketing and not objected,
        )


CONSENT_PURPOSES = (Purpose.SENSITIVE_SHARING, *MARKETING_PURPOSES)


def consent_histories(customer_ids: Iterable[int], *, batch_size: int = 10_000) -> dict[int, ConsentHistory]:
    """The consent history of each customer (absent: nothing ever recorded). One query per batch."""
    ids = sorted(set(customer_ids))
    changes: dict[int, list] = defaultdict(list)
    for start in range(0, len(ids), batch_size):
        rows = (
            PreferenceChange.objects.filter(
                customer_id__in=ids[start : start + batch_size], purpose__in=CONSENT_PURPOSES
            )
            .order_by("customer_id", "received_at", "id")
            .values_list("customer_id", "received_at", "purpose", "channel", "granted")
        )
        for customer_id, *change in rows:
            changes[customer_id].append(tuple(change))
    return {customer_id: ConsentHistory(rows) for customer_id, rows in changes.items()}


# --- The rules ----------------------------------------------------------------------------------


def clean_fields(
    *,
    data_categories: Iterable[str],
    purpose: str,
    lawful_basis: str,
    sensitive: bool,
    special_category_condition: str,
    disclosed_at: datetime.datetime | None,
    recipient_reference: str,
) -> dict:
    """Check what can be checked without the database; one ValidationError naming every bad field."""
    errors: dict[str, list[str]] = defaultdict(list)
    categories = []
    for value in data_categories:
        value = value.strip()
        if value not in CATEGORY_ORDER:
            errors["data_categories"].append(ERR_CATEGORY.format(value=value, choices=", ".join(CATEGORY_ORDER)))
        elif value not in categories:
            categories.append(value)
    if not categories and not errors["data_categories"]:
        errors["data_categories"].append(ERR_NO_CATEGORY)
    # Vocabulary order, whatever order they came in: the same disclosure always reads the same.
    categories.sort(key=CATEGORY_ORDER.__getitem__)
    if purpose not in PURPOSES:
        errors["purpose"].append(ERR_PURPOSE)
    if lawful_basis not in LAWFUL_BASES:
        errors["lawful_basis"].append(ERR_BASIS)
    condition = special_category_condition or ""
    if sensitive and not condition:
        errors["special_category_condition"].append(ERR_CONDITION_NEEDED)
    elif condition and condition not in CONDITIONS:
        errors["special_category_condition"].append(ERR_CONDITION_UNKNOWN)
    elif condition and not sensitive:
        errors["special_category_condition"].append(ERR_CONDITION_NOT_SENSITIVE)
    if disclosed_at is None:
        errors["disclosed_at"].append(ERR_NO_DATE)
    elif disclosed_at > timezone.now() + FUTURE_TOLERANCE:
        errors["disclosed_at"].append(ERR_FUTURE)
    reference = (recipient_reference or "").strip()
    if len(reference) > REFERENCE_MAX_LENGTH:
        errors["recipient_reference"].append(ERR_TOO_LONG.format(limit=REFERENCE_MAX_LENGTH))
    if errors:
        raise ValidationError(dict(errors))
    return {
        "data_categories": categories,
        "purpose": purpose,
        "lawful_basis": lawful_basis,
        "sensitive": bool(sensitive),
        "special_category_condition": condition,
        "disclosed_at": disclosed_at,
        "recipient_reference": reference,
    }


def consent_covers(*, recipient: Recipient, consent: ConsentState) -> bool:
    """Whether consent on record covers a disclosure to this recipient: the opt-in to sharing with
    partners, or, for a direct-marketing service, a current marketing opt-in."""
    if consent.sensitive_sharing:
        return True
    return recipient.category == Recipient.Category.DIRECT_MARKETING and consent.marketing


def refusals_for(
    *,
    customer: Customer,
    recipient: Recipient,
    purpose: str,
    lawful_basis: str,
    sensitive: bool,
    disclosed_at: datetime.datetime,
    consent: ConsentState,
    override_reason: str = "",
    actor: User | None = None,
) -> list[Refusal]:
    """Every guard that refuses this disclosure (empty: allowed). Pure: the caller supplies the
    consent on record at `disclosed_at`, so a bulk import can check thousands of rows at once.

    Restriction and erasure apply from the moment they were recorded: a disclosure made
    before them is still recorded (Art 19 needs to know who has the data)."""
    refusals = []
    name = recipient.name
    if not recipient.active:
        refusals.append(Refusal(Guard.RECIPIENT, GUARD_INACTIVE.format(recipient=name)))
    elif recipient.agreement_lapsed(timezone.localtime(disclosed_at).date()):
        refusals.append(
            Refusal(Guard.RECIPIENT, GUARD_LAPSED.format(recipient=name, date=recipient.agreement_renews_on))
        )
    if not recipient.transfer_safeguarded:
        refusals.append(Refusal(Guard.TRANSFER, GUARD_TRANSFER.format(recipient=name)))
    if customer.erased_at is not None and disclosed_at >= customer.erased_at:
        refusals.append(Refusal(Guard.ERASED, GUARD_ERASED))
    if restriction_applies(customer, disclosed_at):
        legal_ground = lawful_basis == LawfulBasis.LEGAL_OBLIGATION or purpose in LEGAL_CLAIM_PURPOSES
        if not override_reason:
            refusals.append(Refusal(Guard.RESTRICTED, GUARD_RESTRICTED))
        elif not legal_ground:
            refusals.append(Refusal(Guard.RESTRICTED, GUARD_RESTRICTED_GROUND))
        elif actor is None or not may_override_restriction(actor):
            refusals.append(Refusal(Guard.RESTRICTED, GUARD_OVERRIDE_DPO))
    if sensitive and not consent.sensitive_sharing:
        refusals.append(Refusal(Guard.SENSITIVE, GUARD_SENSITIVE))
    objected = customer.marketing_objected and (customer.objected_at is None or disclosed_at >= customer.objected_at)
    if purpose == DisclosurePurpose.DIRECT_MARKETING and objected:
        refusals.append(Refusal(Guard.OBJECTED, GUARD_OBJECTED))
    return refusals


def restriction_applies(customer: Customer, at: datetime.datetime) -> bool:
    return customer.processing_restricted and (customer.restricted_at is None or at >= customer.restricted_at)


@transaction.atomic
def disclosure_record(
    *,
    actor: User,
    customer: Customer,
    recipient: Recipient,
    data_categories: Iterable[str],
    purpose: str,
    lawful_basis: str,
    disclosed_at: datetime.datetime | None = None,
    recipient_reference: str = "",
    sensitive: bool = False,
    special_category_condition: str = "",
    override_reason: str = "",
) -> Disclosure:
    """Record one disclosure of `customer`'s data to `recipient`, recorded by `actor`.

    Raises ValidationError (naming the field) for bad input, and DisclosureRefused when a
    guard forbids the disclosure. A restricted customer's disclosure goes through only with
    `override_reason` from the DPO, under a legal obligation or for legal claims; the
    override (who and why) is kept on the disclosure and in its history.
    """
    values = clean_fields(
        data_categories=data_categories,
        purpose=purpose,
        lawful_basis=lawful_basis,
        sensitive=sensitive,
        special_category_condition=special_category_condition,
        disclosed_at=disclosed_at or timezone.now(),
        recipient_reference=recipient_reference,
    )
    override_reason = (override_reason or "").strip()
    # Lock the customer until commit: a restriction or erasure recorded meanwhile waits for us.
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    recipient = Recipient.objects.get(pk=recipient.pk)
    at = values["disclosed_at"]
    if override_reason and not restriction_applies(customer, at):
        raise ValidationError({"override_reason": ERR_NOTHING_TO_OVERRIDE})
    if len(override_reason) > OVERRIDE_MAX_LENGTH:
        raise ValidationError({"override_reason": ERR_TOO_LONG.format(limit=OVERRIDE_MAX_LENGTH)})
    history = consent_histories([customer.pk]).get(customer.pk, ConsentHistory())
    consent = history.state_at(at, objected=customer.marketing_objected)
    if values["lawful_basis"] == LawfulBasis.CONSENT and not consent_covers(recipient=recipient, consent=consent):
        raise ValidationError({"lawful_basis": ERR_CONSENT_NOT_RECORDED})
    reference = values["recipient_reference"]
    if reference and Disclosure.objects.filter(recipient=recipient, recipient_reference=reference).exists():
        raise ValidationError({"recipient_reference": ERR_REFERENCE_TAKEN})
    refusals = refusals_for(
        customer=customer,
        recipient=recipient,
        purpose=values["purpose"],
        lawful_basis=values["lawful_basis"],
        sensitive=values["sensitive"],
        disclosed_at=at,
        consent=consent,
        override_reason=override_reason,
        actor=actor,
    )
    if refusals:
        raise DisclosureRefused(refusals)

    disclosure = Disclosure(
        customer=customer,
        recipient=recipient,
        recorded_by=actor,
        via=Disclosure.Via.FORM,
        override_reason=override_reason,
        overridden_by=actor if override_reason else None,
        **values,
    )
    try:
        save_tracked(
            disclosure,
            actor=actor,
            reason="Recorded, overriding the processing restriction (Art 18(2))" if override_reason else "Recorded",
            savepoint=True,
        )
    except IntegrityError:
        # The same reference arrived at the same moment (an import, or a second click).
        raise ValidationError({"recipient_reference": ERR_REFERENCE_TAKEN}) from None
    transaction.on_commit(forget_monthly_counts)
    return disclosure


ERR_NO_TRANSCRIBER = (
    "No recipient in the register is the transcription provider “{provider}”: add it to the register of "
    "recipients (category: call transcription) before its transcripts are stored."
)
# The disclosure of one call to its transcriber is recorded once: under this reference.
TRANSCRIPTION_REFERENCE = "call-{pk}"


def transcription_recipient(provider: str) -> Recipient:
    """The register's recipient for a transcription provider named as the telephony platform
    names it: the call-transcription recipient of that name or code, else the only active one."""
    transcribers = Recipient.objects.filter(category=Recipient.Category.CALL_TRANSCRIPTION)
    named = transcribers.filter(name__iexact=provider.strip()) | transcribers.filter(code__iexact=provider.strip())
    found = list(named[:2]) or list(transcribers.filter(active=True)[:2])
    if len(found) != 1:
        raise ValidationError({"transcript_provider": ERR_NO_TRANSCRIBER.format(provider=provider.strip())})
    return found[0]


def disclosure_record_transcription(*, actor: User | None, call, provider: str) -> Disclosure | None:
    """Record that a call of a known customer went to the (US) transcription provider, so the
    disclosure log, the export and Art 19 name it. A fact the system records itself, not a
    disclosure asked for, so the guards (restriction, consent) do not apply: it has happened.
    Idempotent per call. A call matched to no customer has no one to record it against."""
    if call.customer_id is None:
        return None
    recipient = transcription_recipient(provider)
    reference = TRANSCRIPTION_REFERENCE.format(pk=call.pk)
    existing = Disclosure.objects.filter(recipient=recipient, recipient_reference=reference).first()
    if existing is not None:
        return existing
    disclosure = Disclosure(
        customer_id=call.customer_id,
        recipient=recipient,
        data_categories=[DataCategory.CALL_RECORDING],
        purpose=Disclosure.Purpose.CALL_TRANSCRIPTION,
        lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS,
        disclosed_at=timezone.now(),
        recipient_reference=reference,
        recorded_by=None,
        via=Disclosure.Via.TRANSCRIPTION,
    )
    save_tracked(disclosure, actor=actor, reason="Call sent for transcription")
    transaction.on_commit(forget_monthly_counts)
    return disclosure
