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

    forms.CharField.validate = validate
    forms.CharField._portal_text_rules = True


# A field's own limit where it has no column to follow (a TextField): a long letter, typed.
LONG_TEXT_MAX_LENGTH = 5_000
# The full text of a privacy notice as published (the current one is about 26,000 characters).
NOTICE_TEXT_MAX_LENGTH = 200_000
