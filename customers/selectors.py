"""Non-trivial reads for the customers app."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Customer, PreferenceChange
from .services.normalise import looks_like_phone, normalise_email, normalise_phone, normalise_postcode

SEARCH_MIN_TERM_LENGTH = 3
SEARCH_PAGE_SIZE = 25

MSG_TOO_SHORT = f"Type at least {SEARCH_MIN_TERM_LENGTH} characters."
MSG_BAD_PHONE = "That looks like a phone number but is not a valid UK number. Check the digits."

_OUTWARD_CODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")
_FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?\s*[0-9][A-Z]{2}$")
_REFERENCE = re.compile(r"^C-?\s*\d{1,12}$", re.IGNORECASE)

# The columns the agent sees in results: no more is loaded.
RESULT_FIELDS = (
    "id",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "postcode",
    "processing_restricted",
    "marketing_objected",
    "erased_at",
)


@dataclass
class SearchResult:
    kind: str
    customers: list[Customer] = field(default_factory=list)
    next_after: int | None = None
    message: str = ""


def classify(term: str) -> str:
    """Which kind of search a term is: reference, email, phone, postcode, outward code or name."""
    term = term.strip()
    if _REFERENCE.match(term):
        return "reference"
    if "@" in term:
        return "email"
    if looks_like_phone(term):
        return "phone"
    upper = term.upper()
    if _FULL_POSTCODE.match(upper):
        return "postcode"
    if _OUTWARD_CODE.match(upper) and any(c.isdigit() for c in upper):
        return "outward"
    return "name"


def customer_search(term: str, *, after: int | None = None, limit: int = SEARCH_PAGE_SIZE) -> SearchResult:
    """Find customers by name, email, phone (any format), postcode or reference.

    Every kind is an indexed lookup: exact or prefix on b-tree indexes, and the trigram
    index for names. Keyset paging (`after` = the last id shown); never a COUNT(*).
    """
    term = (term or "").strip()
    if len(term) < SEARCH_MIN_TERM_LENGTH:
        return SearchResult(kind="too_short", message=MSG_TOO_SHORT)
    kind = classify(term)
    qs = Customer.objects.only(*RESULT_FIELDS)
    if kind == "reference":
        pk = Customer.pk_from_reference(term)
        qs = qs.filter(pk=pk)
    elif kind == "email":
        try:
            qs = qs.filter(email=normalise_email(term))
        except ValidationError:
            qs = qs.filter(email__startswith=term.lower())
    elif kind == "phone":
        try:
            qs = qs.filter(phone=normalise_phone(term))
        except ValidationError:
            return SearchResult(kind=kind, message=MSG_BAD_PHONE)
    elif kind == "postcode":
        qs = qs.filter(postcode=normalise_postcode(term))
    elif kind == "outward":
        qs = qs.filter(postcode__startswith=term.upper() + " ")
    else:
        return _name_search(qs, term, after=after, limit=limit)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return _page(kind, qs.order_by("id"), limit)


def _name_search(qs: QuerySet, term: str, *, after: int | None, limit: int) -> SearchResult:
    words = [w for w in re.split(r"\s+", term.lower()) if w]
    for word in words:
        qs = qs.filter(search_name__contains=word)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    # In id order, like the other kinds, not alphabetical: PostgreSQL then chooses per term
    # between walking the primary key until a page matches (common names: "smith" is found in
    # a few ms) and the trigram index (rare names). Alphabetical order made it fetch and sort
    # every match first: 85-140 ms for "smith", 200-380 ms for "son" at a million customers
    # (bench/RESULTS.md).
    return _page("name", qs.order_by("id"), limit)


def _page(kind: str, qs: QuerySet, limit: int) -> SearchResult:
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchResult(kind=kind, customers=rows, next_after=rows[-1].pk if more else None)


def customer_search_baseline(term: str, *, limit: int = SEARCH_PAGE_SIZE) -> list[Customer]:
    """The naive search, for the benchmark only: icontains over every field, no normalising."""
    term = term.strip()
    q = (
        Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(email__icontains=term)
        | Q(phone__icontains=term)
        | Q(postcode__icontains=term)
    )
    return list(Customer.objects.only(*RESULT_FIELDS).filter(q).order_by("id")[:limit])


MISSED_OPEN = "open"
MISSED_LATE = "late"


def _open_missed(today: datetime.date) -> Q:
    """Opt-outs past their take-effect date that no feed has carried yet."""
    return Q(granted=False, actioned_at__isnull=True, takes_effect_by__lt=today)


def missed_optout_deadlines(
    *,
    today: datetime.date | None = None,
    due_from: datetime.date | None = None,
    due_to: datetime.date | None = None,
    state: str = "",
) -> QuerySet[PreferenceChange]:
    """Every opt-out that missed its take-effect date, oldest deadline first, for the DPO: those
    still not actioned, and those actioned late (they stay listed, with how late they were).

    `due_from`/`due_to` bound the take-effect date (the promise missed); `state` is "open"
    (still not actioned), "late" (actioned late) or "" (both). Served by the partial indexes
    `prefchange_unactioned` and `prefchange_actioned_late`.
    """
    today = today or timezone.localdate()
    if state == MISSED_OPEN:
        condition = _open_missed(today)
    elif state == MISSED_LATE:
        condition = Q(late_by_days__isnull=False)
    else:
        condition = _open_missed(today) | Q(late_by_days__isnull=False)
    qs = PreferenceChange.objects.filter(condition)
    if due_from:
        qs = qs.filter(takes_effect_by__gte=due_from)
    if due_to:
        qs = qs.filter(takes_effect_by__lte=due_to)
    return (
        qs.select_related("customer")
        .only(
            "id",
            "purpose",
            "channel",
            "source",
            "received_at",
            "takes_effect_by",
            "actioned_at",
            "late_by_days",
            "customer__id",
            "customer__erased_at",
        )
        .order_by("takes_effect_by", "id")
    )


def days_late(change: PreferenceChange, *, today: datetime.date | None = None) -> int:
    """How late an opt-out was actioned, or (still open) is so far."""
    if change.late_by_days is not None:
        return change.late_by_days
    return ((today or timezone.localdate()) - change.takes_effect_by).days


def missed_optout_open_count(*, today: datetime.date | None = None) -> int:
    """Opt-outs past their date and still not actioned (the feed's report, the dashboard)."""
    return PreferenceChange.objects.filter(_open_missed(today or timezone.localdate())).count()


def missed_optout_late_count(*, since: datetime.date) -> int:
    """Opt-outs actioned late whose take-effect date falls on or after `since` (the dashboard)."""
    return PreferenceChange.objects.filter(late_by_days__isnull=False, takes_effect_by__gte=since).count()


# --- Matching a requester to customer records -------------------------------------------------

MATCH_CANDIDATES = 20


@dataclass(frozen=True)
class CustomerMatch:
    customer: Customer
    matched: tuple[str, ...]  # "reference", "email", "phone", "name", "address"


def _or_blank(normalise, value: str) -> str:
    try:
        return normalise(value) if value.strip() else ""
    except ValidationError:
        return ""


def customers_matching(
    *, name: str = "", email: str = "", phone: str = "", postcode: str = "", account_reference: str = ""
) -> list[CustomerMatch]:
    """Customer records whose identifiers, now or at any time before (customers.subject:
    every version in the history), match the details a requester typed: for the handler to
    confirm, never to link on its own. An email, a number or the account reference matches on
    its own; a postcode or a name only with the surname (customers.subject.party_matches)."""
    from .subject import Identifiers, party_matches

    email_n = _or_blank(normalise_email, email)
    phone_n = _or_blank(normalise_phone, phone)
    postcode_n = _or_blank(normalise_postcode, postcode)
    surname = name.strip().split()[-1] if name.strip() else ""
    pk = Customer.pk_from_reference(account_reference) if account_reference.strip() else None
    keys = Q(pk__in=[])
    if email_n:
        keys |= Q(email=email_n)
    if phone_n:
        keys |= Q(phone=phone_n)
    if postcode_n and surname:
        keys |= Q(postcode=postcode_n, last_name__iexact=surname)
    if surname:
        keys |= Q(last_name__iexact=surname, first_name__iexact=name.strip().split()[0])
    if pk:
        keys |= Q(pk=pk)
    live = set(Customer.objects.filter(keys).values_list("pk", flat=True)[:MATCH_CANDIDATES])
    past = set(Customer.history.filter(keys).values_list("id", flat=True).distinct()[:MATCH_CANDIDATES])
    found = []
    for customer in Customer.objects.filter(pk__in=live | past, erased_at__isnull=True).order_by("pk"):
        matched = party_matches(Identifiers.of(customer), name=name, email=email, phone=phone, address=postcode)
        if pk == customer.pk:
            matched = ["reference", *matched]
        if matched:
            found.append(CustomerMatch(customer, tuple(matched)))
    return found[:MATCH_CANDIDATES]
