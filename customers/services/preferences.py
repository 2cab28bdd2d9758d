"""Marketing preferences: recording each change with its evidence and take-effect date."""

from __future__ import annotations

import datetime
from collections.abc import Container, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.models import PrivacyNoticeVersion, User
from privacy_portal.tracked import save_tracked

from ..models import (
    CHANNEL_PURPOSES,
    Bereavement,
    Channel,
    Customer,
    PreferenceChange,
    Purpose,
    SuppressionEntry,
    preference_label,
)
from .suppression import suppression_add_customer

Source = PreferenceChange.Source

ERR_CHANNEL = "Choose a channel: email, SMS, phone or post."
ERR_NO_CHANNEL = "{purpose} is not tied to a channel; leave the channel empty."
ERR_PURPOSE = "Choose a purpose: direct marketing, personalised online advertising or sharing sensitive data."
ERR_SOURCE = "Choose where the change came from."
ERR_FUTURE = "The date received cannot be in the future."
ERR_OBJECTED = "The customer has objected to direct marketing (Art 21): marketing consent cannot be recorded."
ERR_RESTRICTED = "Processing is restricted for this customer (Art 18): no new marketing consent can be recorded."
ERR_ERASED = "This customer has been erased."
ERR_DECEASED = "This customer has died (a bereavement is recorded): no marketing consent can be recorded."
ERR_NOTICE_VERSION = "No privacy notice version “{version}” is in the archive. Give the version shown, as archived."

# Purposes that are marketing (an Art 21 objection withdraws all of them).
MARKETING_PURPOSES = (Purpose.DIRECT_MARKETING, Purpose.PERSONALISED_ADS)

# How long each opt-out may take to be in effect, from the day it is received.
OPT_OUT_DELAY: dict[tuple[str, str], datetime.timedelta] = {
    (Purpose.DIRECT_MARKETING, Channel.EMAIL): datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL),
    (Purpose.DIRECT_MARKETING, Channel.SMS): datetime.timedelta(days=legal.OPT_OUT_DAYS_SMS),
    (Purpose.DIRECT_MARKETING, Channel.PHONE): datetime.timedelta(days=legal.OPT_OUT_DAYS_PHONE),
    (Purpose.DIRECT_MARKETING, Channel.POST): datetime.timedelta(weeks=legal.OPT_OUT_WEEKS_POST),
    (Purpose.PERSONALISED_ADS, ""): datetime.timedelta(days=legal.OPT_OUT_DAYS_PERSONALISED_ADS),
    (Purpose.SENSITIVE_SHARING, ""): datetime.timedelta(days=legal.OPT_OUT_DAYS_SENSITIVE_SHARING),
    (Purpose.CALLS_DESPITE_TPS, ""): datetime.timedelta(days=legal.OPT_OUT_DAYS_CALLS_DESPITE_TPS),
}

# An Art 21 objection (or a bereavement) withdraws every marketing purpose and the reg 21(4)
# notification too: no marketing call, TPS-listed or not.
WITHDRAWN_BY_OBJECTION = (*MARKETING_PURPOSES, Purpose.CALLS_DESPITE_TPS)


# Purposes whose withdrawal takes effect the moment it is recorded, with no feed to wait for:
# sharing sensitive data is a guard the portal itself applies to every later disclosure
# (legal.OPT_OUT_DAYS_SENSITIVE_SHARING = 0, UK GDPR Art 7(3)).
# Withdrawing a reg 21(4) notification likewise: every screening reads it live.
EFFECTIVE_AT_ONCE = frozenset({Purpose.SENSITIVE_SHARING, Purpose.CALLS_DESPITE_TPS})
REASON_AT_ONCE = "effective at once (a guard on every later disclosure)"


def actioned_on_recording(*, purpose: str, granted: bool, now: datetime.datetime) -> datetime.datetime | None:
    """When a change takes effect by being recorded: a withdrawal of sensitive sharing, at once.
    Every other opt-out waits for the feed that carries it."""
    return now if not granted and purpose in EFFECTIVE_AT_ONCE else None


def preference_keys() -> list[tuple[str, str]]:
    """Every (purpose, channel) pair a customer has a preference for, in display order."""
    return list(OPT_OUT_DELAY)


# Email opt-outs the mailbox providers hold to 2 days (legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK): the
# one-click unsubscribe (RFC 8058) and the email provider's reported unsubscribes and complaints.
ONE_CLICK_SOURCES = frozenset({Source.ONE_CLICK, Source.EMAIL_PROVIDER})
ONE_CLICK_DELAY = datetime.timedelta(days=legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK)


