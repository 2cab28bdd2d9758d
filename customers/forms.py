from __future__ import annotations

from django import forms
from django.utils import timezone

from privacy_portal import bounds

from .models import PreferenceChange, preference_label
from .selectors import MISSED_LATE, MISSED_OPEN
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


class SearchForm(forms.Form):
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


class ContactForm(forms.Form):
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


class PreferenceForm(forms.Form):
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


class ObjectionForm(forms.Form):
    source = forms.ChoiceField(choices=STAFF_SOURCES, label="How the customer told us")
    evidence = forms.CharField(max_length=500, required=False, label="Evidence or note")


class MissedFilterForm(forms.Form):
    due_from = bounds.DateField(required=False, label="Due from", help_text="dd/mm/yyyy")
    due_to = bounds.DateField(required=False, label="Due to", help_text="dd/mm/yyyy")
    state = forms.ChoiceField(
        choices=[("", "All missed"), (MISSED_OPEN, "Still not actioned"), (MISSED_LATE, "Actioned late")],
        required=False,
        label="Show",
    )

    def clean(self):
        data = super().clean()
        if data.get("due_from") and data.get("due_to") and data["due_from"] > data["due_to"]:
            self.add_error("due_to", "“Due to” must be on or after “Due from”.")
        return data


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the records must be kept, e.g. “Claim notified by solicitors, ref. 123”. No customer details.",
    )
    ends_on = bounds.DateField(label="Hold until", help_text="dd/mm/yyyy. Extend by placing a new hold.")

    def clean_ends_on(self):
        from .services.legal_holds import ERR_ENDS_ON

        ends_on = self.cleaned_data["ends_on"]
        if ends_on <= timezone.localdate():
            raise forms.ValidationError(ERR_ENDS_ON)
        return ends_on
