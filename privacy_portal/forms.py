from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.utils import pretty_name

from . import bounds
from .models import User

# Longer than any passphrase a person types; a 10,000-character "password" is refused by length
# (and never hashed: PBKDF2 over megabytes is a denial of service).
PASSWORD_MAX_LENGTH = 128


class StaffSetPasswordForm(SetPasswordForm):
    """The one-time link's form: Django's, with a length limit on both password fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            field = self.fields[name]
            field.max_length = PASSWORD_MAX_LENGTH
            field.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))
            field.widget.attrs["maxlength"] = str(PASSWORD_MAX_LENGTH)


class SignInForm(AuthenticationForm):
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


class TokenForm(forms.Form):
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


class StaffCreateForm(forms.Form):
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


class StaffUpdateForm(forms.Form):
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
        items = list(form.errors.items())
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