def take_effect_by(
    *, purpose: str, channel: str, granted: bool, received_at: datetime.datetime, source: str = ""
) -> datetime.date:
    """The date a change must be in effect: opt-ins at once, opt-outs within the promised time
    (an email opt-out by one-click unsubscribe or from the email provider within 2 days)."""
    received = timezone.localtime(received_at).date()
    if granted:
        return received
    if (purpose, channel) == (Purpose.DIRECT_MARKETING, Channel.EMAIL) and source in ONE_CLICK_SOURCES:
        return received + ONE_CLICK_DELAY
    return received + OPT_OUT_DELAY[(purpose, channel)]


def validate_key(purpose: str, channel: str) -> None:
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": ERR_PURPOSE})
    if purpose in CHANNEL_PURPOSES:
        if channel not in Channel.values:
            raise ValidationError({"channel": ERR_CHANNEL})
    elif channel:
        raise ValidationError({"channel": ERR_NO_CHANNEL.format(purpose=Purpose(purpose).label)})


def archived_notice_versions(labels: Iterable[str]) -> set[str]:
    """Which of `labels` are versions in the privacy notice archive (one query)."""
    wanted = {label.strip() for label in labels if label.strip()}
    if not wanted:
        return set()
    return set(PrivacyNoticeVersion.objects.filter(label__in=wanted).values_list("label", flat=True))


def validate_notice_version(notice_version: str, *, archived: Container[str] | None = None) -> None:
    """The notice version a change names must be one in the archive (or none). The one rule for
    the page's form and the import; `archived`, from archived_notice_versions, saves a query per row."""
    version = notice_version.strip()
    if not version:
        return
    if archived is None:
        archived = archived_notice_versions([version])
    if version not in archived:
        raise ValidationError({"notice_version": ERR_NOTICE_VERSION.format(version=version)})


def validate_change(
    *,
    customer: Customer,
    purpose: str,
    channel: str,
    granted: bool,
    source: str,
    received_at,
    notice_version: str = "",
    archived_versions: Container[str] | None = None,
) -> None:
    """All the rules for one change, raising a ValidationError that names the field."""
    validate_key(purpose, channel)
    if source not in Source.values:
        raise ValidationError({"source": ERR_SOURCE})
    validate_notice_version(notice_version, archived=archived_versions)
    if received_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"received_at": ERR_FUTURE})
    if customer.is_erased:
        raise ValidationError(ERR_ERASED)
    if granted and customer.marketing_objected and purpose in WITHDRAWN_BY_OBJECTION:
        raise ValidationError(ERR_OBJECTED)
    if granted and customer.processing_restricted:
        raise ValidationError(ERR_RESTRICTED)
    if granted and Bereavement.objects.filter(customer=customer).exists():
        raise ValidationError(ERR_DECEASED)


@dataclass(frozen=True)
class PreferenceState:
    purpose: str
    channel: str
    change: PreferenceChange | None

    @property
    def label(self) -> str:
        return preference_label(self.purpose, self.channel)

    @property
    def granted(self) -> bool:
        return bool(self.change and self.change.granted)

    @property
    def pending(self) -> bool:
        """An opt-out received but not yet past its take-effect date."""
        return bool(self.change and not self.change.granted and self.change.takes_effect_by > timezone.localdate())


def preference_states(customer: Customer) -> list[PreferenceState]:
    """The customer's current preference for every (purpose, channel): the latest change wins.

    One statement whatever the customer's history: per (purpose, channel), the latest change is
    one row read from the `prefchange_current` index (a UNION ALL of one-row branches); never
    "load every change and keep the last", which grew with the history (950 ms at 10,000).
    """
    keys = preference_keys()
    changes = customer.preference_changes.select_related("recorded_by")
    if connection.vendor == "postgresql":
        latest_ids = [
            changes.filter(purpose=p, channel=c).order_by("-received_at", "-id").values("id")[:1] for p, c in keys
        ]
        rows = changes.filter(id__in=latest_ids[0].union(*latest_ids[1:], all=True))
    else:  # SQLite (the `make run` demo) cannot order and cut inside a UNION: a demo's few rows
        rows = changes.order_by("received_at", "id")
    latest = {(change.purpose, change.channel): change for change in rows}
    return [PreferenceState(p, c, latest.get((p, c))) for p, c in keys]


def current_change(customer: Customer, purpose: str, channel: str) -> PreferenceChange | None:
    return (
        PreferenceChange.objects.filter(customer=customer, purpose=purpose, channel=channel)
        .order_by("-received_at", "-id")
        .first()
    )


