"""Every text field of every form of the portal refuses bidirectional controls, and allows what
names need; number, date and id fields read only the digits 0-9. The rules are the forms' own
(privacy_portal.text_rules.PortalForm / TextRulesMixin), never a patch of Django's fields."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms

from privacy_portal.forms import SignInForm
from privacy_portal.text_rules import ERR_BIDI, PortalForm, TextRulesMixin

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


class _Text(PortalForm):
    name = forms.CharField(max_length=100, label="Name")
    email = forms.EmailField(required=False, label="Email")


def _clean(form_class, **data):
    form = form_class(data=data)
    return form.is_valid(), form


@pytest.mark.parametrize("value", OVERRIDES)
def test_any_form_text_field_refuses_a_bidirectional_control(value):
    valid, form = _clean(_Text, name=value)
    assert not valid
    assert form.errors["name"] == [ERR_BIDI]


def test_forms_extending_djangos_own_refuse_them_too():
    """The sign-in form extends Django's AuthenticationForm, with the mixin before it."""
    form = SignInForm(data={"username": "alice\u202e", "password": "x"})
    assert not form.is_valid()
    assert ERR_BIDI in form.errors["username"]


@pytest.mark.parametrize("value", ["Émile Zola", "محمد\u200f", "שלום\u200e", "O'Brien-Smith"])
def test_names_in_any_script_and_the_direction_marks_they_may_carry_are_accepted(value):
    valid, form = _clean(_Text, name=value)
    assert valid and form.cleaned_data["name"] == value


def test_subclasses_refuse_them():
    valid, form = _clean(_Text, name="Walk", email="walk\u202e@example.org")
    assert not valid and ERR_BIDI in form.errors["email"]


def test_a_field_a_form_adds_in_its_own_init_has_the_rules_too():
    class Added(PortalForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["note"] = forms.CharField(max_length=100)
            self.fields["count"] = forms.IntegerField()

    form = Added(data={"note": "a\u202eb", "count": "\u0663"})
    assert not form.is_valid() and form.errors["note"] == [ERR_BIDI] and form.errors["count"]


def test_start_up_patches_nothing_a_plain_django_field_is_as_django_made_it():
    """AppConfig.ready() has no side effect on Django's forms: the rules are the portal's forms'."""
    assert forms.CharField(max_length=100).clean("a\u202eb") == "a\u202eb"
    assert forms.IntegerField().clean("\u0663") == 3
    assert "validate" not in vars(forms.CharField) or forms.CharField.validate.__module__ == "django.forms.fields"
    assert forms.Field.clean.__module__ == "django.forms.fields"


def _project_form_classes() -> list[type]:
    """Every form class defined in the project's forms modules (and the admin's)."""
    import customers
    import privacy_portal
    import requests

    modules = ["privacy_portal.admin"]
    for package in (customers, privacy_portal, requests):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".forms" in info.name or info.name.endswith("forms"):
                modules.append(info.name)
    found = []
    for name in modules:
        module = importlib.import_module(name)
        found += [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__
        ]
    return found


def test_every_form_of_the_portal_takes_the_text_rules():
    found = _project_form_classes()
    assert len(found) > 80
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, TextRulesMixin))
    assert missing == [], "base the form on privacy_portal.text_rules.PortalForm (or TextRulesMixin first)"


@pytest.mark.django_db
def test_the_admins_forms_take_them_too():
    from django.contrib import admin
    from django.test import RequestFactory

    from privacy_portal.models import JobRun, User
    from tests.factories import UserFactory

    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)  # whoever the admin lets in
    for model in (User, JobRun):
        model_admin = admin.site._registry[model]
        add, change = model_admin.get_form(request), model_admin.get_form(request, model(), change=True)
        assert issubclass(add, TextRulesMixin) and issubclass(change, TextRulesMixin)
    form = admin.site._registry[User].get_form(request)(data={"username": "walk\u202e", "usable_password": "false"})
    assert not form.is_valid() and ERR_BIDI in form.errors["username"]


NOT_ASCII_DIGITS = ["\u00b2", "\u0663", "\uff11\uff12\uff13", "1\u0663", "\u0661\u0662"]


class _Numbers(PortalForm):
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
    from django.http import QueryDict

    class Choices(PortalForm):
        single = forms.ModelChoiceField(queryset=User.objects.all())
        several = forms.ModelMultipleChoiceField(queryset=User.objects.all())

    data = QueryDict(mutable=True)
    data.update({"single": digits, "several": digits})
    form = Choices(data=data)
    assert not form.is_valid() and set(form.errors) == {"single", "several"}
    assert [e.code for e in form.errors.as_data()["several"]] == ["invalid_pk_value"]
    data = QueryDict(mutable=True)
    data.update({"single": str(user.pk), "several": str(user.pk)})
    form = Choices(data=data)
    assert form.is_valid() and form.cleaned_data["single"] == user and list(form.cleaned_data["several"]) == [user]


def test_numbers_in_ascii_digits_are_still_numbers():
    form = _Numbers(
        data={"count": "12", "amount": "3.50", "ratio": "0.5", "day": "01/02/2024", "at": "2024-02-01 10:00"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["count"] == 12
