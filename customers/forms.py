from __future__ import annotations

from django import forms
from django.utils import timezone

from privacy_portal import bounds, legal
from privacy_portal.models import LawfulBasis, SpecialCategoryCondition
from privacy_portal.text_rules import PortalForm

from .models import (
    Correspondence,
    DataCategory,
    Disclosure,
    MpsMatch,
    PreferenceChange,
    Recipient,
    preference_label,
)
from .selectors.customers import MISSED_LATE, MISSED_OPEN
from .selectors.legal_holds import ACTIVE, ALL, ENDED
from .selectors.mps import REVIEWED, TO_REVIEW
from .services.calls import ERR_SUMMARY_LONG, SUMMARY_MAX_LENGTH
from .services.imports import MAX_IMPORT_BYTES
from .services.legal_holds import ERR_ENDS_ON
from .services.normalise import PHONE_HELP, normalise_email, normalise_phone, normalise_postcode
from .services.preferences import preference_keys

PREFERENCE_CHOICES = [(f"{p}:{c}", preference_label(p, c)) for p, c in preference_keys()]
# What staff record by hand; links, SMS STOP and imports record themselves.
STAFF_SOURCES = [
    (s.value, s.label)
    for s in (
        PreferenceChange.Source.PHONE_CALL,
        PreferenceChange.Source.LETTER,
        PreferenceChange.Source.EMAIL,
        PreferenceChange.Source.ACCOUNT_PAGE,
        PreferenceChange.Source.RIGHTS_REQUEST,
    )
]

DISCLOSURE_DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class SearchForm(PortalForm):
    q = forms.CharField(
        label="Find a customer",
        help_text="Name, email, phone (any format), postcode or reference (C-000123).",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autofocus": True}),
    )
    after = bounds.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)


