"""Seed the register of processing activities from the privacy notice, and archive the
notice itself as version 2026-06. The DPO edits both afterwards (with history)."""

import datetime
from pathlib import Path

from django.db import migrations
from django.utils import timezone

from privacy_portal import legal

REASON = "Seeded from the privacy notice"
NOTICE_LABEL = "2026-06"
NOTICE_EFFECTIVE_ON = datetime.date(2026, 6, 1)
NOTICE_FILE = Path(__file__).resolve().parent.parent / "notices" / "privacy-notice-2026-06.txt"

SECURITY = (
    "Encryption in transit (TLS) for every service; data held on secured servers in access-controlled premises. "
    "Access only for staff, contractors and agents who need to know, each with a personal account, a second "
    "factor and a role; every read of a customer's record is logged. Confidentiality obligations in staff "
    "contracts, with disciplinary consequences. Regular reviews of collection, storage and processing practices, "
    "physical security included."
)
CUSTOMERS = "Customers and prospective customers (adults only: the business does not knowingly hold children's data)."
FROM_CUSTOMER = "The customer: order forms, telephone calls, letters, emails, the website and the account page."
UNTIL_OPT_OUT = (
    "Until the customer opts out, objects or is erased; the opt-out itself is kept for good on the suppression "
    "list as a one-way hash, so the person is never contacted again."
)


def _marketing(channel, position, recipients, how):
    return {
        "name": f"Direct marketing by {channel}",
        "position": position,
        "purpose": f"Telling customers about new coins, medals and collectibles by {how}, based on what they bought "
        "before; keeping a record of offers sent so the same offer is not sent twice.",
        "lawful_basis": "consent",
        "lawful_basis_detail": "Only with the customer's permission for this channel (privacy notice: 'You will only "
        "receive these marketing messages if you gave us permission'); PECR regs 21-22 for calls, emails and texts. "
        "Withdrawal at any time; an objection (Art 21(2)) stops every channel.",
        "data_subjects": CUSTOMERS,
        "data_categories": "Identity, contact details for the channel, purchase history, marketing preferences and "
        "their evidence.",
        "source": FROM_CUSTOMER,
        "recipients": recipients,
        "recipients_detail": "",
        "retention_period": "While consent lasts",
        "retention_trigger": UNTIL_OPT_OUT,
        "transfers": "",
        "transfer_safeguards": "",
    }


