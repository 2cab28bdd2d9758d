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


NOT_ASCII_DIGITS = ["\u00b2", "\u0663", "\uff11\uff12\uff13", "1\u0663", "\u0661\u0662"]


class _Numbers(forms.Form):
    count = forms.IntegerField(label="Number of letters")
    amount = forms.DecimalField(label="Amount")
    ratio = forms.FloatField(label="Ratio")
    day = forms.DateField(label="Day", input_formats=["%d/%m/%Y", "%Y-%m-%d"])
    at = forms.DateTimeField(label="When")


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_number_and_date_fields_refuse_digits_other_than_0_to_9_naming_the_field(value):
    """int() reads Arabic-Indic 3 as 3 and full-width 123 as 123: every form refuses them, by field."""
    form = _Numbers(data={"count": value, "amount": value, "ratio": value, "day": value, "at": value})
    assert not form.is_valid()
    assert set(form.errors) == {"count", "amount", "ratio", "day", "at"}
    assert "Number of letters" in str(form["count"].label_tag()) and form["count"].errors


@pytest.mark.django_db
@pytest.mark.parametrize("zero", ["\u0660", "\uff10"], ids=["Arabic-Indic", "full-width"])
def test_a_choice_by_id_refuses_an_id_in_other_digits(zero):
    from privacy_portal.models import User
    from tests.factories import UserFactory

    user = UserFactory()
    digits = str(user.pk).translate({ord("0") + i: ord(zero) + i for i in range(10)})  # int(digits) == user.pk
    assert int(digits) == user.pk
    single = forms.ModelChoiceField(queryset=User.objects.all())
    several = forms.ModelMultipleChoiceField(queryset=User.objects.all())
    for field, given in ((single, digits), (several, [digits])):
        with pytest.raises(forms.ValidationError):
            field.clean(given)
    assert single.clean(str(user.pk)) == user


def test_numbers_in_ascii_digits_are_still_numbers():
    form = _Numbers(
        data={"count": "12", "amount": "3.50", "ratio": "0.5", "day": "01/02/2024", "at": "2024-02-01 10:00"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["count"] == 12
