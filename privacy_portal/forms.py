from __future__ import annotations

import datetime
import re
from typing import cast

from dateutil.relativedelta import relativedelta
from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.utils import pretty_name
from django.utils import timezone

from customers.models import Recipient

from . import bounds
from .models import BreakGlassReview, LawfulBasis, SpecialCategoryCondition, User
from .private_storage import UploadTooBig, upload_bytes
from .promises.base import Period
from .promises.report import ERR_REPORT_TOO_BIG, REPORT_MAX_BYTES, sha256
from .services import history_search
from .text_rules import LONG_TEXT_MAX_LENGTH, NOTICE_TEXT_MAX_LENGTH, PortalForm, TextRulesMixin

# Longer than any passphrase a person types; a 10,000-character "password" is refused by length
# (and never hashed: PBKDF2 over megabytes is a denial of service).
PASSWORD_MAX_LENGTH = 128

MSG_HASH = "A SHA-256 is 64 hexadecimal characters."
MSG_VERIFY_NOTHING = "Upload the report file or paste its SHA-256."

# The promise report's period.
MSG_MONTH = "Write the month as YYYY-MM, e.g. 2026-11."
MSG_QUARTER = "Write the quarter as YYYY-Qn, e.g. 2026-Q3."
MSG_YEAR = "Give a year between {low} and {high}."
MSG_RANGE = "The end of the period cannot be before its start."
MSG_CUSTOM = "Give the first and the last day of the period."
MSG_FUTURE = "The period has not begun: a report of days to come would say every promise was kept."
MSG_TOO_LONG = "A custom period is at most {years} years (a year's report already reads millions of records)."
CUSTOM_MAX_YEARS = 3

KINDS = [("quarter", "Quarter"), ("month", "Month"), ("year", "Year"), ("custom", "Custom")]