ACTIVITIES = [
    {
        "name": "Orders and payment",
        "position": 10,
        "purpose": "Taking, producing, personalising and delivering orders; collecting payment; keeping customers "
        "up to date with their order; keeping the record of purchases so guarantee periods are met.",
        "lawful_basis": "contract",
        "lawful_basis_detail": "Art 6(1)(b): needed to perform the sale. Keeping purchase and payment records for tax "
        "and accounting is a legal obligation (Art 6(1)(c): Companies Act 2006 s388; VAT Act 1994 Sch 11).",
        "data_subjects": CUSTOMERS + " People receiving a delivery.",
        "data_categories": "Identity, contact details, delivery and payment address, orders, payments and "
        "instalment plans.",
        "source": FROM_CUSTOMER,
        "recipients": ["parcelway", "northgate-payments", "group-it"],
        "recipients_detail": "",
        "retention_period": f"{legal.PURCHASE_RETENTION_YEARS} years",
        "retention_trigger": "From the purchase (or the end of its guarantee, if later); then the purchase is kept "
        "only detached from the person.",
        "transfers": "",
        "transfer_safeguards": "",
    },
    {
        "name": "Instalments and third-party finance",
        "position": 20,
        "purpose": "Offering instalment plans and, for eligible customers, third-party finance: the lender assesses "
        "credit and manages the finance agreement; overdue accounts may be passed to debt collection.",
        "lawful_basis": "contract",
        "lawful_basis_detail": "Art 6(1)(b) for the plan or finance application the customer chose; recovering a debt "
        "is a legitimate interest and a legal claim (Art 6(1)(f), Art 18(2)).",
        "data_subjects": CUSTOMERS,
        "data_categories": "Identity, contact details, orders, payments, credit and finance.",
        "source": FROM_CUSTOMER + " Credit reference agencies and the lender (the credit decision).",
        "recipients": ["halcyon-finance", "clearview-cra", "kestrel-recovery"],
        "recipients_detail": "The lender acts as an independent controller under its own privacy policy.",
        "retention_period": f"{legal.LIMITATION_PERIOD_YEARS} years",
        "retention_trigger": "From the end of the instalment plan or finance agreement (Limitation Act 1980 s5).",
        "transfers": "",
        "transfer_safeguards": "",
    },
    _marketing("email", 30, ["group-it"], "email"),
    _marketing("SMS", 31, ["group-it"], "text message"),
    _marketing("phone", 32, ["group-it"], "telephone"),
    _marketing("post", 33, ["mailhouse-direct"], "letters and catalogues"),
    {
        "name": "Online advertising",
        "position": 40,
        "purpose": "Showing customers and visitors banners for products they viewed on our website, on other "
        "websites, apps and social media, through digital marketing networks and ad exchanges.",
        "lawful_basis": "consent",
        "lawful_basis_detail": "Consent to targeting cookies and similar technologies (PECR reg 6), withdrawn in the "
        "cookie settings or with the customer's preference for personalised online advertising.",
        "data_subjects": "Website and app visitors, customers among them.",
        "data_categories": "Device and online identifiers (cookies, pixels, ad tags, mobile identifiers), products "
        "viewed.",
        "source": "The visitor's browser or device (cookies and pixels on our website).",
        "recipients": ["mailhouse-direct"],
        "recipients_detail": "Advertising networks and social media platforms named in the cookie list (for example "
        "doubleclick.net, facebook.com, adform.net, adnxs.com), each as an independent controller.",
        "retention_period": "As set for each cookie in the cookie list",
        "retention_trigger": "From the visit; audiences are cleared within "
        f"{legal.OPT_OUT_DAYS_PERSONALISED_ADS} days of an opt-out.",
        "transfers": "United States (advertising platforms).",
        "transfer_safeguards": "Each platform's UK transfer terms: the UK Extension to the EU-US Data Privacy "
        "Framework where certified, otherwise EU standard contractual clauses with the UK Addendum.",
    },
    {
        "name": "Call recording and transcription",
        "position": 50,
        "purpose": "Recording inbound and outbound calls (sales, credit and finance, customer service, complaints) "
        "and transcribing them with AI to improve service, train staff, resolve queries and complaints, and help "
        "detect fraud. No automated decisions with legal or similar effects.",
        "lawful_basis": "legitimate_interests",
        "lawful_basis_detail": "Protecting the interests of customers, staff and partners (privacy notice); calls are "
        "announced where practical.",
        "data_subjects": CUSTOMERS + " Callers who are not customers; our staff.",
        "data_categories": "Call recording and transcript, both telephone numbers, time, duration and purpose of the "
        "call, whatever is said in it.",
        "source": "The call itself.",
        "recipients": ["verbatim-ai"],
        "recipients_detail": "",
        "retention_period": f"{legal.CALL_RETENTION_MONTHS} months",
        "retention_trigger": "From the day of the call; then the recording and transcript are deleted by the "
        "nightly purge.",
        "transfers": "United States (AI transcription provider).",
        "transfer_safeguards": "EU standard contractual clauses with the UK Addendum, supported by a transfer risk "
        "assessment (see the recipient register).",
    },
    {
        "name": "Customer service correspondence",
        "position": 60,
        "purpose": "Keeping a brief record of letters, emails and calls with customers so any question can be "
        "answered; service messages about shipping and payment reminders.",
        "lawful_basis": "legitimate_interests",
        "lawful_basis_detail": "Helping customers with their questions and orders (privacy notice).",
        "data_subjects": CUSTOMERS,
        "data_categories": "Identity, contact details, correspondence.",
        "source": FROM_CUSTOMER,
        "recipients": ["group-it"],
        "recipients_detail": "",
        "retention_period": f"{legal.CORRESPONDENCE_RETENTION_MONTHS} months",
        "retention_trigger": "From the day of the letter, email or call.",
        "transfers": "",
        "transfer_safeguards": "",
    },
    {
        "name": "Fraud prevention",
        "position": 70,
        "purpose": "Detecting, preventing and investigating fraud, security and technical issues; checking identity "
        "and payment details; passing information to the authorities where the law requires it.",
        "lawful_basis": "legitimate_interests",
        "lawful_basis_detail": "Preventing fraud (UK GDPR Recital 47); disclosures to the authorities under a legal "
        "obligation (Art 6(1)(c)).",
        "data_subjects": CUSTOMERS,
        "data_categories": "Identity, contact details, orders, payments, device and online identifiers, IP address.",
        "source": FROM_CUSTOMER + " Payment service providers and credit reference agencies.",
        "recipients": ["northgate-payments", "clearview-cra", "hmrc"],
        "recipients_detail": "The police and other authorities where the law requires it.",
        "retention_period": f"{legal.LIMITATION_PERIOD_YEARS} years",
        "retention_trigger": "From the end of the investigation.",
        "transfers": "",
        "transfer_safeguards": "",
    },
    {
        "name": "Analytics",
        "position": 80,
        "purpose": "Counting visits and traffic sources to measure and improve the website (performance cookies); "
        "showing trends in the use of our services as non-identifiable information.",
        "lawful_basis": "consent",
        "lawful_basis_detail": "Consent to performance cookies (PECR reg 6), given and withdrawn in the cookie "
        "settings.",
        "data_subjects": "Website and app visitors.",
        "data_categories": "Device and online identifiers, pages visited, aggregated statistics.",
        "source": "The visitor's browser (performance cookies).",
        "recipients": ["group-it"],
        "recipients_detail": "Industry-standard analytics products (Google Analytics, Hotjar) as processors.",
        "retention_period": "As set for each cookie in the cookie list",
        "retention_trigger": "From the visit.",
        "transfers": "United States (analytics providers).",
        "transfer_safeguards": "UK Extension to the EU-US Data Privacy Framework (certified providers).",
    },
    {
        "name": "Rights requests",
        "position": 90,
        "purpose": "Answering requests to be informed, of access, rectification, erasure, restriction, portability "
        "and objection: checking identity, keeping the case file, telling recipients (Art 19).",
        "lawful_basis": "legal_obligation",
        "lawful_basis_detail": "UK GDPR Arts 12-22 and the Data Protection Act 2018.",
        "data_subjects": CUSTOMERS + " People acting for them.",
        "data_categories": "Identity, contact details, the request and our answer, identity evidence (deleted once "
        "identity is confirmed).",
        "source": "The requester, and our own records.",
        "recipients": ["carew-legal"],
        "recipients_detail": "Recipients told of a rectification, erasure or restriction (Art 19).",
        "retention_period": f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "retention_trigger": "From the closure of the case (the limitation period, Limitation Act 1980 s2).",
        "transfers": "",
        "transfer_safeguards": "",
    },
    {
        "name": "Complaints",
        "position": 91,
        "purpose": "Acknowledging, investigating and answering complaints about how personal data or a request was "
        "handled, internal review, and work with the ICO.",
        "lawful_basis": "legal_obligation",
        "lawful_basis_detail": "Data Protection Act 2018 s164A (Data (Use and Access) Act 2025).",
        "data_subjects": CUSTOMERS + " People acting for them.",
        "data_categories": "Identity, contact details, the complaint, the investigation and correspondence.",
        "source": "The complainant, the ICO, and our own records.",
        "recipients": ["carew-legal"],
        "recipients_detail": "The Information Commissioner's Office when a complaint is escalated.",
        "retention_period": f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "retention_trigger": "From the closure of the complaint (the limitation period, Limitation Act 1980 s2).",
        "transfers": "",
        "transfer_safeguards": "",
    },
    {
        "name": "Audit",
        "position": 95,
        "purpose": "Independent audits that validate the legitimacy and suitability of our standards, practices and "
        "processes.",
        "lawful_basis": "legitimate_interests",
        "lawful_basis_detail": "Showing that we comply (Art 5(2) accountability); statutory audit of accounts "
        "(Companies Act 2006 Part 16).",
        "data_subjects": CUSTOMERS,
        "data_categories": "Whatever the audit samples: identity, contact details, orders, payments, preferences, "
        "case files.",
        "source": "Our own records.",
        "recipients": ["harbour-assurance"],
        "recipients_detail": "",
        "retention_period": "For the audit only",
        "retention_trigger": "Auditors' access ends on the last day of the engagement.",
        "transfers": "",
        "transfer_safeguards": "",
    },
]


