"""What any text typed into the portal may hold: one rule, on every form field at once.

Django refuses a NUL character in every forms.CharField (it adds ProhibitNullCharactersValidator
in CharField.__init__). `install()`, run once at start-up (PrivacyPortalConfig.ready), adds to
the same fields (so to every form of the project, the admin's, and any form added
later without anyone remembering), a refusal of bidirectional embedding, override and isolate
controls (U+202A-U+202E, U+2066-U+2069).

Why: they make text display in an order other than the one stored ("invoice\u202efdp.exe"
shows as "invoiceexe.pdf"), so the next reader of a note, a name or a reason sees something
other than what the record holds; no name or letter needs them (the marks U+200E and U+200F,
which right-to-left text may carry, are allowed).

Numbers are typed in the digits 0-9: Python's int() (so Django's IntegerField, DecimalField,
FloatField and the id of a ModelChoiceField) reads "٣" as 3 and "\uff11\uff12\uff13" (full-width 123) as 123, and a date
parser may too, so a value that looks like something else on screen, or is not a number a
person meant, would be stored. `install()` makes every number, date and choice-by-id field
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


def _numbers_in_ascii_digits() -> None:
    """Every number, date and choice-by-id field refuses a digit outside 0-9 before its own
    parsing (subclasses override to_python, never clean: one patch covers them all)."""
    original = forms.Field.clean
    numeric = (forms.IntegerField, forms.fields.BaseTemporalField, forms.ModelChoiceField)

    def clean(self, value):
        if isinstance(self, numeric) and has_non_ascii_digit(value):
            code = "invalid_choice" if isinstance(self, forms.ModelChoiceField) else "invalid"
            raise ValidationError(self.error_messages[code], code=code, params={"value": value})
        return original(self, value)

    forms.Field.clean = clean  # type: ignore[method-assign]  # the rule applies to every form field


def _ascii_ids_only(cls, code: str) -> None:
    original = cls._check_values

    def _check_values(self, value):
        for item in value or ():
            if has_non_ascii_digit(item):
                raise ValidationError(self.error_messages[code], code=code, params={"pk": item})
        return original(self, value)

    cls._check_values = _check_values


def install() -> None:
    """Give every forms.CharField (and subclass) the bidirectional-control check. Idempotent.

    The check is added to the class's `validate`, looked up when a form is cleaned, so fields
    created before start-up finished (forms imported by the admin's autodiscovery) have it too."""
    if getattr(forms.CharField, "_portal_text_rules", False):
        return
    original = forms.CharField.validate

    def validate(self, value) -> None:
        original(self, value)
        check_no_bidi_controls(value)

    forms.CharField.validate = validate  # type: ignore[method-assign]  # every text field
    # Numbers in 0-9 only. IntegerField covers DecimalField and FloatField (its subclasses);
    # BaseTemporalField every date, time and date-time field.
    _numbers_in_ascii_digits()
    _ascii_ids_only(forms.ModelMultipleChoiceField, "invalid_pk_value")
    forms.CharField._portal_text_rules = True  # type: ignore[attr-defined]  # marks the patch as applied


# A field's own limit where it has no column to follow (a TextField): a long letter, typed.
LONG_TEXT_MAX_LENGTH = 5_000
# The full text of a privacy notice as published (the current one is about 26,000 characters).
NOTICE_TEXT_MAX_LENGTH = 200_000
