"""The customers' part of `seed_demo`: twenty named customers with a story each.

Everything goes through the services, with the demo agent as the member of staff who
recorded it (the telephony integration registers calls, as in life). Idempotent: a
customer whose email is already in the portal is left as it is, with everything about
them, so running seed_demo twice duplicates nothing. Dates are relative to today, so the
calls and letters are always inside their six months and the opt-outs show deadlines to come.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from django.utils import timezone

from customers.models import Channel, Customer, PreferenceChange, Purpose
from customers.services.calls import call_register, correspondence_record
from customers.services.customers import customer_create
from customers.services.imports import ImportRejected
from customers.services.normalise import normalise_phone
from customers.services.preferences import customer_object_to_marketing, preference_record
from customers.services.purchases import PURCHASE_HEADER, purchase_import
from privacy_portal import csv_safe
from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

Source = PreferenceChange.Source

DEMO_ACTOR = "agent"
DEMO_REASON = "Demo data"
OUR_NUMBER = "0191 498 0000"
TRANSCRIPT_PROVIDER = "Example Transcribe Inc. (US)"
NOTICE_VERSION = "2026-06"  # as archived (privacy_portal.PrivacyNoticeVersion)

DM = Purpose.DIRECT_MARKETING
ADS = Purpose.PERSONALISED_ADS
OPT_IN_KEYS = {
    "email": (DM, Channel.EMAIL),
    "sms": (DM, Channel.SMS),
    "phone": (DM, Channel.PHONE),
    "post": (DM, Channel.POST),
    "ads": (ADS, ""),
}


@dataclass(frozen=True)
class DemoCustomer:
    title: str
    first_name: str
    last_name: str
    email: str
    phone: str
    address_line1: str
    town: str
    county: str
    postcode: str
    date_of_birth: datetime.date | None
    opened_days_ago: int
    opt_ins: tuple[str, ...] = ()
    # (key of OPT_IN_KEYS, source, days ago)
    opt_outs: tuple[tuple[str, str, int], ...] = ()
    # (source, days ago)
    objection: tuple[str, int] | None = None
    # (purpose, direction, days ago, minutes, transcript)
    calls: tuple[tuple[str, str, int, int, str], ...] = ()
    # (direction, medium, days ago, summary)
    letters: tuple[tuple[str, str, int, str], ...] = ()
    # (days ago, description, amount, payment method, instalments)
    purchases: tuple[tuple[int, str, str, str, int | None], ...] = ()


D = datetime.date
DEMO_CUSTOMERS = (
    DemoCustomer(
        "Mrs", "Ann", "Leeming", "ann.leeming@example.co.uk", "07911 123456", "1 Carew Street", "London",
        "Greater London", "SE5 9DF", D(1956, 3, 14), 2900, opt_ins=("email", "post", "phone"),
        opt_outs=(("post", Source.PHONE_CALL, 3),),
        calls=(("customer_service", "inbound", 3, 6,
                "Agent: Good morning, Leeming Mint, Amira speaking.\nCaller: Please stop sending me the "
                "printed catalogue, I read everything online now.\nAgent: Of course. Post stops within six "
                "weeks; emails carry on as before.\nCaller: Lovely, thank you."),),
        purchases=((400, "2024 Britannia silver 1 oz proof coin", "89.95", "card", None),
                   (35, "King Charles III coronation £5 crown", "14.50", "card", None)),
    ),
    DemoCustomer(
        "Mr", "Rajesh", "Patel", "rajesh.patel@example.com", "07723 415906", "48 Evington Road", "Leicester",
        "Leicestershire", "LE2 1HL", D(1971, 9, 2), 1800, opt_ins=("email", "sms", "ads"),
        purchases=((200, "Sovereign collection, five coins", "2850.00", "instalments", 12),
                   (20, "Coin display case, 30 capsules", "29.99", "card", None)),
        calls=(("credit", "inbound", 201, 9,
                "Caller: Could I spread the sovereign set over a year?\nAgent: Yes, twelve monthly "
                "instalments with no interest. I will send the agreement by email."),),
    ),
    DemoCustomer(
        "Ms", "Siobhan", "O'Neill", "siobhan.oneill@example.net", "07802 316554", "12 Malone Avenue", "Belfast",
        "", "BT9 6EP", D(1984, 11, 23), 1200, opt_ins=("email", "post"),
        opt_outs=(("email", Source.UNSUBSCRIBE_LINK, 20),),
        purchases=((90, "Silver proof 50p Peter Rabbit", "62.50", "card", None),),
    ),
    DemoCustomer(
        "Mr", "Gareth", "Evans", "gareth.evans@example.co.uk", "07384 220917", "7 Cathedral Road", "Cardiff", "",
        "CF11 9HA", D(1962, 5, 30), 3100, opt_ins=("sms", "email", "phone"),
        opt_outs=(("sms", Source.SMS_STOP, 2),),
        purchases=((1100, "Gold proof £2 coin, Wales", "1095.00", "finance", 10),),
    ),
    DemoCustomer(
        "Mrs", "Margaret", "Thompson", "", "07456 118203", "3 Bootham Terrace", "York", "North Yorkshire",
        "YO30 7DH", D(1946, 1, 8), 5200, opt_ins=("post", "phone"),
        letters=(("inbound", "letter", 12, "Asked for the Christmas catalogue and a price list for medal mounting."),
                 ("outbound", "letter", 8, "Sent the Christmas catalogue and the medal mounting price list.")),
        purchases=((60, "Medal ribbon bar mounting service", "22.00", "invoice", None),
                   (700, "Victoria Cross replica medal, boxed", "49.00", "invoice", None)),
    ),
    DemoCustomer(
        "Mr", "David", "Okafor", "david.okafor@example.org", "07528 604771", "22 Wilmslow Road", "Manchester",
        "Greater Manchester", "M14 5TQ", D(1979, 7, 19), 900, opt_ins=("email", "sms", "phone", "post", "ads"),
        objection=(Source.EMAIL, 5),
        letters=(("inbound", "email", 5, "Objects to all marketing, on every channel, and wants it confirmed."),
                 ("outbound", "email", 4, "Confirmed the objection: all marketing stops within 7 days, post "
                  "within 6 weeks.")),
        purchases=((300, "D-Day 80th anniversary silver medal", "55.00", "card", None),),
    ),
    DemoCustomer(
        "Miss", "Eilidh", "MacDonald", "eilidh.macdonald@example.co.uk", "07941 552018", "15 Morningside Drive",
        "Edinburgh", "", "EH10 5NQ", D(1990, 4, 12), 400, opt_ins=("email",),
        purchases=((45, "Lunar year of the snake 1 oz silver", "82.00", "card", None),),
    ),
    DemoCustomer(
        "Mr", "Tomasz", "Nowak", "tomasz.nowak@example.com", "07834 907126", "90 Bristol Road", "Birmingham",
        "West Midlands", "B29 6BD", D(1975, 12, 1), 1500, opt_ins=("email", "sms"),
        calls=(("sales", "outbound", 14, 4,
                "Agent: Calling about the half sovereign you asked us to reserve.\nCaller: Yes please, I will "
                "pay by card now."),),
        purchases=((14, "Half sovereign 22ct gold coin", "289.00", "card", None),),
    ),
    DemoCustomer(
        "Mrs", "Fatima", "Hussain", "fatima.hussain@example.co.uk", "07517 340662", "31 Great Horton Road",
        "Bradford", "West Yorkshire", "BD7 1AY", D(1968, 8, 27), 2200, opt_ins=("post",),
        purchases=((500, "Royal Mint annual proof set", "165.00", "instalments", 3),),
    ),
    DemoCustomer(
        "Mr", "Peter", "Clarke", "peter.clarke@example.net", "07975 218443", "6 Unthank Road", "Norwich", "Norfolk",
        "NR2 2PA", D(1950, 2, 17), 4300, opt_ins=("email", "post"),
        opt_outs=(("email", Source.EMAIL, 60),),
        letters=(("inbound", "email", 60, "Asked to stop marketing emails; still happy to receive the catalogue."),),
        purchases=((1500, "Military General Service medal, original", "980.00", "card", None),
                   (120, "George V shilling 1920, fine", "11.50", "card", None)),
    ),
    DemoCustomer(
        "Dr", "Helen", "Davies", "helen.davies@example.org", "07412 685390", "19 Walter Road", "Swansea", "",
        "SA1 5NF", D(1972, 10, 3), 650, opt_ins=("email", "ads"),
        purchases=((80, "Queen Elizabeth II memorial £5 silver proof", "89.00", "card", None),),
    ),
    DemoCustomer(
        "Mr", "Mohammed", "Rahman", "mohammed.rahman@example.com", "07588 130274", "54 Whitechapel Road", "London",
        "Greater London", "E1 1JX", D(1988, 6, 21), 300, opt_ins=("sms",),
        calls=(("complaint", "inbound", 25, 12,
                "Caller: The proof set arrived with a cracked case.\nAgent: I am sorry. I will send a "
                "replacement case today and a prepaid label for the old one."),),
        letters=(("outbound", "email", 24, "Apologised for the damaged case; replacement sent by tracked post."),),
        purchases=((30, "Royal Mint annual proof set", "172.00", "card", None),),
    ),
    DemoCustomer(
        "Ms", "Catherine", "Wright", "catherine.wright@example.co.uk", "07869 441905", "8 Epsom Road", "Guildford",
        "Surrey", "GU1 3JT", D(1959, 9, 9), 3600, opt_ins=("email", "post", "phone"),
        opt_outs=(("phone", Source.PHONE_CALL, 1),),
        calls=(("sales", "outbound", 1, 2,
                "Agent: Calling about our new medal range.\nCaller: Please do not phone me with offers again; "
                "email is fine."),),
    ),
    DemoCustomer(
        "Mr", "James", "Wilson", "james.wilson@example.com", "07703 926518", "102 Shields Road", "Newcastle upon Tyne",
        "Tyne and Wear", "NE6 1DL", D(1966, 3, 28), 2600, opt_ins=("email",),
        calls=(("finance", "inbound", 40, 15,
                "Caller: I would like to settle the finance agreement early.\nAgent: I will ask our finance "
                "partner to send you a settlement figure."),),
        purchases=((240, "Sovereign 22ct gold bullion coin", "520.00", "finance", 6),),
    ),
    DemoCustomer(
        "Mrs", "Priya", "Sharma", "priya.sharma@example.co.uk", "07425 771360", "27 Kendrick Road", "Reading",
        "Berkshire", "RG1 5DU", D(1982, 1, 15), 150, opt_ins=("email", "sms", "ads"),
        purchases=((150, "Brilliant uncirculated 50p collection", "34.00", "card", None),),
    ),
    DemoCustomer(
        "Mr", "Robert", "Hughes", "robert.hughes@example.net", "07956 083127", "40 Cotham Hill", "Bristol", "",
        "BS6 6JX", D(1953, 7, 4), 4700, opt_ins=("post",),
        opt_outs=(("post", Source.LETTER, 30),),
        letters=(("inbound", "letter", 33, "Letter asking us to stop sending catalogues by post."),),
        purchases=((2000, "Battle of Britain 85th anniversary medal", "45.00", "card", None),),
    ),
    DemoCustomer(
        "Ms", "Olivia", "Bennett", "olivia.bennett@example.org", "07547 296815", "5 Preston Road", "Brighton",
        "East Sussex", "BN1 4QF", D(1995, 12, 30), 60, opt_ins=("email", "ads"),
        opt_outs=(("ads", Source.ACCOUNT_PAGE, 10),),
    ),
    DemoCustomer(
        "Mr", "George", "Mitchell", "george.mitchell@example.co.uk", "07821 650493", "11 Pennsylvania Road",
        "Exeter", "Devon", "EX4 6BQ", None, 1000, opt_ins=("email", "post"),
        purchases=((600, "2025 Britannia silver 1 oz proof coin", "92.50", "card", None),
                   (18, "Coin display case, 30 capsules", "32.00", "card", None)),
    ),
    DemoCustomer(
        "Miss", "Aisha", "Begum", "aisha.begum@example.com", "07398 514206", "73 Dunstable Road", "Luton",
        "Bedfordshire", "LU1 1EP", D(1999, 5, 5), 200, opt_ins=("sms", "email"),
        opt_outs=(("sms", Source.SMS_STOP, 15),),
    ),
    DemoCustomer(
        "Mr", "William", "Armstrong", "william.armstrong@example.net", "07462 837159", "2 Warwick Road",
        "Carlisle", "Cumbria", "CA1 1DN", D(1948, 10, 11), 5800, opt_ins=("post", "phone"),
        purchases=((1800, "Sovereign 22ct gold bullion coin", "410.00", "invoice", None),
                   (90, "Half sovereign 22ct gold coin", "295.00", "instalments", 4)),
    ),
)  # fmt: skip


def _at(now: datetime.datetime, days_ago: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """`days_ago` days before now, at hour:minute local time (never in the future)."""
    day = timezone.localdate(now) - datetime.timedelta(days=days_ago)
    moment = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())
    return min(moment, now)


def _create(actor, person: DemoCustomer, now: datetime.datetime) -> tuple[Customer, list[list[str]]]:
    customer = customer_create(
        actor=actor,
        reason=DEMO_REASON,
        title=person.title,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        phone=person.phone,
        address_line1=person.address_line1,
        town=person.town,
        county=person.county,
        postcode=person.postcode,
        date_of_birth=person.date_of_birth,
    )
    # The account dates come from the order system, not the desk: set once, with history.
    today = timezone.localdate(now)
    customer.account_opened_on = today - datetime.timedelta(days=person.opened_days_ago)
    if person.purchases:
        customer.last_order_on = today - datetime.timedelta(days=min(p[0] for p in person.purchases))
    save_tracked(customer, actor=actor, reason=f"{DEMO_REASON}: account dates")

    opened_at = _at(now, person.opened_days_ago)
    for key in person.opt_ins:
        purpose, channel = OPT_IN_KEYS[key]
        preference_record(
            actor=actor, customer=customer, purpose=purpose, channel=channel, granted=True,
            source=Source.ACCOUNT_PAGE, received_at=opened_at, evidence="Ticked when the account was opened",
            notice_version=NOTICE_VERSION,
        )  # fmt: skip
    for key, source, days_ago in person.opt_outs:
        purpose, channel = OPT_IN_KEYS[key]
        preference_record(
            actor=actor, customer=customer, purpose=purpose, channel=channel, granted=False, source=source,
            received_at=_at(now, days_ago, 14, 5), evidence=f"{Source(source).label} from the customer",
            notice_version=NOTICE_VERSION,
        )  # fmt: skip
    if person.objection:
        source, days_ago = person.objection
        customer_object_to_marketing(actor=actor, customer=customer, source=source, received_at=_at(now, days_ago, 9))
    for call_purpose, direction, days_ago, minutes, transcript in person.calls:
        started_at = _at(now, days_ago, 14)  # an opt-out said on a call is recorded just after it
        call_register(
            customer=customer, direction=direction, customer_number=person.phone, our_number=OUR_NUMBER,
            started_at=started_at, duration_seconds=minutes * 60, purpose=call_purpose,
            recording_ref=f"rec://calls/{started_at:%Y/%m}/demo-{customer.pk:06d}-{days_ago}.wav",
            transcript=transcript, transcript_provider=TRANSCRIPT_PROVIDER,
        )  # fmt: skip
    for direction, medium, days_ago, summary in person.letters:
        correspondence_record(
            actor=actor, customer=customer, direction=direction, medium=medium,
            occurred_at=_at(now, days_ago, 15), summary=summary,
        )  # fmt: skip
    rows = [
        [f"LMO-D{customer.pk:06d}-{n}", customer.reference, (today - datetime.timedelta(days=days_ago)).isoformat(),
         description, amount, method, str(instalments or ""), _instalment(amount, instalments),
         (today - datetime.timedelta(days=days_ago - 730)).isoformat()]
        for n, (days_ago, description, amount, method, instalments) in enumerate(person.purchases, start=1)
    ]  # fmt: skip
    return customer, rows


def _instalment(amount: str, instalments: int | None) -> str:
    if not instalments:
        return ""
    cents = round(float(amount) * 100)
    return f"{-(-cents // instalments) / 100:.2f}"  # rounded up to the penny


def seed_demo_customers(stdout) -> None:
    """seed_demo step: create the demo customers not yet in the portal (keyed on email)."""
    actor = User.objects.get(username=DEMO_ACTOR)
    now = timezone.now()
    created = 0
    purchase_rows: list[list[str]] = []
    for person in DEMO_CUSTOMERS:
        # Margaret Thompson has no email: she is keyed on her phone instead.
        key = {"email": person.email} if person.email else {"email": "", "phone": normalise_phone(person.phone)}
        if Customer.objects.filter(**key).exists():
            continue
        _customer, rows = _create(actor, person, now)
        purchase_rows.extend(rows)
        created += 1
    if purchase_rows:
        buffer = io.StringIO()
        writer = csv_safe.writer(buffer)
        writer.writerow(PURCHASE_HEADER)
        writer.writerows(purchase_rows)
        try:
            purchase_import(actor=actor, file=io.BytesIO(buffer.getvalue().encode()), name="demo-purchases.csv")
        except ImportRejected as exc:  # a mistake in DEMO_CUSTOMERS, not in anyone's input
            raise RuntimeError(f"Demo purchases rejected: {exc.errors}") from None
    stdout.write(f"Demo customers: {created} created, {len(DEMO_CUSTOMERS) - created} already present.")
