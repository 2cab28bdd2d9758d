"""What any text typed into the portal may hold: one rule, on every field of the portal's forms.

Every form of the project is a `PortalForm` (or takes `TextRulesMixin` before a Django form it
extends: the sign-in and password forms; the admin's take it in privacy_portal/admin.py):
tests/privacy_portal/test_text_rules.py fails on a form class of the project without it. Nothing
is patched at start-up: a Django field outside these forms is as Django made it.

Django refuses a NUL character in every forms.CharField (it adds ProhibitNullCharactersValidator
in CharField.__init__). The mixin adds to each text field (forms.CharField and its subclasses),
a refusal of bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069).

Why: they make text display in an order other than the one stored ("invoice\u202efdp.exe"
shows as "invoiceexe.pdf"), so the next reader of a note, a name or a reason sees something
other than what the record holds; no name or letter needs them (the marks U+200E and U+200F,
which right-to-left text may carry, are allowed).

Numbers are typed in the digits 0-9: Python's int() (so Django's IntegerField, DecimalField,
FloatField and the id of a ModelChoiceField) reads "٣" as 3 and "\uff11\uff12\uff13" (full-width 123) as 123, and a date
parser may too, so a value that looks like something else on screen, or is not a number a
person meant, would be stored. The mixin makes every number, date and choice-by-id field
refuse any other digit (superscripts, Arabic-Indic, full-width...) with the field's own
"invalid" message, shown with its label as for any other wrong value.

Length is each field's own limit (max_length): tests/privacy_portal/test_hostile_input_walk.py
fails on any text field that declares none.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
ERR_BIDI = (
    "Remove the invisible right-to-left control character: it makes the text read differently from what is stored."
)


def check_no_bidi_controls(value) -> None:
    """Raise a ValidationError (code "bidi_control") if `value` holds a bidirectional control."""
    if isinstance(value, str) and BIDI_CONTROLS.search(value):
        raise ValidationError(ERR_BIDI, code="bidi_control")


def has_non_ascii_digit(value) -> bool:
    """True if `value` is text holding a digit outside 0-9 (a superscript, an Arabic-Indic or a full-width digit)."""
    return isinstance(value, str) and any(not c.isascii() and (c.isdigit() or c.isnumeric()) for c in value)


# Number fields: IntegerField covers DecimalField and FloatField (its subclasses), BaseTemporalField
# every date, time and date-time field, ModelChoiceField a choice by id (and several, its subclass).
NUMERIC_FIELDS = (forms.IntegerField, forms.fields.BaseTemporalField, forms.ModelChoiceField)


def digits_refusal(field: forms.Field, value) -> ValidationError | None:
    """The field's own "invalid" error if `value`, as typed, holds a digit outside 0-9 where
    `field` reads a number, a date or an id; None otherwise."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        items = value if isinstance(value, list | tuple) else ()
        bad = next((item for item in items if has_non_ascii_digit(item)), None)
        if bad is None:
            return None
        return ValidationError(field.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": bad})
    if isinstance(field, NUMERIC_FIELDS) and has_non_ascii_digit(value):
        code = "invalid_choice" if isinstance(field, forms.ModelChoiceField) else "invalid"
        return ValidationError(field.error_messages[code], code=code, params={"value": value})
    return None


def clean_field(field: forms.Field, value):
    """What a form with TextRulesMixin makes of `value` in `field` on its own: refused as typed if
    it holds other digits where a number is read, then the field's own cleaning, then refused if
    text holds a bidirectional control (the hostile-input walk probes fields with it)."""
    if (error := digits_refusal(field, value)) is not None:
        raise error
    cleaned = field.clean(value)
    if isinstance(field, forms.CharField):
        check_no_bidi_controls(cleaned)
    return cleaned


class TextRulesMixin:
    """A form whose text fields refuse bidirectional controls and whose number, date and id
    fields refuse digits outside 0-9 (each with the field named, as any wrong value is).

    Applied when the form is cleaned, so fields a form adds in its own __init__ have the rules too."""

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]  # a mixin of Django forms only
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and check_no_bidi_controls not in field.validators:
                field.validators.append(check_no_bidi_controls)
        refused = {}
        if form.is_bound:
            for name, field in self.fields.items():
                if not field.disabled and (error := digits_refusal(field, form[name].data)) is not None:
                    refused[name] = error
        super().full_clean()  # type: ignore[misc]
        if not hasattr(form, "cleaned_data"):
            return  # unbound, or an empty extra form left empty: nothing was read
        for name, error in refused.items():
            # Refused before its own parsing, as a value it cannot read: only that message.
            form.errors.pop(name, None)
            form.add_error(name, error)


class PortalForm(TextRulesMixin, forms.Form):
    """The base of every form of the portal (the rules above)."""


# A field's own limit where it has no column to follow (a TextField): a long letter, typed.
LONG_TEXT_MAX_LENGTH = 5_000
# The full text of a privacy notice as published (the current one is about 26,000 characters).
NOTICE_TEXT_MAX_LENGTH = 200_000
