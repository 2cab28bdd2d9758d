"""Scale data: realistic UK customers with their preferences, calls and purchases, in bulk.

For load tests and the search benchmark, never production. A million customers load in
minutes because nothing goes through the ORM: each batch is generated column by column in
Python from pools built once, then streamed into PostgreSQL with COPY (psycopg 3). Every
row gets its history row ("+", reason `SEED_REASON`, no user), copied server-side from the
rows just loaded, so the history tables hold exactly what the model tables hold.

The rules the services apply still hold for the data: contact details in their normalised
form, nobody under 18, a valid (purpose, channel) on every preference change with its
take-effect date from `take_effect_by`, a suppression entry for every opt-out of direct
marketing, opt-outs actioned by the next night's feed (so the DPO's list of missed deadlines
stays realistic), and an Art 21 objection withdrawing every marketing purpose.

Emails use reserved example domains (RFC 2606) so seeded data can never email a person.
"""

from __future__ import annotations

import datetime
import decimal
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone
from phonenumbers import PhoneMetadata

from customers.models import (
    Call,
    Channel,
    Customer,
    PreferenceChange,
    Purchase,
    Purpose,
    SuppressionEntry,
)
from customers.services.normalise import address_key
from customers.services.preferences import MARKETING_PURPOSES, actioned_on_recording, preference_keys, take_effect_by
from customers.services.suppression import identifier_hash
from privacy_portal.legal import MINIMUM_CUSTOMER_AGE_YEARS

SEED_REASON = "seed_scale"
DEFAULT_BATCH_SIZE = 50_000

ERR_NOT_POSTGRESQL = (
    "seed_scale loads with PostgreSQL COPY and needs a PostgreSQL database: set DATABASE_URL "
    "(the SQLite demo database has seed_demo's small set instead)."
)
ERR_NO_FAKER = "seed_scale draws names from Faker, a development dependency: pip install -r requirements-dev.txt."
ERR_MODEL_CHANGED = "{model} has columns seed_scale does not fill: {columns}. Update demo/scale_customers.py."

Source = PreferenceChange.Source

# --- The columns each model table is loaded with (checked against the models at start) ------

CUSTOMER_COLUMNS = (
    "id", "title", "first_name", "last_name", "email", "phone", "address_line1", "address_line2", "town",
    "county", "postcode", "date_of_birth", "account_opened_on", "last_order_on", "created_at", "updated_at",
    "processing_restricted", "restricted_at", "marketing_objected", "objected_at", "erased_at", "version",
    "email_bounced_at",
)  # fmt: skip
PREFERENCE_COLUMNS = (
    "id", "customer_id", "purpose", "channel", "granted", "source", "evidence", "notice_version",
    "recorded_by_id", "received_at", "takes_effect_by", "actioned_at", "created_at", "late_by_days",
)  # fmt: skip
CALL_COLUMNS = (
    "id", "customer_id", "direction", "customer_number", "our_number", "started_at", "duration_seconds",
    "purpose", "recording_ref", "transcript", "transcript_provider",
)  # fmt: skip
PURCHASE_COLUMNS = (
    "id", "customer_id", "order_ref", "ordered_on", "description", "amount", "payment_method", "instalments",
    "instalment_amount", "guarantee_until", "detached_at",
)  # fmt: skip
SUPPRESSION_COLUMNS = ("channel", "identifier_hash", "reason", "created_at", "first_included_at")

# --- Proportions: what a mail-order coin and medal business's customer base looks like --------

SHARE_WITH_EMAIL = 0.88
SHARE_WITH_PHONE = 0.82
SHARE_WITH_DOB = 0.7
SHARE_WITH_PREFERENCES = 0.35
SHARE_WITH_CALLS = 0.12
SHARE_WITH_PURCHASES = 0.6
SHARE_OBJECTED = 0.005
SHARE_RESTRICTED = 0.001
# Calls are spread over this many days back: about half are past the six-month retention,
# so the nightly purge has work to do.
CALL_SPREAD_DAYS = 365
# The suppression feed runs nightly: an opt-out is actioned by the next night's run.
FEED_RUN_TIME = datetime.time(0, 30)  # as privacy_portal.schedule runs it