def may_market(customer: Customer, channel: str, purpose: str = Purpose.DIRECT_MARKETING) -> bool:
    """Whether marketing for `purpose` on `channel` is allowed now. Restricted, objected or
    erased customers are never marketed to; otherwise only with a current opt-in."""
    if customer.processing_restricted or customer.marketing_objected or customer.is_erased:
        return False
    change = current_change(customer, purpose, channel if purpose in CHANNEL_PURPOSES else "")
    return bool(change and change.granted)


# The flags the rules read, refreshed from the locked row (the caller's copy may be stale).
_STATE_FIELDS = ("processing_restricted", "restricted_at", "marketing_objected", "objected_at", "erased_at")


def _refresh_state(customer: Customer, locked: Customer) -> None:
    for name in _STATE_FIELDS:
        setattr(customer, name, getattr(locked, name))


@transaction.atomic
def preference_record(
    *,
    actor: User | None,
    customer: Customer,
    purpose: str,
    channel: str = "",
    granted: bool,
    source: str,
    received_at: datetime.datetime | None = None,
    evidence: str = "",
    notice_version: str = "",
) -> tuple[PreferenceChange, bool]:
    """Record one preference change. Returns (change, created).

    Idempotent: if the customer's current preference already says the same, nothing is
    recorded and the existing change is returned, so a repeated opt-out never pushes its
    take-effect date later. Opt-outs from direct marketing also suppress the channel's
    identifier for good.

    Idempotent under concurrency too: the customer's row is locked (FOR NO KEY UPDATE, which
    still lets other rows reference the customer) before the "already recorded?" read, so two
    agents submitting the same opt-out at once queue on the lock and the second one reads the
    first one's change and records nothing. The checks run on the locked row, so an erasure,
    objection or restriction committed meanwhile is seen.
    """
    received_at = received_at or timezone.now()
    channel = channel or ""
    locked = Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
    if locked is not None:
        _refresh_state(customer, locked)
    validate_change(
        customer=customer,
        purpose=purpose,
        channel=channel,
        granted=granted,
        source=source,
        received_at=received_at,
        notice_version=notice_version,
    )
    current = current_change(customer, purpose, channel)
    if current is not None and current.granted == granted:
        return current, False
    change = PreferenceChange(
        customer=customer,
        purpose=purpose,
        channel=channel,
        granted=granted,
        source=source,
        evidence=evidence.strip(),
        notice_version=notice_version.strip(),
        recorded_by=actor,
        received_at=received_at,
        takes_effect_by=take_effect_by(
            purpose=purpose, channel=channel, granted=granted, received_at=received_at, source=source
        ),
        actioned_at=actioned_on_recording(purpose=purpose, granted=granted, now=timezone.now()),
    )
    reason = f"{'Opt-in' if granted else 'Opt-out'} via {Source(source).label}"
    if change.actioned_at is not None:
        reason += f"; {REASON_AT_ONCE}"
    save_tracked(change, actor=actor, reason=reason)
    if not granted and purpose == Purpose.DIRECT_MARKETING:
        suppression_add_customer(
            actor=actor, customer=customer, channels=[channel], reason=SuppressionEntry.Reason.OPTED_OUT
        )
    return change, True


@transaction.atomic
def customer_object_to_marketing(
    *,
    actor: User,
    customer: Customer,
    source: str,
    received_at: datetime.datetime | None = None,
    evidence: str = "",
) -> list[PreferenceChange]:
    """Art 21(2)-(3): an objection to direct marketing is absolute. Withdraws every marketing
    purpose on every channel at once, flags the customer, and suppresses every identifier."""
    received_at = received_at or timezone.now()
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # serialise concurrent objections
    customer.refresh_from_db()
    changes = []
    for purpose, channel in preference_keys():
        if purpose not in WITHDRAWN_BY_OBJECTION:
            continue
        change, created = preference_record(
            actor=actor,
            customer=customer,
            purpose=purpose,
            channel=channel,
            granted=False,
            source=source,
            received_at=received_at,
            evidence=evidence or "Objection to direct marketing (Art 21)",
        )
        if created:
            changes.append(change)
    if not customer.marketing_objected:
        customer.marketing_objected = True
        customer.objected_at = received_at
        save_tracked(customer, actor=actor, reason="Objection to direct marketing (Art 21)")
    suppression_add_customer(
        actor=actor, customer=customer, channels=Channel.values, reason=SuppressionEntry.Reason.OBJECTED
    )
    return changes