def _history(model, instance, fields, now):
    values = {f: getattr(instance, f) for f in fields}
    return model.objects.create(
        id=instance.pk, **values, history_date=now, history_type="+", history_change_reason=REASON
    )


def seed(apps, schema_editor):
    Activity = apps.get_model("privacy_portal", "ProcessingActivity")
    HistoricalActivity = apps.get_model("privacy_portal", "HistoricalProcessingActivity")
    HistoricalActivityRecipients = apps.get_model("privacy_portal", "HistoricalProcessingActivity_recipients")
    Recipient = apps.get_model("customers", "Recipient")
    Notice = apps.get_model("privacy_portal", "PrivacyNoticeVersion")
    HistoricalNotice = apps.get_model("privacy_portal", "HistoricalPrivacyNoticeVersion")
    now = timezone.now()

    recipients = {r.code: r for r in Recipient.objects.all()}
    for values in ACTIVITIES:
        values = dict(values)
        codes = values.pop("recipients")
        values["security_measures"] = SECURITY
        activity, created = Activity.objects.get_or_create(name=values["name"], defaults=values)
        if not created:
            continue
        linked = [recipients[c] for c in codes if c in recipients]
        activity.recipients.set(linked)
        history = _history(HistoricalActivity, activity, list(values), now)
        for link in Activity.recipients.through.objects.filter(processingactivity=activity):
            HistoricalActivityRecipients.objects.create(
                id=link.pk, history=history, processingactivity=activity, recipient_id=link.recipient_id
            )

    if not Notice.objects.filter(label=NOTICE_LABEL).exists():
        notice = Notice.objects.create(
            label=NOTICE_LABEL,
            effective_on=NOTICE_EFFECTIVE_ON,
            text=NOTICE_FILE.read_text(encoding="utf-8"),
            summary_of_changes="The notice as published when the portal started (first archived version).",
        )
        _history(HistoricalNotice, notice, ["label", "effective_on", "text", "summary_of_changes", "created_at"], now)


def unseed(apps, schema_editor):
    apps.get_model("privacy_portal", "ProcessingActivity").objects.filter(
        name__in=[a["name"] for a in ACTIVITIES]
    ).delete()
    apps.get_model("privacy_portal", "PrivacyNoticeVersion").objects.filter(label=NOTICE_LABEL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy_portal", "0004_register_and_notice_archive"),
        ("customers", "0005_seed_recipients"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