class StaffSetPasswordForm(TextRulesMixin, SetPasswordForm):
    """The one-time link's form: Django's, with a length limit on both password fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            field = cast(forms.CharField, self.fields[name])  # Django's password fields
            field.max_length = PASSWORD_MAX_LENGTH
            field.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))
            field.widget.attrs["maxlength"] = str(PASSWORD_MAX_LENGTH)


class SignInForm(TextRulesMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "Wrong username or password. After 5 failed attempts the account is locked.",
        "inactive": "This account is switched off or its access has ended.",
        "awaiting_approval": "This account is waiting for the DPO's approval. You can sign in once it is approved.",
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as exc:
            # The backend refuses ended accounts as if the password were wrong; to someone who
            # knows the password, say what happened instead.
            known = User.objects.filter(username=self.cleaned_data.get("username"), is_active=True).first()
            if known is not None and known.check_password(self.cleaned_data.get("password")):
                if known.access_has_ended:
                    raise forms.ValidationError(self.error_messages["inactive"], code="inactive") from exc
                if known.awaiting_approval:
                    raise forms.ValidationError(self.error_messages["awaiting_approval"], code="approval") from exc
            raise

    def confirm_login_allowed(self, user) -> None:
        if getattr(user, "access_has_ended", False):
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
        super().confirm_login_allowed(user)


class TokenForm(PortalForm):
    otp_token = forms.CharField(
        label="6-digit code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_otp_token(self) -> str:
        token = self.cleaned_data["otp_token"].replace(" ", "")
        if not bounds.is_ascii_digits(token):
            raise forms.ValidationError("Enter the digits shown in your authenticator app.")
        return token


class StaffCreateForm(PortalForm):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=User.Role.choices)
    access_ends_on = bounds.DateField(
        required=False,
        label="Access ends on",
        help_text="Required for auditors: the last day of the engagement (dd/mm/yyyy).",
    )


class StaffUpdateForm(PortalForm):
    role = forms.ChoiceField(choices=[("", "No role"), *User.Role.choices], required=False)
    is_active = forms.BooleanField(required=False, label="Account active")
    access_ends_on = bounds.DateField(required=False, label="Access ends on", help_text="dd/mm/yyyy")
    reason = forms.CharField(max_length=500, help_text="Why this change is made (kept in the history).")


def _label(form: forms.Form | None, field: str) -> str:
    if field == NON_FIELD_ERRORS:
        return ""
    if form is not None and field in form.fields:
        return str(form[field].label)  # the field's label, or its name made readable
    return pretty_name(field)


def named_errors(form: forms.Form | None = None, exc: ValidationError | None = None) -> list[str]:
    """A form's errors, or a service's ValidationError, as sentences naming their field
    ("Postcode: Enter a valid UK postcode."), for pages that show them as messages, away from
    the field. Errors about no one field stay as they are."""
    if exc is not None:
        if hasattr(exc, "error_dict"):
            items = [(field, [m for e in errors for m in e.messages]) for field, errors in exc.error_dict.items()]
        else:
            return list(exc.messages)
    elif form is not None:
        items = [(name, [str(message) for message in errors]) for name, errors in form.errors.items()]
    else:
        return []
    sentences = []
    for field, errors in items:
        label = _label(form, field)
        text = " ".join(str(e) for e in errors)
        sentences.append(f"{label}: {text}" if label else text)
    return sentences


def add_service_errors(form: forms.Form, exc) -> None:
    """Show a service's ValidationError on the form: under the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class VerifyForm(PortalForm):
    """The "verify a report" form: the report file (its bytes, read up to REPORT_MAX_BYTES) or its SHA-256."""

    report = forms.FileField(required=False, label="The report file (PDF or JSON)")
    sha256 = forms.CharField(max_length=64, required=False, label="…or its SHA-256")

    def clean_sha256(self):
        value = self.cleaned_data["sha256"].strip().lower()
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise forms.ValidationError(MSG_HASH)
        return value

    def clean_report(self) -> bytes | None:
        upload = self.cleaned_data.get("report")
        if not upload:
            return None
        try:
            return upload_bytes(upload, limit=REPORT_MAX_BYTES)
        except UploadTooBig:
            raise forms.ValidationError(ERR_REPORT_TOO_BIG) from None

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if not self.errors and not data.get("report") and not data.get("sha256"):
            raise forms.ValidationError(MSG_VERIFY_NOTHING)
        return data

    def digest(self) -> str:
        content = self.cleaned_data.get("report")
        return sha256(content) if content else self.cleaned_data["sha256"]


class ActivityForm(PortalForm):
    name = forms.CharField(max_length=200)
    position = bounds.IntegerField(min_value=0, max_value=32767, initial=100, help_text="Order on the register page.")
    purpose = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    lawful_basis = forms.ChoiceField(choices=[("", "Choose a lawful basis"), *LawfulBasis.choices])
    lawful_basis_detail = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Why the basis applies",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    special_category_condition = forms.ChoiceField(
        label="Art 9 condition (sensitive data only)",
        choices=[("", "None"), *SpecialCategoryCondition.choices],
        required=False,
    )
    data_subjects = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Categories of people", widget=forms.Textarea(attrs={"rows": 2})
    )
    data_categories = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Categories of personal data", widget=forms.Textarea(attrs={"rows": 2})
    )
    source = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, label="Source of the data", widget=forms.Textarea(attrs={"rows": 2})
    )
    recipients: forms.ModelMultipleChoiceField = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, help_text="From the recipient register."
    )
    recipients_detail = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Other recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    retention_period = forms.CharField(max_length=200)
    retention_trigger = forms.CharField(label="Retention starts", max_length=300)
    transfers = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="International transfers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    transfer_safeguards = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        label="Safeguards for the transfers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    security_measures = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["recipients"]).queryset = Recipient.objects.order_by("name")


class ActivityEditForm(ActivityForm):
    reason = forms.CharField(max_length=100, help_text="Why the register changes (kept in its history).")


