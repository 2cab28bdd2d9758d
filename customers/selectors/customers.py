"""Non-trivial reads for the customers app."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import IntegerField, Q, QuerySet, Value
from django.utils import timezone

from privacy_portal import paging

from ..models import ERASURE_REASON, Customer, InboundSms, PreferenceChange
from ..services.normalise import email_key, looks_like_phone, normalise_email, normalise_phone, normalise_postcode
from ..subject import Identifiers, party_matches

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
        qs = qs.filter(pk=pk)  # type: ignore[misc]  # None (no such reference) matches no row
    elif kind == "email":
        try:
            qs = qs.filter(email=normalise_email(term))
        except ValidationError:
            qs = qs.filter(email__startswith=email_key(term))
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


def _typed_postcode(value: str) -> str:
    """A typed postcode in the stored form ("UW2 4TK"): normalised when valid, else upper case
    with one space before the last three characters. Records keep postcodes the strict rule
    refuses (legacy imports; the bench's "RK1 3VB"), and they must still match as typed."""
    normalised = _or_blank(normalise_postcode, value)
    if normalised:
        return normalised
    compact = "".join(c for c in value.upper() if c.isalnum())
    return f"{compact[:-3]} {compact[-3:]}" if 5 <= len(compact) <= 7 else ""


def customers_matching(
    *, name: str = "", email: str = "", phone: str = "", postcode: str = "", account_reference: str = ""
) -> list[CustomerMatch]:
    """Customer records whose identifiers, now or at any time before (customers.subject:
    every version in the history), match the details a requester typed: for the handler to
    confirm, never to link on its own. An email, a number or the account reference matches on
    its own; a postcode or a name only with the surname (customers.subject.party_matches).

    Three statements whatever the number of candidates: the candidate ids (one UNION ALL of
    each key on the live rows and on the history, each capped on its own), the live rows, and
    every candidate's history at once."""
    email_n = _or_blank(normalise_email, email)
    phone_n = _or_blank(normalise_phone, phone)
    postcode_n = _typed_postcode(postcode) if postcode.strip() else ""
    words = name.split()
    surname = words[-1] if words else ""
    pk = Customer.pk_from_reference(account_reference) if account_reference.strip() else None
    # Strongest first, each capped on its own: a common name ("John Smith") must not crowd out
    # the one record that also has the postcode, the email or the number typed
    # (bench/matching_bench.py found 70 in 100 name-and-postcode matches lost to the cap when
    # one query held every key).
    keys = []  # (on the live row, on a version in the history): the history's own pk is history_id
    if pk:
        keys.append((Q(pk=pk), Q(id=pk)))
    if email_n:
        keys.append((Q(email=email_n),) * 2)
    if phone_n:
        keys.append((Q(phone=phone_n),) * 2)
    if postcode_n and surname:
        keys.append((Q(postcode=postcode_n, last_name__iexact=surname),) * 2)
    if surname:
        keys.append((Q(last_name__iexact=surname, first_name__iexact=words[0]),) * 2)
    if not keys:
        return []
    parts = []
    for rank, (live_key, history_key) in enumerate(keys):
        rank_value = Value(rank, output_field=IntegerField())
        live = Customer.objects.filter(live_key).annotate(rank=rank_value)
        parts.append(live.values_list("pk", "rank").order_by("pk")[:MATCH_CANDIDATES])
        former = Customer.history.filter(history_key).annotate(rank=rank_value)
        parts.append(former.values_list("id", "rank").order_by("id").distinct()[:MATCH_CANDIDATES])
    rows = list(parts[0].union(*parts[1:], all=True))
    best: dict[int, int] = {}
    for customer_id, rank in rows:
        best[customer_id] = min(rank, best.get(customer_id, rank))
    candidates = sorted(best, key=lambda i: (best[i], i))[: 2 * MATCH_CANDIDATES]
    live_rows = Customer.objects.in_bulk(candidates)
    versions: dict[int, list[dict]] = {i: [] for i in candidates}
    for version in Customer.history.filter(id__in=candidates).values("id", *Identifiers.FIELDS):
        versions[version.pop("id")].append(version)
    typed_postcode = postcode_n.replace(" ", "")
    found = []
    for customer in (live_rows[i] for i in candidates if i in live_rows):  # strongest first
        if customer.erased_at is not None:
            continue
        current = {field: getattr(customer, field) for field in Identifiers.FIELDS}
        ids = Identifiers.from_versions([current, *versions[customer.pk]])
        matched = party_matches(ids, name=name, email=email, phone=phone, address=postcode)
        if (
            typed_postcode
            and "address" not in matched
            and surname.casefold() in {last.casefold() for last in ids.last_names}
            and typed_postcode in {p.replace(" ", "") for p in ids.postcodes}
        ):
            matched.append("postcode")  # with the surname: a candidate for the handler, as the key says
        if pk == customer.pk:
            matched = ["reference", *matched]
        if matched:
            found.append(CustomerMatch(customer, tuple(matched)))
    return found[:MATCH_CANDIDATES]


# --- Inbound text messages to answer -----------------------------------------------------------

INBOUND_PAGE = 50
# A text blanked by erasure (retention deletes the rows themselves) is shown as what happened,
# never as an empty message, as the access log shows a reason redacted at erasure.
REMOVED_TEXT = "(removed on {on:%-d %b %Y}: {cause})"
REMOVED_BY_ERASURE = "erasure"
REMOVED_BY_RETENTION = "retention"


def inbound_messages(
    *, handled: bool, cursor: str = "", limit: int = INBOUND_PAGE
) -> tuple[list[InboundSms], str | None]:
    """Text messages that are not a stop, newest first, keyset-paged (privacy_portal.paging: one
    indexed query whatever the number kept, inboundsms_to_read), and the next (older) page's cursor."""
    rows = InboundSms.objects.filter(outcome=InboundSms.Outcome.NOT_A_STOP, handled_at__isnull=not handled)
    found, next_cursor = paging.newest_first(
        rows.select_related("handled_by"), date_field="received_at", cursor=cursor, limit=limit
    )
    _mark_removed(found)
    return found, next_cursor


def _mark_removed(messages: list[InboundSms]) -> None:
    """Set `removed` on each message: REMOVED_TEXT for one whose text and number were blanked (the
    date and cause of the change that blanked them, from its history: one query for the page),
    "" otherwise. A text that came empty keeps its number, so it is not taken for a removed one."""
    for message in messages:
        message.removed = ""  # type: ignore[attr-defined]
    blank = {m.pk: m for m in messages if m.text == "" and m.sender == ""}
    if not blank:
        return
    changes = (
        InboundSms.history.filter(id__in=blank, history_type="~", text="", sender="")
        .order_by("id", "history_date")
        .values_list("id", "history_date", "history_change_reason")
    )
    for pk, when, reason in changes:
        if pk in blank:  # the first change that blanked it
            message = blank.pop(pk)
            cause = REMOVED_BY_ERASURE if reason == ERASURE_REASON else REMOVED_BY_RETENTION
            message.removed = REMOVED_TEXT.format(on=timezone.localtime(when), cause=cause)  # type: ignore[attr-defined]
