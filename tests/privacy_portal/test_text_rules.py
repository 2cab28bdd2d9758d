"""Every text field of every form refuses bidirectional controls, and allows what names need."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.forms import AuthenticationForm

from privacy_portal.text_rules import ERR_BIDI

OVERRIDES = [
    "invoice\u202efdp.exe",
    "a\u202ab",
    "a\u202bb",
    "a\u202cb",
    "a\u202db",
    "a\u2066b",
    "a\u2067b",
    "a\u2068b",
    "a\u2069b",
]


@pytest.mark.parametrize("value", OVERRIDES)
def test_any_form_text_field_refuses_a_bidirectional_control(value):
    field = forms.CharField(max_length=100)
    with pytest.raises(forms.ValidationError) as excinfo:
        field.clean(value)
    assert excinfo.value.messages == [ERR_BIDI]


def test_fields_of_forms_made_before_start_up_refuse_them_too():
    """Django's own sign-in form was defined before the portal's app was ready."""
    form = AuthenticationForm(data={"username": "alice\u202e", "password": "x"})
    assert not form.is_valid()
    assert ERR_BIDI in form.errors["username"]


@pytest.mark.parametrize("value", ["Émile Zola", "محمد\u200f", "שלום\u200e", "O'Brien-Smith"])
def test_names_in_any_script_and_the_direction_marks_they_may_carry_are_accepted(value):
    assert forms.CharField(max_length=100).clean(value) == value


def test_subclasses_refuse_them():
    with pytest.raises(forms.ValidationError):
        forms.EmailField().clean("walk\u202e@example.org")
