"""The advertising audiences' removal feed: who must no longer see personalised online ads.

Written each day beside the suppression files, one CSV per ad platform in the form that
platform's customer-list upload takes, so the people who opted out of personalised advertising
(or objected to marketing, or whose processing is restricted) are removed from every audience:

* Google Customer Match (`google_customer_match.csv`, columns `Email,Phone`): email trimmed
  and lower-cased, phone in E.164 with its "+" and country code, each SHA-256, hex
  (developers.google.com, Customer Match "Prepare user data": "Format phone number value using
  the E.164 format. Include the country code." and hash with SHA256).
* Meta Custom Audiences (`meta_custom_audiences.csv`, columns `email,phone`): email trimmed
  and lower-cased; phone as digits only with the country code, no "+" and no leading zeros
  (Meta's customer-list normalisation: "remove symbols, letters, and any leading zeroes",
  e.g. 447123456 not +447123456), each SHA-256, hex.

Every email and number the customer has ever had (the live row and its history) is included:
an audience loaded with a former address still reaches them. Plain SHA-256 (not our keyed
hash) because that is what the platforms match on; the files are private storage only, never
served, and hold no value in clear.

Erased people: erasure blanks the record and its history, so an erased person would drop out
of the files. So erasure (`ad_removal_add`) keeps, for an erased person who may be in an
audience (anyone who ever gave or withdrew personalised-advertising consent, objected to
marketing or had processing restricted), the platform hashes of every email and number they
had (customers.AdRemovalEntry, no link to anyone, no value in clear), and every later file
carries them: the platform drops them and an audience re-uploaded from an old list is cleaned
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest

import phonenumbers
from django.db.models import Exists, OuterRef, Q

from privacy_portal import csv_safe
from privacy_portal.models import User
from privacy_portal.private_storage import file_writing
from privacy_portal.tracked import save_tracked

from ..models import AdRemovalEntry, Customer, PreferenceChange, Purpose
from .normalise import email_key

GOOGLE_FILE = "google_customer_match.csv"
GOOGLE_HEADER = ("Email", "Phone")
META_FILE = "meta_custom_audiences.csv"
META_HEADER = ("email", "phone")
AD_FEED_FILES = (GOOGLE_FILE, META_FILE)
# Owner read-write, group read, as the feed files have always been written: the marketing and
# advertising systems load them (customers/services/feed.py); every other file of private
# storage is the portal's own (private_storage.FILE_MODE).
FEED_FILE_MODE = 0o640
CHUNK_SIZE = 2000


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_ad_email(email: str) -> str:
    """Trimmed and lower-cased, as both platforms ask ('' when there is none), by the portal's one
    email rule (email_key: its compatibility form first, as every address is stored)."""
    return email_key(email or "")


def e164(phone: str) -> str:
    """The number in E.164 (+447700900123), UK numbers assumed without a country code; '' if not a number."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, "GB")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def google_hashes(email: str, phone: str) -> tuple[str, str]:
    """(email hash, phone hash) as Google Customer Match takes them; '' where there is no value."""
    email, number = normalise_ad_email(email), e164(phone)
    return (sha256_hex(email) if email else "", sha256_hex(number) if number else "")


def meta_hashes(email: str, phone: str) -> tuple[str, str]:
    """(email hash, phone hash) as Meta Custom Audiences take them: the phone's digits with the
    country code, no '+' and no leading zeros."""
    email, number = normalise_ad_email(email), e164(phone).lstrip("+").lstrip("0")
    return (sha256_hex(email) if email else "", sha256_hex(number) if number else "")


def _personalised_ads_opted_out() -> Q:
    """Customers whose latest personalised-advertising change is an opt-out."""
    later = PreferenceChange.objects.filter(customer=OuterRef("customer_id"), purpose=Purpose.PERSONALISED_ADS).filter(
        Q(received_at__gt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), pk__gt=OuterRef("pk"))
    )
    current_opt_outs = PreferenceChange.objects.filter(purpose=Purpose.PERSONALISED_ADS, granted=False).exclude(
        Exists(later)
    )
    return Q(pk__in=current_opt_outs.values("customer_id"))


def ad_removal_customers() -> Iterator[Customer]:
    """Everyone the ad platforms must not target, in id order: a current opt-out of personalised
    advertising, an Art 21 objection to marketing, or restricted processing (Art 18)."""
    who = _personalised_ads_opted_out() | Q(marketing_objected=True) | Q(processing_restricted=True)
    return Customer.objects.filter(who).only("id", "email", "phone").order_by("pk").iterator(chunk_size=CHUNK_SIZE)


def may_be_in_an_audience(customer: Customer) -> bool:
    """Whether the ad platforms may hold the customer: any personalised-advertising choice on
    record (a consent given, then perhaps withdrawn), an objection to marketing, or restricted
    processing (both put them in the removal files)."""
    if customer.marketing_objected or customer.processing_restricted:
        return True
    return PreferenceChange.objects.filter(customer=customer, purpose=Purpose.PERSONALISED_ADS).exists()


