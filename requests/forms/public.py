"""The public forms (input only; the rules are in requests.services.public). Plain English,
every field labelled; `website` is the honeypot: hidden from people, filled in by bots."""

from __future__ import annotations

from django import forms

from customers.forms import PhoneField
from privacy_portal import bounds, legal
from privacy_portal.text_rules import LONG_TEXT_MAX_LENGTH, PortalForm

from ..models import Case, Complaint

WHO = [("self", "Myself"), ("other", "Someone else, on their behalf")]
HONEYPOT = "website"


class HoneypotForm(PortalForm):
    website = forms.CharField(
        max_length=100,
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))


class PublicComplaintForm(HoneypotForm):
    who = forms.ChoiceField(choices=WHO, widget=forms.RadioSelect, label="Who is complaining?", initial="self")
    on_behalf_of = forms.CharField(
        max_length=200, required=False, label="The name of the person you are complaining for",
        help_text="Only if you are complaining for someone else.",
    )  # fmt: skip
    relationship = forms.CharField(
        max_length=100, required=False, label="How you are related to them",
        help_text="For example: parent, carer, solicitor.",
    )  # fmt: skip
    name = forms.CharField(
        max_length=200, label="Your full name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        max_length=254, label="Your email address", help_text="We send our acknowledgement and reply here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip
    phone = PhoneField(required=False, label="Your phone number", widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    address = forms.CharField(
        max_length=400, required=False, label="Your postal address",
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )  # fmt: skip
    category = forms.ChoiceField(choices=Complaint.Category.choices, label="What is your complaint about?")
    description = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 6}), label="What happened?",
        help_text="Tell us what happened and when, in your own words.",
    )  # fmt: skip
    remedy = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        label="What would you like us to do?",
    )  # fmt: skip
    request_reference = forms.CharField(
        max_length=20, required=False, label="Reference of a request you made to us",
        help_text="If your complaint is about a request, for example R-2026-00042.",
    )  # fmt: skip
    field_order = [
        "who", "on_behalf_of", "relationship", "name", "email", "phone", "address", "category", "description",
        "remedy", "request_reference", "website",
    ]  # fmt: skip


class PublicRequestForm(HoneypotForm):
    rights = forms.MultipleChoiceField(
        choices=Case.Right.choices, widget=forms.CheckboxSelectMultiple, label="What are you asking for?",
        help_text="Choose one or more.",
    )  # fmt: skip
    who = forms.ChoiceField(choices=WHO, widget=forms.RadioSelect, label="Whose data is it?", initial="self")
    subject_name = forms.CharField(
        max_length=200, required=False, label="The name of the person you are acting for",
        help_text="Only if you ask for someone else.",
    )  # fmt: skip
    relationship = forms.CharField(
        max_length=100, required=False, label="How you are related to them",
        help_text="For example: parent, carer, solicitor, attorney.",
    )  # fmt: skip
    email = forms.EmailField(
        max_length=254, label="Your email address",
        help_text="We send a code to check it is yours, and every message about your request.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip
    name = forms.CharField(
        max_length=200, required=False, label="Full name", help_text="The name on the account, if there is one.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )  # fmt: skip
    phone = PhoneField(required=False, label="Phone number", widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    postcode = forms.CharField(
        max_length=10, required=False, label="Postcode", widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    account_reference = forms.CharField(
        max_length=20, required=False, label="Account number", help_text="On your invoices, for example C-000123."
    )
    description = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 4}),
        label="Anything else that helps", help_text="For example: which data, or which period.",
    )  # fmt: skip
    field_order = [
        "rights", "who", "subject_name", "relationship", "email", "name", "phone", "postcode", "account_reference",
        "description", "website",
    ]  # fmt: skip


class CodeForm(PortalForm):
    code = forms.CharField(
        min_length=legal.VERIFICATION_CODE_DIGITS,
        max_length=legal.VERIFICATION_CODE_DIGITS,
        label="The code from the email",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not bounds.is_ascii_digits(code):
            raise forms.ValidationError(f"Enter the {legal.VERIFICATION_CODE_DIGITS} digits from the email.")
        return code


class ResendForm(HoneypotForm):
    reference = forms.CharField(max_length=20, label="Your request reference", help_text="For example R-2026-00042.")
    email = forms.EmailField(max_length=254, label="The email address you gave us")


class ReplyForm(PortalForm):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 5}), label="Your message")


class IdentityForm(PortalForm):
    file = forms.FileField(
        label="Identity evidence",
        help_text="A PDF, JPEG or PNG file, at most 10 MB: a photo ID, or a recent bill with your name and address.",
    )