class NoticeVersionForm(PortalForm):
    label = forms.CharField(max_length=40, help_text="As staff will record it with preference changes, e.g. 2027-01.")
    effective_on = bounds.DateField(
        label="Takes effect on", help_text="dd/mm/yyyy", input_formats=["%d/%m/%Y", "%Y-%m-%d"]
    )
    summary_of_changes = forms.CharField(max_length=500, required=False)
    text = forms.CharField(
        max_length=NOTICE_TEXT_MAX_LENGTH, label="Full text as published", widget=forms.Textarea(attrs={"rows": 16})
    )


class HistorySearchForm(PortalForm):
    staff = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), required=False, label="Staff member", empty_label="Anyone"
    )
    kind = forms.ChoiceField(required=False, label="Kind of record")
    record = bounds.IntegerField(required=False, min_value=1, label="Record id", help_text="With a kind of record.")
    date_from = bounds.DateField(required=False, label="From", help_text="dd/mm/yyyy")
    date_to = bounds.DateField(required=False, label="To", help_text="dd/mm/yyyy")
    cursor = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = [("", "Any"), *history_search.kind_choices()]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("record") and not data.get("kind"):
            self.add_error("kind", "Choose the kind of record the id belongs to.")
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end of the period is before its start.")
        return data


class PeriodForm(PortalForm):
    kind = forms.ChoiceField(choices=KINDS, required=False, label="Period")
    month = forms.CharField(max_length=7, required=False, help_text="YYYY-MM")
    quarter = forms.CharField(max_length=7, required=False, help_text="YYYY-Qn")
    year = bounds.IntegerField(required=False, min_value=1997, max_value=9999)
    start = bounds.DateField(required=False, label="From", help_text="dd/mm/yyyy")
    end = bounds.DateField(required=False, label="To", help_text="dd/mm/yyyy")

    def clean_month(self):
        value = self.cleaned_data["month"].strip()
        if value and not re.fullmatch(r"(199[7-9]|20\d\d)-(0[1-9]|1[0-2])", value):
            raise forms.ValidationError(MSG_MONTH)
        return value

    def clean_quarter(self):
        value = self.cleaned_data["quarter"].strip().upper()
        if value and not re.fullmatch(r"(199[7-9]|20\d\d)-Q[1-4]", value):
            raise forms.ValidationError(MSG_QUARTER)
        return value

    def clean_year(self):
        value = self.cleaned_data["year"]
        high = timezone.localdate().year
        if value is not None and not 1997 <= value <= high:
            raise forms.ValidationError(MSG_YEAR.format(low=1997, high=high))
        return value

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("kind") == "custom" and not self.errors:
            if not (data.get("start") and data.get("end")):
                raise forms.ValidationError(MSG_CUSTOM)
            if data["end"] < data["start"]:
                self.add_error("end", MSG_RANGE)
            elif data["end"] > data["start"] + relativedelta(years=CUSTOM_MAX_YEARS, days=-1):
                self.add_error("end", MSG_TOO_LONG.format(years=CUSTOM_MAX_YEARS))
        if not self.errors:
            asked = self._asked(data)
            if asked is not None and asked.start > timezone.localdate():
                raise forms.ValidationError(MSG_FUTURE)
        return data

    def period(self, today: datetime.date) -> Period:
        """The period asked for; the current quarter when none (or a bad one) was asked."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return self._asked(data) or Period.quarter_of(today)

    @staticmethod
    def _asked(data: dict) -> Period | None:
        kind = data.get("kind") or ""
        if kind == "month" and data.get("month"):
            year, month = data["month"].split("-")
            return Period.month(int(year), int(month))
        if kind == "quarter" and data.get("quarter"):
            year, quarter = data["quarter"].split("-Q")
            return Period.quarter(int(year), int(quarter))
        if kind == "year" and data.get("year"):
            return Period.year(data["year"])
        if kind == "custom" and data.get("start") and data.get("end"):
            return Period(data["start"], data["end"])
        return None


class BreakGlassReviewForm(PortalForm):
    outcome = forms.ChoiceField(choices=BreakGlassReview.Outcome.choices)
