"""The email platform's `List-Unsubscribe` headers for a campaign (RFC 2369, RFC 8058).

The platform sends the marketing emails; the opt-out must reach us. So for each recipient it
gets from us the two header values to put on that recipient's email:

    List-Unsubscribe: <https://…/p/unsubscribe/<signed token>/>, <mailto:…?subject=unsubscribe%20<token>>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

The URL is the customer's own signed one-click link (services/unsubscribe.py): a mailbox provider
POSTs `List-Unsubscribe=One-Click` to it and the opt-out is recorded as a one-click unsubscribe,
actioned within legal.OPT_OUT_DAYS_EMAIL_ONE_CLICK days. The mailto (RFC 2369's other form) is
given only when settings.LIST_UNSUBSCRIBE_MAILTO names the mailbox that takes unsubscribe emails;
its subject carries the same token, so the mailbox can act on it without trusting the sender.

Only customers who may be emailed marketing now are listed: a current opt-in to direct marketing
by email, an email address, not on the email suppression list, and not erased, deceased, objected
(Art 21) or restricted (Art 18). Everyone else is counted by why they are left out, never listed.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, CharField, Count, Exists, OuterRef, Subquery, Value, When

from ..models import Bereavement, Channel, Customer, PreferenceChange, Purpose, SuppressionEntry
from .suppression import identifier_hash
from .unsubscribe import ONE_CLICK_KEY, ONE_CLICK_VALUE, unsubscribe_token, unsubscribe_url

HEADER = ("customer_reference", "email", "list_unsubscribe", "list_unsubscribe_post")
ONE_CLICK_POST = f"{ONE_CLICK_KEY}={ONE_CLICK_VALUE}"
CHUNK = 2000

# Why a customer is left out, in the order the reasons are tried (the first that applies counts).
EXCLUDED = {
    "erased": "Erased",
    "deceased": "Deceased (bereavement recorded)",
    "objected": "Objected to direct marketing (Art 21)",
    "restricted": "Processing restricted (Art 18)",
    "no_email": "No email address on record",
    "not_opted_in": "Opted out of, or never agreed to, marketing by email",
    "suppressed": "On the email suppression list",
}


def _latest_email_consent():
    """The customer's latest change of direct marketing by email (as a one-row subquery)."""
    latest = PreferenceChange.objects.filter(
        customer=OuterRef(OuterRef("pk")), purpose=Purpose.DIRECT_MARKETING, channel=Channel.EMAIL
    ).order_by("-received_at", "-id")
    return PreferenceChange.objects.filter(pk=Subquery(latest.values("pk")[:1]))


def _customers():
    """Customers, each with `left_out`: the first reason (EXCLUDED) they may not be emailed
    marketing, or '' when they may (the suppression list aside: its hashes are keyed in Python)."""
    deceased = Exists(Bereavement.objects.filter(customer=OuterRef("pk")))
    reason = Case(
        When(erased_at__isnull=False, then=Value("erased")),
        When(deceased, then=Value("deceased")),
        When(marketing_objected=True, then=Value("objected")),
        When(processing_restricted=True, then=Value("restricted")),
        When(email="", then=Value("no_email")),
        When(Exists(_latest_email_consent().filter(granted=True)), then=Value("")),
        default=Value("not_opted_in"),
        output_field=CharField(),
    )
    return Customer.objects.annotate(left_out=reason)


@dataclass
class Audience:
    """Who is listed (their ids, in order) and how many were left out, by reason."""

    ids: list[int]
    excluded: Counter

    @property
    def excluded_rows(self) -> list[tuple[str, str, int]]:
        return [(code, label, self.excluded.get(code, 0)) for code, label in EXCLUDED.items()]

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


def _suppressed(emails: Iterable[str]) -> set[str]:
    """Which of `emails` are on the email suppression list (one statement)."""
    by_hash = {identifier_hash(e): e for e in emails}
    found = SuppressionEntry.objects.filter(channel=Channel.EMAIL, identifier_hash__in=list(by_hash))
    return {by_hash[h] for h in found.values_list("identifier_hash", flat=True)}


def audience() -> Audience:
    """Everyone who may be emailed marketing now, and the count left out per reason: one statement
    for the counts, then one per CHUNK of candidates for their ids and the suppression list."""
    base = _customers()
    counts = base.exclude(left_out="").values("left_out").annotate(n=Count("pk")).order_by()
    excluded = Counter({row["left_out"]: row["n"] for row in counts})
    ids: list[int] = []
    candidates = base.filter(left_out="").order_by("pk").values_list("pk", "email")
    for chunk in _chunks(candidates.iterator(chunk_size=CHUNK)):
        suppressed = _suppressed(email for _, email in chunk)
        for pk, email in chunk:
            if email in suppressed:
                excluded["suppressed"] += 1
            else:
                ids.append(pk)
    return Audience(ids=ids, excluded=excluded)


def _chunks(rows: Iterator, size: int = CHUNK) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def header_values(customer: Customer, *, base_url: str) -> tuple[str, str]:
    """(List-Unsubscribe, List-Unsubscribe-Post) for one recipient. `base_url`: the public origin
    (settings.PUBLIC_BASE_URL, or the request's)."""
    url = base_url.rstrip("/") + unsubscribe_url(customer, Channel.EMAIL)
    targets = [f"<{url}>"]
    mailbox = settings.LIST_UNSUBSCRIBE_MAILTO
    if mailbox:
        token = unsubscribe_token(customer, Channel.EMAIL)
        subject = urllib.parse.quote(f"unsubscribe {token}", safe="")
        targets.append(f"<mailto:{mailbox}?subject={subject}>")
    return ", ".join(targets), ONE_CLICK_POST


def rows(ids: list[int], *, base_url: str) -> Iterator[list[str]]:
    """The CSV's rows for `ids`, CHUNK at a time (one statement each). Each chunk is read with the
    same rule again, so a customer who opted out since the audience was read is left out."""
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        customers = list(_customers().filter(left_out="", pk__in=chunk).order_by("pk").only("pk", "email"))
        suppressed = _suppressed(c.email for c in customers)
        for customer in customers:
            if customer.email in suppressed:
                continue
            unsubscribe, post = header_values(customer, base_url=base_url)
            yield [customer.reference, customer.email, unsubscribe, post]