class PhoneField(forms.CharField):
    """Every phone number typed into the portal: the one phone rule (customers.services.normalise:
    any UK format or an international number with its country code, an extension refused with
    a message), cleaned to E.164, so what is stored is what texts and suppression lists match.
    tests/customers/test_phone_fields.py walks every form and fails on a phone field that is not one."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", PHONE_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalise_phone(value) if value else value


class NormalisedField(forms.CharField):
    """A contact detail cleaned by the same rule the customer services apply (one rule, so a form
    names every bad field at once instead of stopping at the first the form itself checks)."""

    def __init__(self, *, normalise, **kwargs):
        self.normalise = normalise
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return self.normalise(value) if value else value


class ContactForm(PortalForm):
    title = forms.CharField(max_length=20, required=False)
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = NormalisedField(normalise=normalise_email, max_length=254, required=False, label="Email")
    phone = PhoneField(required=False, label="Phone")
    address_line1 = forms.CharField(max_length=200, required=False, label="Address line 1")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    town = forms.CharField(max_length=100, required=False)
    county = forms.CharField(max_length=100, required=False)
    postcode = NormalisedField(normalise=normalise_postcode, max_length=10, required=False, label="Postcode")
    date_of_birth = bounds.DateField(
        required=False, birth=True, label="Date of birth", help_text="dd/mm/yyyy, if given."
    )


class ContactEditForm(ContactForm):
    reason = forms.CharField(
        max_length=500, label="Reason for the change", help_text="For example: customer moved house (phone call)."
    )
    version = bounds.IntegerField(widget=forms.HiddenInput)


class PreferenceForm(PortalForm):
    preference = forms.ChoiceField(choices=PREFERENCE_CHOICES, label="Preference")
    action = forms.ChoiceField(
        choices=[("opt_out", "Opt out (stop)"), ("opt_in", "Opt in (customer agrees)")],
        widget=forms.RadioSelect,
        label="Change",
    )
    source = forms.ChoiceField(choices=STAFF_SOURCES, label="How the customer told us")
    received_at = bounds.DateTimeField(
        label="Received",
        help_text="When the customer told us (dd/mm/yyyy hh:mm). Leave as now for this call.",
        initial=lambda: timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        input_formats=["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    evidence = forms.CharField(max_length=500, required=False, label="Evidence or note")
    notice_version = forms.CharField(max_length=40, required=False, label="Privacy notice version shown")

    def clean_preference(self) -> tuple[str, str]:
        purpose, _, channel = self.cleaned_data["preference"].partition(":")
        return purpose, channel


class ObjectionForm(PortalForm):
    source = forms.ChoiceField(choices=STAFF_SOURCES, label="How the customer told us")
    evidence = forms.CharField(max_length=500, required=False, label="Evidence or note")


class MissedFilterForm(PortalForm):
    due_from = bounds.DateField(required=False, label="Due from", help_text="dd/mm/yyyy")
    due_to = bounds.DateField(required=False, label="Due to", help_text="dd/mm/yyyy")
    state = forms.ChoiceField(
        choices=[("", "All missed"), (MISSED_OPEN, "Still not actioned"), (MISSED_LATE, "Actioned late")],
        required=False,
        label="Show",
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("due_from") and data.get("due_to") and data["due_from"] > data["due_to"]:
            self.add_error("due_to", "“Due to” must be on or after “Due from”.")
        return data


class MpsReviewFilterForm(PortalForm):
    state = forms.ChoiceField(choices=[(TO_REVIEW, "To review"), (REVIEWED, "Reviewed")], required=False, label="Show")


class MpsDecisionForm(PortalForm):
    decision = forms.ChoiceField(choices=MpsMatch.Decision.choices, label="Decision")


class LegalHoldFilterForm(PortalForm):
    state = forms.ChoiceField(
        choices=[(ACTIVE, "In force"), (ENDED, "Ended (released or past their end date)"), (ALL, "All")],
        required=False,
        label="Show",
    )


class LegalHoldForm(PortalForm):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the records must be kept, e.g. “Claim notified by solicitors, ref. 123”. No customer details.",
    )
    ends_on = bounds.DateField(label="Hold until", help_text="dd/mm/yyyy. Extend by placing a new hold.")

    def clean_ends_on(self):
        ends_on = self.cleaned_data["ends_on"]
        if ends_on <= timezone.localdate():
            raise forms.ValidationError(ERR_ENDS_ON)
        return ends_on


class DiallerTokenForm(PortalForm):
    name = forms.CharField(
        label="Dialler's name",
        max_length=100,
        help_text="Which dialler will use it, e.g. “outbound-dialler-1”. No customer details.",
    )
    days = bounds.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=legal.DIALLER_TOKEN_MAX_DAYS,
        initial=legal.DIALLER_TOKEN_DEFAULT_DAYS,
        help_text=f"1 to {legal.DIALLER_TOKEN_MAX_DAYS} days; {legal.DIALLER_TOKEN_DEFAULT_DAYS} unless you choose.",
    )


class BereavementForm(PortalForm):
    reported_on = bounds.DateField(label="Date the family told us", help_text="dd/mm/yyyy")
    evidence = forms.CharField(
        max_length=500,
        required=False,
        label="Who told us and how",
        help_text="For example: son, by phone; death certificate seen. No more personal data.",
    )


class BreakGlassForm(PortalForm):
    reference = forms.CharField(max_length=20, label="Customer reference", help_text="For example C-000123.")
    reason = forms.CharField(
        widget=forms.Textarea,
        min_length=15,
        max_length=500,
        label="Why you need this customer",
        help_text="Recorded, flagged, and sent to the DPO. Say why in a sentence; do not write the customer's details.",
    )


class RecipientForm(PortalForm):
    name = forms.CharField(max_length=200)
    code = forms.SlugField(
        label="Short code",
        max_length=50,
        required=False,
        help_text="Used in import files. Made from the name if empty.",
    )
    category = forms.ChoiceField(choices=Recipient.Category.choices)
    role = forms.ChoiceField(choices=Recipient.Role.choices)
    country = forms.CharField(max_length=2, help_text="Two-letter code (ISO 3166-1): GB, IE, US…")
    country_adequate = forms.BooleanField(label="The country has UK adequacy", required=False)
    transfer_mechanism = forms.ChoiceField(
        choices=Recipient.TransferMechanism.choices,
        required=False,
        help_text="Needed outside the UK where the country has no UK adequacy.",
    )
    tra_date = bounds.DateField(
        label="Transfer risk assessment date",
        required=False,
        help_text="dd/mm/yyyy",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    tra_reference = forms.CharField(label="Transfer risk assessment reference", max_length=100, required=False)
    agreement_reference = forms.CharField(
        label="Contract or data-processing agreement",
        max_length=100,
        required=False,
        help_text="Required for processors.",
    )
    agreement_renews_on = bounds.DateField(
        label="Agreement renewal date", required=False, help_text="dd/mm/yyyy", input_formats=["%d/%m/%Y", "%Y-%m-%d"]
    )
    contact = forms.CharField(max_length=300, help_text="Who to tell about a rectification, erasure or restriction.")
    holds_call_data = forms.BooleanField(
        label="Holds call audio or transcripts",
        required=False,
        help_text="Asked to delete its copies (a deletion task) whenever calls are purged or erased.",
    )
    active = forms.BooleanField(required=False, initial=True)


class RecipientEditForm(RecipientForm):
    reason = forms.CharField(max_length=100, help_text="Why the entry changes (kept in its history).")


class DisclosureForm(PortalForm):
    recipient = forms.ModelChoiceField(queryset=Recipient.objects.order_by("name"), empty_label="Choose a recipient")
    data_categories = forms.MultipleChoiceField(
        label="Data disclosed", choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.ChoiceField(choices=[("", "Choose a purpose"), *Disclosure.Purpose.choices])
    lawful_basis = forms.ChoiceField(choices=[("", "Choose a lawful basis"), *LawfulBasis.choices])
    sensitive = forms.BooleanField(label="Includes sensitive data (UK GDPR Art 9)", required=False)
    special_category_condition = forms.ChoiceField(
        label="Art 9 condition",
        choices=[("", "None (no sensitive data)"), *SpecialCategoryCondition.choices],
        required=False,
        help_text="Only for sensitive data.",
    )
    disclosed_at = bounds.DateTimeField(
        label="When",
        help_text="dd/mm/yyyy hh:mm",
        initial=lambda: timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        input_formats=DISCLOSURE_DATETIME_FORMATS,
    )
    recipient_reference = forms.CharField(
        label="Recipient's reference",
        max_length=100,
        required=False,
        help_text="Their application, consignment or debt file number.",
    )
    override_reason = forms.CharField(
        label="Override the restriction: reason (DPO only)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only for a legal obligation or legal claims (Art 18(2)). Kept with the disclosure and its history.",
    )

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]
        recipient = self.fields["recipient"]
        assert isinstance(recipient, forms.ModelChoiceField)
        recipient.label_from_instance = lambda r: r.name if r.active else f"{r.name} (inactive)"  # type: ignore[assignment]  # a label per recipient


class CsvFileField(forms.FileField):
    """A CSV file to upload: the hint (encoding and the size limit the import enforces) and the
    file picker's filter every CSV upload shows."""

    def __init__(self, *, label: str, **kwargs):
        kwargs.setdefault("help_text", f"UTF-8 CSV (.csv), at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
        super().__init__(label=label, **kwargs)


class DisclosureImportForm(PortalForm):
    file = CsvFileField(label="CSV file")


class ConfirmForm(PortalForm):
    file = forms.FileField(label="The provider's confirmation", help_text="PDF, JPEG or PNG, at most 10 MB.")
    note = forms.CharField(max_length=500, required=False, label="Note (e.g. the provider's ticket number)")


class ConfirmationFileForm(PortalForm):
    file = CsvFileField(label="The provider's confirmation file (CSV)")


class CorrespondenceForm(PortalForm):
    direction = forms.ChoiceField(choices=Correspondence.Direction.choices)
    medium = forms.ChoiceField(choices=Correspondence.Medium.choices)
    occurred_at = bounds.DateTimeField(
        label="When",
        help_text="dd/mm/yyyy hh:mm",
        initial=lambda: timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        input_formats=["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    # The length rule lives in the service; the form refuses with the service's own message (one
    # message), so no field is without a limit; the browser gets the limit as a hint.
    summary = forms.CharField(
        max_length=SUMMARY_MAX_LENGTH,
        error_messages={"max_length": ERR_SUMMARY_LONG},
        help_text=f"What it was about, briefly (at most {SUMMARY_MAX_LENGTH} characters). No more personal data.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": SUMMARY_MAX_LENGTH}),
        strip=True,
    )


class PreferenceImportForm(PortalForm):
    file = CsvFileField(label="CSV file")


class CallListForm(PortalForm):
    file = CsvFileField(label="Call list (CSV)")
