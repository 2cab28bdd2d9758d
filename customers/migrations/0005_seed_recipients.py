"""Seed the recipient register: one recipient per category the privacy notice names.

Names, references and contacts are illustrative (the demo company's register); the DPO
keeps them current. Each seeded recipient gets a "created" history row, like any other.
"""

import datetime

from django.db import migrations
from django.utils import timezone

REASON = "Seeded from the privacy notice"

# (code, name, category, role, country, adequate, mechanism, tra date, tra ref, agreement, renews, contact)
RECIPIENTS = [
    (
        "halcyon-finance",
        "Halcyon Consumer Finance Ltd",
        "finance_provider",
        "independent_controller",
        "GB",
        False,
        "",
        None,
        "",
        "DSA-FIN-2024-01",
        datetime.date(2027, 3, 31),
        "Data Protection Officer, Halcyon Consumer Finance Ltd, dpo@halcyon-finance.example.co.uk",
    ),
    (
        "parcelway",
        "Parcelway Logistics Ltd",
        "logistics",
        "processor",
        "GB",
        False,
        "",
        None,
        "",
        "DPA-LOG-2025-014",
        datetime.date(2027, 1, 31),
        "Privacy team, Parcelway Logistics Ltd, privacy@parcelway.example.co.uk",
    ),
    (
        "kestrel-recovery",
        "Kestrel Debt Recovery Ltd",
        "debt_collection",
        "processor",
        "GB",
        False,
        "",
        None,
        "",
        "DPA-DCA-2025-006",
        datetime.date(2027, 6, 30),
        "Compliance Manager, Kestrel Debt Recovery Ltd, compliance@kestrel-recovery.example.co.uk",
    ),
    (
        "clearview-cra",
        "Clearview Credit Reference Ltd",
        "credit_reference",
        "independent_controller",
        "GB",
        False,
        "",
        None,
        "",
        "CRA-SUB-2023-07",
        datetime.date(2027, 9, 30),
        "Consumer Services, Clearview Credit Reference Ltd, dataprotection@clearview-cra.example.co.uk",
    ),
    (
        "northgate-payments",
        "Northgate Payments Europe Ltd",
        "payment",
        "independent_controller",
        "IE",
        True,
        "",
        None,
        "",
        "PSP-2024-002",
        datetime.date(2027, 4, 30),
        "Data Protection Officer, Northgate Payments Europe Ltd, Dublin, dpo@northgate-payments.example.ie",
    ),
    (
        "mailhouse-direct",
        "Mailhouse Direct Ltd",
        "direct_marketing",
        "processor",
        "GB",
        False,
        "",
        None,
        "",
        "DPA-DM-2025-011",
        datetime.date(2027, 2, 28),
        "Client Services, Mailhouse Direct Ltd, privacy@mailhouse-direct.example.co.uk",
    ),
    (
        "group-it",
        "Group IT Services AS",
        "it_services",
        "processor",
        "NO",
        True,
        "",
        None,
        "",
        "DPA-IT-2024-001",
        datetime.date(2027, 12, 31),
        "Group Data Protection Officer, Group IT Services AS, Oslo, dpo@group-it.example.no",
    ),
    (
        "carew-legal",
        "Carew & Partners LLP",
        "legal",
        "independent_controller",
        "GB",
        False,
        "",
        None,
        "",
        "ENG-LEGAL-2025-03",
        datetime.date(2027, 3, 31),
        "Risk and Compliance Partner, Carew & Partners LLP, compliance@carew-legal.example.co.uk",
    ),
    (
        "hmrc",
        "HM Revenue & Customs",
        "authorities",
        "independent_controller",
        "GB",
        False,
        "",
        None,
        "",
        "",
        None,
        "The officer named on the information notice; HMRC Data Protection Officer, 14 Westfield Avenue, Stratford, "
        "London E20 1HZ",
    ),
    (
        "harbour-assurance",
        "Harbour Assurance LLP",
        "auditors",
        "independent_controller",
        "GB",
        False,
        "",
        None,
        "",
        "ENG-AUD-2026-01",
        datetime.date(2027, 5, 31),
        "Engagement Partner, Harbour Assurance LLP, audit@harbour-assurance.example.co.uk",
    ),
    (
        "verbatim-ai",
        "Verbatim AI Inc.",
        "call_transcription",
        "processor",
        "US",
        False,
        "eu_sccs_uk_addendum",
        datetime.date(2025, 5, 12),
        "TRA-2025-003",
        "DPA-AI-2025-009",
        datetime.date(2027, 5, 31),
        "Privacy Office, Verbatim AI Inc., San Francisco CA, privacy@verbatim-ai.example.com",
    ),
]

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
)


def seed(apps, schema_editor):
    Recipient = apps.get_model("customers", "Recipient")
    HistoricalRecipient = apps.get_model("customers", "HistoricalRecipient")
    now = timezone.now()
    for row in RECIPIENTS:
        values = dict(zip(FIELDS, row, strict=True))
        recipient, created = Recipient.objects.get_or_create(code=values["code"], defaults=values)
        if created:
            HistoricalRecipient.objects.create(
                id=recipient.pk,
                **values,
                active=recipient.active,
                created_at=recipient.created_at,
                history_date=now,
                history_type="+",
                history_change_reason=REASON,
            )


def unseed(apps, schema_editor):
    Recipient = apps.get_model("customers", "Recipient")
    codes = [row[0] for row in RECIPIENTS]
    # Only recipients nobody has disclosed to yet can go.
    Recipient.objects.filter(code__in=codes, disclosures__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_alter_customer_options_historicalrecipient_recipient_and_more")]

    operations = [migrations.RunPython(seed, unseed)]