REASON_AD_REMOVAL_KEPT = "Kept for the advertising audiences' removal feed (erasure)"


def ad_removal_add(*, actor: User | None, emails, phones) -> int:
    """Keep the platform hashes of `emails` and `phones` for every later removal file (erasure,
    before it blanks them; `actor` the erasure's). Returns how many entries are new."""
    wanted = []
    for email in sorted(set(emails)):
        google, _ = google_hashes(email, "")
        if google:
            wanted.append(AdRemovalEntry(kind=AdRemovalEntry.Kind.EMAIL, google_hash=google, meta_hash=google))
    for phone in sorted(set(phones)):
        (_, google), (_, meta) = google_hashes("", phone), meta_hashes("", phone)
        if google:
            wanted.append(AdRemovalEntry(kind=AdRemovalEntry.Kind.PHONE, google_hash=google, meta_hash=meta))
    known = set(
        AdRemovalEntry.objects.filter(google_hash__in=[w.google_hash for w in wanted]).values_list(
            "kind", "google_hash"
        )
    )
    new = [w for w in wanted if (w.kind, w.google_hash) not in known]
    for entry in new:  # one at a time: each with its history row
        save_tracked(entry, actor=actor, reason=REASON_AD_REMOVAL_KEPT)
    return len(new)


def _erased_rows() -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
    entries = AdRemovalEntry.objects.order_by("pk").values_list("kind", "google_hash", "meta_hash")
    for kind, google, meta in entries.iterator(chunk_size=CHUNK_SIZE):
        if kind == AdRemovalEntry.Kind.EMAIL:
            yield (google, ""), (meta, "")
        else:
            yield ("", google), ("", meta)


def _chunks(customers: Iterator[Customer]) -> Iterator[list[Customer]]:
    chunk: list[Customer] = []
    for customer in customers:
        chunk.append(customer)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _identifiers(chunk: list[Customer]) -> dict[int, tuple[set[str], set[str]]]:
    """Per customer, every email and phone they have had: the live row and every version in its
    history (an audience loaded with a former address still reaches them). One query a chunk."""
    found: dict[int, tuple[set[str], set[str]]] = {c.pk: ({c.email}, {c.phone}) for c in chunk}
    former = Customer.history.filter(id__in=list(found)).values_list("id", "email", "phone").distinct()
    for pk, email, phone in former:
        found[pk][0].add(email)
        found[pk][1].add(phone)
    return found


def _rows(emails: set[str], phones: set[str]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """(Google row, Meta row) pairs for one customer: each email and each number once, paired up
    in order (row n is the same values in both files); a row may hold only an email or only a
    phone, as both platforms accept."""
    hashed_emails = sorted({h for h in (google_hashes(e, "")[0] for e in emails) if h})
    numbers = sorted({(google_hashes("", p)[1], meta_hashes("", p)[1]) for p in phones} - {("", "")})
    rows = []
    for email, number in zip_longest(hashed_emails, numbers, fillvalue=None):
        google_phone, meta_phone = number or ("", "")
        rows.append(((email or "", google_phone), (email or "", meta_phone)))
    return rows


@dataclass
class AdFeedResult:
    rows: int = 0
    # Customers whose identifiers are in the files, and those with no email or phone to match on.
    carried: set[int] = field(default_factory=set)
    nothing_to_match: set[int] = field(default_factory=set)
    # Rows for erased people's emails and numbers (AdRemovalEntry).
    erased: int = 0


def write_ad_feed(folder: str) -> AdFeedResult:
    """Write both platforms' removal files into `folder` (of private storage), each atomically (a
    reader never sees half a file), both put in place once both are written."""
    result = AdFeedResult()
    with (
        file_writing(f"{folder}/{GOOGLE_FILE}", mode=FEED_FILE_MODE) as g,
        file_writing(f"{folder}/{META_FILE}", mode=FEED_FILE_MODE) as m,
    ):
        google, meta = csv_safe.writer(g), csv_safe.writer(m)
        google.writerow(GOOGLE_HEADER)
        meta.writerow(META_HEADER)
        for chunk in _chunks(ad_removal_customers()):
            for pk, (emails, phones) in _identifiers(chunk).items():
                rows = _rows(emails, phones)
                if not rows:
                    result.nothing_to_match.add(pk)
                    continue
                for google_row, meta_row in rows:
                    google.writerow(google_row)
                    meta.writerow(meta_row)
                result.carried.add(pk)
                result.rows += len(rows)
        for google_row, meta_row in _erased_rows():  # erased people (AdRemovalEntry)
            google.writerow(google_row)
            meta.writerow(meta_row)
            result.rows += 1
            result.erased += 1
    return result