EMAIL_DOMAINS = (("example.com", 40), ("example.co.uk", 30), ("example.org", 15), ("example.net", 15))
TITLES_MALE = (("Mr", 90), ("Dr", 3), ("", 7))
TITLES_FEMALE = (("Mrs", 50), ("Ms", 20), ("Miss", 15), ("Dr", 3), ("", 12))
NOTICE_VERSIONS = ((datetime.date(2018, 5, 25), "2018-05"), (datetime.date(2021, 1, 1), "2021-01"),
                   (datetime.date(2023, 4, 1), "2023-04"), (datetime.date(2025, 6, 19), "2025-06"))  # fmt: skip

# Postcode areas: (area, town, county, highest district number, weight).
POSTCODE_AREAS = (
    ("SE", "London", "Greater London", 28, 6), ("SW", "London", "Greater London", 20, 6),
    ("N", "London", "Greater London", 22, 5), ("E", "London", "Greater London", 18, 5),
    ("NW", "London", "Greater London", 11, 3), ("W", "London", "Greater London", 14, 3),
    ("CR", "Croydon", "Greater London", 8, 2), ("BR", "Bromley", "Kent", 8, 2),
    ("M", "Manchester", "Greater Manchester", 50, 5), ("B", "Birmingham", "West Midlands", 99, 6),
    ("LS", "Leeds", "West Yorkshire", 29, 4), ("S", "Sheffield", "South Yorkshire", 36, 3),
    ("L", "Liverpool", "Merseyside", 40, 3), ("NE", "Newcastle upon Tyne", "Tyne and Wear", 66, 3),
    ("BS", "Bristol", "", 49, 3), ("EH", "Edinburgh", "", 55, 3), ("G", "Glasgow", "", 84, 4),
    ("CF", "Cardiff", "", 48, 2), ("NG", "Nottingham", "Nottinghamshire", 25, 2),
    ("LE", "Leicester", "Leicestershire", 19, 2), ("BN", "Brighton", "East Sussex", 45, 2),
    ("OX", "Oxford", "Oxfordshire", 49, 2), ("CB", "Cambridge", "Cambridgeshire", 25, 2),
    ("YO", "York", "North Yorkshire", 62, 2), ("EX", "Exeter", "Devon", 39, 2),
    ("PL", "Plymouth", "Devon", 35, 1), ("NR", "Norwich", "Norfolk", 35, 2),
    ("IP", "Ipswich", "Suffolk", 33, 1), ("CT", "Canterbury", "Kent", 21, 1),
    ("TN", "Tunbridge Wells", "Kent", 40, 1), ("GU", "Guildford", "Surrey", 52, 2),
    ("RG", "Reading", "Berkshire", 45, 2), ("SO", "Southampton", "Hampshire", 53, 2),
    ("PO", "Portsmouth", "Hampshire", 41, 1), ("BH", "Bournemouth", "Dorset", 31, 2),
    ("BA", "Bath", "Somerset", 22, 1), ("GL", "Gloucester", "Gloucestershire", 56, 1),
    ("CV", "Coventry", "West Midlands", 47, 1), ("ST", "Stoke-on-Trent", "Staffordshire", 21, 1),
    ("DE", "Derby", "Derbyshire", 75, 1), ("HU", "Hull", "East Yorkshire", 20, 1),
    ("AB", "Aberdeen", "", 56, 1), ("DD", "Dundee", "", 11, 1), ("SA", "Swansea", "", 73, 1),
    ("BT", "Belfast", "", 94, 2), ("LN", "Lincoln", "Lincolnshire", 13, 1),
    ("TR", "Truro", "Cornwall", 27, 1), ("CH", "Chester", "Cheshire", 66, 1),
    ("PR", "Preston", "Lancashire", 26, 1), ("DH", "Durham", "County Durham", 9, 1),
)  # fmt: skip
# Letters allowed in the last two places of a postcode (no C, I, K, M, O, V).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
STREET_STEMS = (
    "High", "Church", "Station", "Victoria", "Mill", "Park", "School", "Queens", "Kings", "New", "Manor",
    "Albert", "Grange", "Springfield", "Windsor", "Chapel", "Orchard", "Meadow", "Elm", "Oak", "Beech",
    "Ash", "Willow", "Holly", "Rectory", "Vicarage", "Castle", "Bridge", "Market", "North", "South",
    "West", "East", "George", "Princes", "Green", "Highfield", "Stanley", "York", "Richmond", "Cromwell",
)  # fmt: skip
STREET_SUFFIXES = (
    ("Road", 30), ("Street", 20), ("Lane", 12), ("Avenue", 8), ("Close", 8), ("Drive", 6), ("Way", 4),
    ("Gardens", 3), ("Crescent", 3), ("Grove", 3), ("Place", 2), ("Terrace", 2), ("Court", 2), ("Mews", 1),
    ("Hill", 2), ("Row", 1), ("Walk", 1), ("Rise", 1), ("View", 1),
)  # fmt: skip
# What customers buy: (description, lowest price, highest price, weight).
CATALOGUE = (
    ("2025 Britannia silver 1 oz proof coin", 85, 110, 8), ("Sovereign 22ct gold bullion coin", 450, 650, 5),
    ("Half sovereign 22ct gold coin", 230, 330, 3), ("Royal Mint annual proof set", 150, 195, 4),
    ("King Charles III coronation £5 crown", 13, 20, 6), ("Victoria Cross replica medal, boxed", 40, 65, 3),
    ("Battle of Britain 85th anniversary medal", 35, 60, 3), ("Silver proof 50p Peter Rabbit", 55, 75, 5),
    ("Brilliant uncirculated 50p collection", 20, 45, 7), ("Lunar year of the snake 1 oz silver", 70, 95, 3),
    ("Military General Service medal, original", 600, 1400, 1), ("George V shilling 1920, fine", 8, 15, 4),
    ("Coin display case, 30 capsules", 25, 40, 4), ("Sovereign collection, five coins", 2200, 3400, 1),
    ("D-Day 80th anniversary silver medal", 45, 70, 3), ("Queen Elizabeth II memorial £5 silver proof", 85, 95, 4),
    ("Gold proof £2 coin, Wales", 900, 1200, 1), ("Medal ribbon bar mounting service", 15, 30, 2),
)  # fmt: skip
PAYMENT_METHODS = (("card", 65), ("invoice", 10), ("instalments", 20), ("finance", 5))
INSTALMENT_COUNTS = (3, 4, 6, 10, 12)
OUR_NUMBERS = ("+441914980000", "+441914980001", "+441914980002")
TRANSCRIPT_PROVIDERS = ("Example Transcribe Inc. (US)", "Northwind Speech Ltd (UK)")
CALL_PURPOSES = (("customer_service", 50), ("sales", 25), ("complaint", 8), ("credit", 7), ("finance", 10))
TRANSCRIPTS = {
    "customer_service": (
        "Agent: Good morning, how can I help?\nCaller: I would like to update my address.\n"
        "Agent: Of course, I can do that for you now."
    ),
    "sales": "Agent: Thank you for calling.\nCaller: I saw the new Britannia coin in the catalogue.\n"
    "Agent: It is in stock; shall I place the order?",
    "complaint": "Caller: My medal arrived with a scratched case.\nAgent: I am sorry; I will arrange a replacement.",
    "credit": "Caller: Could I spread the cost over a few months?\nAgent: Let me check what plans we can offer.",
    "finance": "Agent: This agreement is with our finance partner.\nCaller: Can you explain the monthly payments?",
}
PREFERENCE_EVIDENCE = {
    Source.ACCOUNT_PAGE: "Ticked on the account page",
    Source.PHONE_CALL: "Said so on the phone",
    Source.LETTER: "Letter received",
    Source.EMAIL: "Email received",
    Source.UNSUBSCRIBE_LINK: "Unsubscribe link in a marketing email",
    Source.SMS_STOP: "Replied STOP to a marketing text",
}
# How a customer usually opts out of each channel.
OPT_OUT_SOURCES = {
    Channel.EMAIL: (Source.UNSUBSCRIBE_LINK, Source.UNSUBSCRIBE_LINK, Source.EMAIL),
    Channel.SMS: (Source.SMS_STOP, Source.SMS_STOP, Source.PHONE_CALL),
    Channel.PHONE: (Source.PHONE_CALL,),
    Channel.POST: (Source.LETTER, Source.PHONE_CALL, Source.EMAIL),
    "": (Source.ACCOUNT_PAGE, Source.EMAIL, Source.PHONE_CALL),
}
# Chance that a customer with preferences has opted in to each (purpose, channel) at sign-up.
OPT_IN_RATES = {
    (Purpose.DIRECT_MARKETING, Channel.EMAIL): 0.65,
    (Purpose.DIRECT_MARKETING, Channel.SMS): 0.25,
    (Purpose.DIRECT_MARKETING, Channel.PHONE): 0.15,
    (Purpose.DIRECT_MARKETING, Channel.POST): 0.55,
    (Purpose.PERSONALISED_ADS, ""): 0.3,
    (Purpose.SENSITIVE_SHARING, ""): 0.03,
}
OPT_OUT_LATER_RATE = 0.25
OBJECTION_EVIDENCE = "Objection to direct marketing (Art 21)"
OPTED_OUT = str(SuppressionEntry.Reason.OPTED_OUT)
OBJECTED = str(SuppressionEntry.Reason.OBJECTED)


