"""The register of processing activities (UK GDPR Art 30) and the privacy notice archive.

`supplementary_information()` is the one source of the "supplementary information" every
access response must include (Art 15(1)(a)-(h) and 15(2)); the rights-request export calls it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Recipient
from privacy_portal.models import LawfulBasis, PrivacyNoticeVersion, ProcessingActivity, SpecialCategoryCondition, User
from privacy_portal.tracked import save_tracked

# The controller, as the privacy notice names it.
CONTROLLER = {
    "name": "The London Mint Office",
    "company_number": "03470348",
    "registered_office": "1 Carew Street, London, SE5 9DF",
    "ico_registration": "Z4761698",
    "data_protection_officer": "dpo@londonmintoffice.org",
}

# The rights the privacy notice lists (UK GDPR Arts 13-22), in its words.
DATA_SUBJECT_RIGHTS = [
    "The right to be informed: to know how your personal information is being used.",
    "The right of access: to a copy of the personal information we hold about you.",
    "The right to rectification: to have inaccurate information corrected.",
    "The right to erasure: to have your personal data deleted.",
    "The right to restrict processing: to stop your data being processed, or collected.",
    "The right to data portability: to have your data transferred to yourself or someone else.",
    "The right to object: to stop direct marketing, or to processing based on our legitimate interests.",
    "Where we rely on your consent, the right to withdraw it at any time.",
]

INTERNAL_REVIEW = (
    "If you are dissatisfied with how your personal data has been handled or with our answer to your request, you "
    "can ask us for an internal review: write to dpo@londonmintoffice.org."
)
# The privacy notice's details for the Information Commissioner's Office. (The notice prints the
# postcode as SK9 9AF; the ICO's own is SK9 5AF, used here.)
ICO = {
    "name": "Information Commissioner's Office",
    "website": "https://ico.org.uk/",
    "email": "casework@ico.org.uk",
    "telephone": "0303 123 1113",
    "post": "Information Commissioner's Office, Wycliffe House, Water Lane, Wilmslow, Cheshire, SK9 5AF",
}
AUTOMATED_DECISIONS = (
    "We make no decisions based solely on automated processing, profiling included, that produce legal or similarly "
    "significant effects for you (UK GDPR Art 22). Calls are transcribed by AI; no decision is made from the "
    "transcripts without a person."
)

ERR_REASON = "Say why you are changing the register (kept in its history)."
ERR_DUPLICATE_NAME = "Another processing activity already has this name."
ERR_SAFEGUARDS = (
    "Name the safeguards for the international transfers (adequacy, UK IDTA, or EU SCCs with the UK Addendum)."
)
ERR_CONDITION = "Choose one of the Art 9(2) conditions, or none."
ERR_BASIS = "Choose one of the six lawful bases of UK GDPR Art 6(1)."
ERR_REQUIRED = "Enter the {what}."
ERR_LABEL_TAKEN = "A version with this label is already archived."
ERR_DATE_TAKEN = "A version already took effect on this day."
ERR_TEXT = "Paste the full text of the notice as published."

ACTIVITY_TEXT_FIELDS = (
    "name",
    "purpose",
    "lawful_basis_detail",
    "data_subjects",
    "data_categories",
    "source",
    "recipients_detail",
    "retention_period",
    "retention_trigger",
    "transfers",
    "transfer_safeguards",
    "security_measures",
)
REQUIRED = {
    "name": "name of the activity",
    "purpose": "purpose",
    "data_subjects": "categories of people",
    "data_categories": "categories of personal data",
    "source": "source of the data",
    "retention_period": "retention period",
    "retention_trigger": "event that starts the retention period",
    "security_measures": "security measures",
}


@transaction.atomic
def activity_save(
    *,
    actor: User,
    activity: ProcessingActivity | None = None,
    reason: str = "",
    recipients: Iterable = (),
    lawful_basis: str,
    special_category_condition: str = "",
    position: int = 0,
    **texts: str,
) -> ProcessingActivity:
    """Add an activity to the register or change one (a change needs a reason). Each save is a
    history row, its recipients included, so the register as it stood on any day can be shown."""
    unknown = set(texts) - set(ACTIVITY_TEXT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")
    values = {f: (texts.get(f) or "").strip() for f in ACTIVITY_TEXT_FIELDS}
    errors: dict[str, list[str]] = {}
    for field, what in REQUIRED.items():
        if not values[field]:
            errors.setdefault(field, []).append(ERR_REQUIRED.format(what=what))
    if lawful_basis not in LawfulBasis.values:
        errors.setdefault("lawful_basis", []).append(ERR_BASIS)
    if special_category_condition and special_category_condition not in SpecialCategoryCondition.values:
        errors.setdefault("special_category_condition", []).append(ERR_CONDITION)
    if values["transfers"] and not values["transfer_safeguards"]:
        errors.setdefault("transfer_safeguards", []).append(ERR_SAFEGUARDS)
    if activity is not None and not reason.strip():
        errors.setdefault("reason", []).append(ERR_REASON)
    clash = ProcessingActivity.objects.filter(name__iexact=values["name"])
    if activity is not None:
        clash = clash.exclude(pk=activity.pk)
    if values["name"] and clash.exists():
        errors.setdefault("name", []).append(ERR_DUPLICATE_NAME)
    if errors:
        raise ValidationError(errors)

    target = activity or ProcessingActivity()
    for field, value in values.items():
        setattr(target, field, value)
    target.lawful_basis = lawful_basis
    target.special_category_condition = special_category_condition or ""
    target.position = position or 0
    save_tracked(target, actor=actor, reason=reason.strip()[:100] if activity is not None else "Added to the register")
    # simple-history records the m2m in the history row of this save; set() after save() writes
    # one more row holding the new recipients, under the same reason.
    wanted = {r.pk for r in recipients}
    if wanted != set(target.recipients.values_list("pk", flat=True)):
        target.recipients.set(wanted)
    return target


# --- The privacy notice archive -----------------------------------------------------------------


def current_notice_version(today: datetime.date | None = None) -> PrivacyNoticeVersion | None:
    """The version in effect today: the latest that has taken effect."""
    today = today or timezone.localdate()
    return PrivacyNoticeVersion.objects.filter(effective_on__lte=today).order_by("-effective_on").first()


@transaction.atomic
def notice_version_publish(
    *, actor: User, label: str, effective_on: datetime.date, text: str, summary_of_changes: str = ""
) -> PrivacyNoticeVersion:
    """Archive a newly published version of the privacy notice. Archived versions are never edited."""
    label, text = label.strip(), text.strip()
    errors: dict[str, list[str]] = {}
    if not label:
        errors["label"] = [ERR_REQUIRED.format(what="version label")]
    elif PrivacyNoticeVersion.objects.filter(label=label).exists():
        errors["label"] = [ERR_LABEL_TAKEN]
    if PrivacyNoticeVersion.objects.filter(effective_on=effective_on).exists():
        errors["effective_on"] = [ERR_DATE_TAKEN]
    if not text:
        errors["text"] = [ERR_TEXT]
    if errors:
        raise ValidationError(errors)
    version = PrivacyNoticeVersion(
        label=label, effective_on=effective_on, text=text, summary_of_changes=summary_of_changes.strip()
    )
    try:
        save_tracked(version, actor=actor, reason="Published version archived", savepoint=True)
    except IntegrityError:
        raise ValidationError({"label": [ERR_LABEL_TAKEN]}) from None
    return version


# --- Reading the register -----------------------------------------------------------------------


def register_activities():
    return ProcessingActivity.objects.prefetch_related("recipients").order_by("position", "name")


REGISTER_CSV_HEADER = (
    "Activity",
    "Purpose",
    "Lawful basis",
    "Why the basis applies",
    "Art 9 condition",
    "Categories of people",
    "Categories of personal data",
    "Source",
    "Recipients",
    "Other recipients",
    "Retention period",
    "Retention starts",
    "International transfers",
    "Safeguards",
    "Security measures",
    "Last changed",
)


def register_csv_rows() -> Iterable[list[str]]:
    """The register as rows of text, header first; written through privacy_portal.csv_safe."""
    yield list(REGISTER_CSV_HEADER)
    for a in register_activities():
        row = [
            a.name,
            a.purpose,
            a.get_lawful_basis_display(),
            a.lawful_basis_detail,
            a.get_special_category_condition_display() if a.special_category_condition else "",
            a.data_subjects,
            a.data_categories,
            a.source,
            "; ".join(r.name for r in a.recipients.all()),
            a.recipients_detail,
            a.retention_period,
            a.retention_trigger,
            a.transfers,
            a.transfer_safeguards,
            a.security_measures,
            timezone.localtime(a.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]
        yield row


def _transfer_safeguard(recipient) -> str:
    if not recipient.outside_uk:
        return ""
    if recipient.country_adequate:
        return "UK adequacy regulations"
    if recipient.transfer_mechanism:
        return f"{recipient.get_transfer_mechanism_display()} (a copy is available from our DPO)"
    return "None recorded"


def supplementary_information() -> dict:
    """What every access response must say besides the data itself (UK GDPR Art 15(1)-(2)),
    from the register: purposes, lawful bases, categories of data, recipients, retention,
    sources, international transfers and their safeguards, automated decisions, the data
    subject's rights and the right to complain to the ICO. Plain JSON-ready values."""
    activities = list(register_activities())
    notice = current_notice_version()
    recipients = Recipient.objects.filter(active=True).order_by("name")
    return {
        "controller": dict(CONTROLLER),
        "privacy_notice": {"version": notice.label, "effective_on": notice.effective_on.isoformat()}
        if notice
        else None,
        "processing_activities": [
            {
                "name": a.name,
                "purpose": a.purpose,
                "lawful_basis": a.get_lawful_basis_display(),
                "lawful_basis_detail": a.lawful_basis_detail,
                "special_category_condition": (
                    a.get_special_category_condition_display() if a.special_category_condition else ""
                ),
                "categories_of_people": a.data_subjects,
                "categories_of_personal_data": a.data_categories,
                "source": a.source,
                "recipients": [r.name for r in a.recipients.all()],
                "other_recipients": a.recipients_detail,
                "retention_period": a.retention_period,
                "retention_starts": a.retention_trigger,
                "international_transfers": a.transfers,
                "transfer_safeguards": a.transfer_safeguards,
            }
            for a in activities
        ],
        "purposes": [{"activity": a.name, "purpose": a.purpose} for a in activities],
        "lawful_bases": [
            {"activity": a.name, "lawful_basis": a.get_lawful_basis_display(), "detail": a.lawful_basis_detail}
            for a in activities
        ],
        "categories_of_personal_data": [{"activity": a.name, "categories": a.data_categories} for a in activities],
        "recipients": [
            {
                "name": r.name,
                "category": r.get_category_display(),
                "role": r.get_role_display(),
                "country": r.country,
                "transfer_safeguard": _transfer_safeguard(r),
            }
            for r in recipients
        ],
        "retention": [
            {"activity": a.name, "period": a.retention_period, "starts": a.retention_trigger} for a in activities
        ],
        "sources": [{"activity": a.name, "source": a.source} for a in activities],
        "international_transfers": [
            {"activity": a.name, "transfers": a.transfers, "safeguards": a.transfer_safeguards}
            for a in activities
            if a.transfers
        ]
        + [
            {"recipient": r.name, "country": r.country, "safeguards": _transfer_safeguard(r)}
            for r in recipients
            if r.outside_uk
        ],
        "automated_decision_making": AUTOMATED_DECISIONS,
        "rights": list(DATA_SUBJECT_RIGHTS),
        "complaints": {
            "internal_review": INTERNAL_REVIEW,
            "right_to_complain_to_the_ico": (
                "You have the right to complain to the Information Commissioner's Office, the UK supervisory authority."
            ),
            "ico": dict(ICO),
        },
    }