@dataclass
class SeedReport:
    customers: int = 0
    preference_changes: int = 0
    suppression_entries: int = 0
    calls: int = 0
    purchases: int = 0
    first_id: int | None = None
    last_id: int | None = None
    seconds: float = 0.0

    def add(self, other: SeedReport) -> None:
        for name in ("customers", "preference_changes", "suppression_entries", "calls", "purchases"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.first_id = self.first_id if self.first_id is not None else other.first_id
        self.last_id = other.last_id if other.last_id is not None else self.last_id


def _weighted(pairs: Sequence[tuple[object, float]]) -> tuple[list, list[float]]:
    """(values, cumulative weights) for random.choices."""
    return [v for v, _ in pairs], list(accumulate(w for _, w in pairs))


def _zipf(names: Sequence[str]) -> tuple[list, list[float]]:
    # Faker's en_GB first names are listed most popular first, without weights: a Zipf-like
    # fall-off gives "David" and "Susan" their real prominence over the tail.
    return _weighted([(name, 1.0 / (rank + 8)) for rank, name in enumerate(names)])


class Pools:
    """Everything drawn from, built once per run (calling Faker per row would take hours)."""

    def __init__(self, rng: random.Random):
        try:
            # Here, not at the top: Faker is a development dependency, and only this command needs it.
            from faker.providers.person.en_GB import Provider as PersonProvider
        except ImportError:
            raise RuntimeError(ERR_NO_FAKER) from None

        self.male_first = _zipf(PersonProvider.first_names_male)
        self.female_first = _zipf(PersonProvider.first_names_female)
        self.last = _weighted(list(PersonProvider.last_names.items()))
        self.titles_male = _weighted(TITLES_MALE)
        self.titles_female = _weighted(TITLES_FEMALE)
        self.domains = _weighted(EMAIL_DOMAINS)
        stems = list(STREET_STEMS) + rng.sample(list(PersonProvider.last_names), 200)
        suffixes, suffix_weights = _weighted(STREET_SUFFIXES)
        self.streets = [
            f"{stem} {suffix}"
            for stem in stems
            for suffix in rng.choices(suffixes, cum_weights=suffix_weights, k=4)  # a few streets per stem
        ]
        districts = []
        for area, town, county, top, weight in POSTCODE_AREAS:
            for number in range(1, top + 1):
                districts.append(((f"{area}{number}", town, county), weight / top))
        self.districts = _weighted(districts)
        self.catalogue = _weighted([((d, lo, hi), w) for d, lo, hi, w in CATALOGUE])
        self.payment_methods = _weighted(PAYMENT_METHODS)
        self.call_purposes = _weighted(CALL_PURPOSES)
        # UK mobile numbers that phonenumbers accepts as valid: drawn from the 07xxx blocks
        # in use and kept only when they match the GB mobile pattern of its metadata.
        metadata = PhoneMetadata.metadata_for_region("GB")
        assert metadata is not None and metadata.mobile is not None  # phonenumbers ships GB
        self.mobile_pattern = re.compile(str(metadata.mobile.national_number_pattern))
        self.mobile_blocks = [
            f"7{block:03d}" for block in range(400, 1000) if self.mobile_pattern.fullmatch(f"7{block:03d}123456")
        ]


def _mobile(rng: random.Random, pools: Pools) -> str:
    while True:
        national = f"{rng.choice(pools.mobile_blocks)}{rng.randrange(1_000_000):06d}"
        if pools.mobile_pattern.fullmatch(national):
            return f"+44{national}"


_NOT_IN_EMAIL = re.compile(r"[^a-z0-9]+")


def _email(rng: random.Random, pools: Pools, first: str, last: str) -> str:
    first_l = _NOT_IN_EMAIL.sub("", first.lower())
    last_l = _NOT_IN_EMAIL.sub("", last.lower())
    style = rng.random()
    if style < 0.4:
        local = f"{first_l}.{last_l}"
    elif style < 0.6:
        local = f"{first_l[0]}{last_l}"
    elif style < 0.8:
        local = f"{first_l}{last_l}{rng.randrange(1, 100)}"
    else:
        local = f"{first_l}.{last_l}{rng.randrange(1940, 2006)}"
    # A number keeps most addresses unique without an extra query; duplicates do occur in life.
    if rng.random() < 0.6:
        local += str(rng.randrange(1, 1000))
    domain = rng.choices(pools.domains[0], cum_weights=pools.domains[1])[0]
    return f"{local}@{domain}"


def _at(day: datetime.date, rng: random.Random, first_hour: int = 8, last_hour: int = 18) -> datetime.datetime:
    """A whole second during office hours on `day`, in the local time zone (no DST gap then)."""
    seconds = rng.randrange(first_hour * 3600, last_hour * 3600)
    moment = datetime.time(seconds // 3600, seconds // 60 % 60, seconds % 60, tzinfo=timezone.get_default_timezone())
    return datetime.datetime.combine(day, moment)


def _feed_run_after(moment: datetime.datetime) -> datetime.datetime:
    """When the nightly suppression feed next runs after `moment` (00:30 the next day)."""
    day = moment.astimezone(timezone.get_default_timezone()).date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, FEED_RUN_TIME, tzinfo=timezone.get_default_timezone())


def _notice_version(day: datetime.date) -> str:
    version = ""
    for since, name in NOTICE_VERSIONS:
        if day >= since:
            version = name
    return version


@dataclass
class _Batch:
    customers: list[tuple] = field(default_factory=list)
    preferences: list[list] = field(default_factory=list)  # id is filled in once reserved
    suppressions: list[tuple] = field(default_factory=list)
    calls: list[list] = field(default_factory=list)
    purchases: list[list] = field(default_factory=list)


class _Generator:
    def __init__(self, rng: random.Random, pools: Pools, now: datetime.datetime):
        self.rng = rng
        self.pools = pools
        self.now = now
        self.today = timezone.localdate(now)
        self.earliest_opening = datetime.date(2005, 1, 1)

    def batch(self, ids: list[int]) -> _Batch:
        rng, pools, today = self.rng, self.pools, self.today
        n = len(ids)
        out = _Batch()
        female = [rng.random() < 0.5 for _ in range(n)]
        n_female = sum(female)
        females = iter(rng.choices(pools.female_first[0], cum_weights=pools.female_first[1], k=n_female))
        males = iter(rng.choices(pools.male_first[0], cum_weights=pools.male_first[1], k=n - n_female))
        female_titles = iter(rng.choices(pools.titles_female[0], cum_weights=pools.titles_female[1], k=n_female))
        male_titles = iter(rng.choices(pools.titles_male[0], cum_weights=pools.titles_male[1], k=n - n_female))
        lasts = rng.choices(pools.last[0], cum_weights=pools.last[1], k=n)
        districts = rng.choices(pools.districts[0], cum_weights=pools.districts[1], k=n)
        opening_span = (today - self.earliest_opening).days
        # The oldest birthday still under 18 is refused by the service; the cut-off is the day before it.
        adult_cutoff = today - relativedelta(years=MINIMUM_CUSTOMER_AGE_YEARS)
        for i, pk in enumerate(ids):
            is_female = female[i]
            first = next(females) if is_female else next(males)
            title = next(female_titles) if is_female else next(male_titles)
            last = lasts[i]
            outward, town, county = districts[i]
            postcode = f"{outward} {rng.randrange(10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
            house = rng.randrange(1, 180)
            line1 = f"{house} {rng.choice(pools.streets)}"
            line2 = ""
            if rng.random() < 0.08:
                line1, line2 = f"Flat {rng.randrange(1, 40)}", line1
            email = _email(rng, pools, first, last) if rng.random() < SHARE_WITH_EMAIL else ""
            phone = _mobile(rng, pools) if rng.random() < SHARE_WITH_PHONE else ""
            dob = None
            if rng.random() < SHARE_WITH_DOB:
                # Collectors skew older: most between 45 and 80, never under 18.
                age_days = int(rng.triangular(18.2, 95, 64) * 365.25)
                dob = min(today - datetime.timedelta(days=age_days), adult_cutoff)
            opened_on = self.earliest_opening + datetime.timedelta(days=int(opening_span * rng.random() ** 0.7))
            created_at = _at(opened_on, rng)
            if created_at > self.now:
                created_at = self.now
            objected_at = restricted_at = None
            if rng.random() < SHARE_OBJECTED:
                objected_at = (created_at + (self.now - created_at) * rng.random()).replace(microsecond=0)
            if rng.random() < SHARE_RESTRICTED:
                restricted_at = (created_at + (self.now - created_at) * rng.random()).replace(microsecond=0)
            last_order_on = None
            if rng.random() < SHARE_WITH_PURCHASES:
                last_order_on = self._purchases(out, pk, opened_on)
            if objected_at is not None or rng.random() < SHARE_WITH_PREFERENCES:
                self._preferences(out, pk, created_at, objected_at, email, phone, line1, postcode)
            if rng.random() < SHARE_WITH_CALLS:
                self._calls(out, pk, phone or _mobile(rng, pools), created_at)
            out.customers.append(
                (pk, title, first, last, email, phone, line1, line2, town, county, postcode, dob, opened_on,
                 last_order_on, created_at, self.now, restricted_at is not None, restricted_at,
                 objected_at is not None, objected_at, None, 1, None)
            )  # fmt: skip
        return out

    def _purchases(self, out: _Batch, customer_id: int, opened_on: datetime.date) -> datetime.date:
        rng, pools = self.rng, self.pools
        start = max(opened_on, self.today - datetime.timedelta(days=8 * 365))
        span = max((self.today - start).days, 1)
        latest = start
        count = 1 + min(int(rng.expovariate(0.7)), 9)
        for _ in range(count):
            ordered_on = start + datetime.timedelta(days=rng.randrange(span))
            latest = max(latest, ordered_on)
            description, low, high = rng.choices(pools.catalogue[0], cum_weights=pools.catalogue[1])[0]
            amount = decimal.Decimal(rng.randrange(low * 100, high * 100 + 1)) / 100
            method = rng.choices(pools.payment_methods[0], cum_weights=pools.payment_methods[1])[0]
            instalments = instalment_amount = None
            if method == "instalments" or (method == "finance" and rng.random() < 0.7):
                instalments = rng.choice(INSTALMENT_COUNTS)
                instalment_amount = (amount / instalments).quantize(decimal.Decimal("0.01"), decimal.ROUND_UP)
            guarantee = ordered_on + datetime.timedelta(days=730) if rng.random() < 0.8 else None
            # id and order_ref are filled in once the ids are reserved.
            out.purchases.append(
                [None, customer_id, None, ordered_on, description, amount, method, instalments, instalment_amount,
                 guarantee, None]
            )  # fmt: skip
        return latest

    def _calls(self, out: _Batch, customer_id: int, number: str, created_at: datetime.datetime) -> None:
        rng, pools = self.rng, self.pools
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            started_at = _at(self.today - datetime.timedelta(days=rng.randrange(CALL_SPREAD_DAYS)), rng)
            started_at = min(max(started_at, created_at), self.now)
            purpose = rng.choices(pools.call_purposes[0], cum_weights=pools.call_purposes[1])[0]
            direction = "inbound" if rng.random() < 0.75 else "outbound"
            duration = int(min(rng.lognormvariate(5.3, 0.7), 3600))
            out.calls.append(
                [None, customer_id, direction, number, rng.choice(OUR_NUMBERS), started_at, duration, purpose,
                 f"rec://calls/{started_at:%Y/%m}/", TRANSCRIPTS[purpose], rng.choice(TRANSCRIPT_PROVIDERS)]
            )  # fmt: skip

    def _preferences(
        self,
        out: _Batch,
        customer_id: int,
        created_at: datetime.datetime,
        objected_at: datetime.datetime | None,
        email: str,
        phone: str,
        line1: str,
        postcode: str,
    ) -> None:
        rng = self.rng
        identifiers: dict[str, str] = {
            Channel.EMAIL: email,
            Channel.SMS: phone,
            Channel.PHONE: phone,
            Channel.POST: address_key(line1, postcode),
        }
        current: dict[tuple[str, str], bool] = {}
        horizon = objected_at or self.now

        def record(purpose: str, channel: str, granted: bool, source: str, at: datetime.datetime, evidence: str):
            # Plain strings in the rows, not enum members: what COPY writes is then beyond doubt.
            purpose, channel, source = str(purpose), str(channel), str(source)
            due = take_effect_by(purpose=purpose, channel=channel, granted=granted, received_at=at, source=source)
            # Withdrawn sensitive sharing takes effect at once; other opt-outs with the next feed run.
            actioned_at = actioned_on_recording(purpose=purpose, granted=granted, now=at)
            if not granted and actioned_at is None and _feed_run_after(at) <= self.now:
                actioned_at = _feed_run_after(at)
            out.preferences.append(
                [None, customer_id, purpose, channel, granted, source, evidence,
                 _notice_version(timezone.localdate(at)), None, at, due, actioned_at, at, None]
            )  # fmt: skip
            current[(purpose, channel)] = granted
            if not granted and purpose == Purpose.DIRECT_MARKETING and identifiers[channel]:
                reason = OBJECTED if evidence == OBJECTION_EVIDENCE else OPTED_OUT
                out.suppressions.append((channel, identifiers[channel], reason, at, actioned_at))

        for (purpose, channel), rate in OPT_IN_RATES.items():
            if channel and not identifiers[channel]:
                continue
            if rng.random() < rate:
                source = rng.choice((Source.ACCOUNT_PAGE, Source.ACCOUNT_PAGE, Source.PHONE_CALL))
                record(purpose, channel, True, source, created_at, PREFERENCE_EVIDENCE[source])
        for key, granted in list(current.items()):
            if granted and rng.random() < OPT_OUT_LATER_RATE:
                at = (created_at + (horizon - created_at) * rng.random()).replace(microsecond=0)
                source = rng.choice(OPT_OUT_SOURCES[key[1]])
                record(key[0], key[1], False, source, at, PREFERENCE_EVIDENCE[source])
        if objected_at is not None:
            # Art 21: every marketing purpose on every channel withdrawn at once, every
            # identifier suppressed (as customer_object_to_marketing does).
            source = rng.choice((Source.PHONE_CALL, Source.LETTER, Source.EMAIL))
            for withdrawn, channel in preference_keys():
                if withdrawn in MARKETING_PURPOSES and current.get((withdrawn, channel)) is not False:
                    record(withdrawn, channel, False, source, objected_at, OBJECTION_EVIDENCE)
            for channel, identifier in identifiers.items():
                if identifier:
                    actioned = _feed_run_after(objected_at)
                    out.suppressions.append((str(channel), identifier, OBJECTED, objected_at, actioned))


# --- Loading ---------------------------------------------------------------------------------


def _check_columns() -> None:
    """Fail loudly when a model gains a column this loader does not fill."""
    for model, columns in (
        (Customer, CUSTOMER_COLUMNS),
        (PreferenceChange, PREFERENCE_COLUMNS),
        (Call, CALL_COLUMNS),
        (Purchase, PURCHASE_COLUMNS),
        (SuppressionEntry, (*SUPPRESSION_COLUMNS, "id")),
    ):
        actual = {f.column for f in model._meta.concrete_fields if not f.generated}
        if actual != set(columns):
            missing = ", ".join(sorted(str(c) for c in actual.symmetric_difference(columns)))
            raise RuntimeError(ERR_MODEL_CHANGED.format(model=model.__name__, columns=missing))


def _history_columns(model) -> list[str]:
    """The historical table's copies of the model's columns (without the history_* ones)."""
    history_model = model.history.model
    return [f.column for f in history_model._meta.concrete_fields if not f.column.startswith("history_")]


def _reserve_ids(cursor, model, count: int) -> list[int]:
    """Take `count` ids from the table's identity sequence (safe alongside other writers)."""
    if not count:
        return []
    table = model._meta.db_table
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, table: str, columns: Sequence[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_history(cursor, model, ids: list[int]) -> None:
    """Insert the "+" history row of each of `ids`, from the rows as loaded."""
    if not ids:
        return
    columns = ", ".join(_history_columns(model))
    history_table = model.history.model._meta.db_table
    cursor.execute(
        f"INSERT INTO {history_table} ({columns}, history_date, history_change_reason, history_type, "  # noqa: S608
        f"history_user_id) SELECT {columns}, now(), %s, '+', NULL FROM {model._meta.db_table} "
        "WHERE id = ANY(%s)",
        [SEED_REASON, ids],
    )


def _load_suppressions(cursor, rows: list[tuple]) -> int:
    """Suppression entries are unique per (channel, hash) and may already exist: loaded
    through a temporary table, kept only where new, each with its history row."""
    if not rows:
        return 0
    table = SuppressionEntry._meta.db_table
    history_table = SuppressionEntry.history.model._meta.db_table
    columns = ", ".join(SUPPRESSION_COLUMNS)
    cursor.execute(f"CREATE TEMPORARY TABLE seed_suppression (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    cursor.execute("ALTER TABLE seed_suppression ALTER COLUMN id DROP NOT NULL")
    hashed = ((channel, identifier_hash(ident), reason, at, first) for channel, ident, reason, at, first in rows)
    _copy(cursor, "seed_suppression", SUPPRESSION_COLUMNS, hashed)
    history_columns = ", ".join(_history_columns(SuppressionEntry))
    cursor.execute(
        f"WITH added AS (INSERT INTO {table} ({columns}) "  # noqa: S608
        f"SELECT DISTINCT ON (channel, identifier_hash) {columns} FROM seed_suppression "
        "ORDER BY channel, identifier_hash, created_at "
        f"ON CONFLICT (channel, identifier_hash) DO NOTHING RETURNING *) "
        f"INSERT INTO {history_table} ({history_columns}, history_date, history_change_reason, history_type, "
        f"history_user_id) SELECT {history_columns}, now(), %s, '+', NULL FROM added",
        [SEED_REASON],
    )
    added = cursor.rowcount
    cursor.execute("DROP TABLE seed_suppression")
    return added


def _load_batch(cursor, generator: _Generator, size: int) -> SeedReport:
    ids = _reserve_ids(cursor, Customer, size)
    batch = generator.batch(ids)
    _copy(cursor, Customer._meta.db_table, CUSTOMER_COLUMNS, batch.customers)
    _copy_history(cursor, Customer, ids)

    for rows, model, columns in (
        (batch.preferences, PreferenceChange, PREFERENCE_COLUMNS),
        (batch.calls, Call, CALL_COLUMNS),
        (batch.purchases, Purchase, PURCHASE_COLUMNS),
    ):
        child_ids = _reserve_ids(cursor, model, len(rows))
        for row, pk in zip(rows, child_ids, strict=True):
            row[0] = pk
            if model is Purchase:
                row[2] = f"LMO-S{pk:08d}"
            elif model is Call:
                row[8] = f"{row[8]}{pk:08d}.wav"
        _copy(cursor, model._meta.db_table, columns, rows)
        _copy_history(cursor, model, child_ids)
    return SeedReport(
        customers=len(ids),
        preference_changes=len(batch.preferences),
        suppression_entries=_load_suppressions(cursor, batch.suppressions),
        calls=len(batch.calls),
        purchases=len(batch.purchases),
        first_id=ids[0] if ids else None,
        last_id=ids[-1] if ids else None,
    )


def seed_scale(
    *,
    customers: int,
    seed: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Add `customers` generated customers (with preferences, calls, purchases and history).

    Each run adds more: it never deletes or reuses what is there. Each batch is its own
    transaction, so an interrupted run leaves whole batches only. The same `seed` on the
    same empty database gives the same people.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError(ERR_NOT_POSTGRESQL)
    _check_columns()
    started = time.monotonic()
    rng = random.Random(seed)
    generator = _Generator(rng, Pools(rng), timezone.now())
    report = SeedReport()
    remaining = customers
    while remaining > 0:
        size = min(batch_size, remaining)
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.connection.cursor()
            batch = _load_batch(cursor, generator, size)
        report.add(batch)
        remaining -= size
        if progress:
            elapsed = time.monotonic() - started
            progress(
                f"{report.customers:,}/{customers:,} customers (ids up to {batch.last_id}), "
                f"{report.preference_changes:,} preference changes, {report.calls:,} calls, "
                f"{report.purchases:,} purchases; {elapsed:.0f}s, {report.customers / max(elapsed, 1e-9):,.0f}/s"
            )
    with connection.cursor() as cursor:
        for model in (Customer, PreferenceChange, SuppressionEntry, Call, Purchase):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
            cursor.execute(f"ANALYZE {model.history.model._meta.db_table}")
    report.seconds = time.monotonic() - started
    return report
