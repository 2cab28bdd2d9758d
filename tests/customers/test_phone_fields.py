"""Every phone number typed into the portal goes through the one phone rule.

The forms are walked, not listed: every form class of the project's apps (imported from every
module under them) is read for fields that hold a phone number (by name or label), and each
must be a customers.forms.PhoneField: cleaned to E.164, international numbers allowed, an
extension refused with a message. The intake and complaint services apply the same rule to
what reaches them, so what is stored is what texts and the suppression list match.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
import re

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.forms import PhoneField
from customers.services.normalise import ERR_PHONE, ERR_PHONE_EXTENSION

APPS = ("customers", "requests", "privacy_portal")
PHONE_WORDS = re.compile(r"phone|mobile|\btel\b|telephone", re.IGNORECASE)


def project_forms() -> list[type[forms.BaseForm]]:
    found = {}
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or ".management" in info.name or info.name.endswith("tests"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__.split(".")[0] in APPS:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


def phone_fields() -> list[tuple[str, str, forms.Field]]:
    fields = []
    for cls in project_forms():
        for name, f in cls.base_fields.items():
            if isinstance(f, forms.CharField) and (PHONE_WORDS.search(name) or PHONE_WORDS.search(str(f.label or ""))):
                fields.append((f"{cls.__module__}.{cls.__qualname__}", name, f))
    return fields


PHONE_FIELDS = phone_fields()


def test_the_walk_finds_the_phone_fields_of_customers_intake_and_complaints():
    found = {(form.rsplit(".", 1)[-1], name) for form, name, _ in PHONE_FIELDS}
    assert {("ContactForm", "phone"), ("IntakeForm", "requester_phone")} <= found
    assert any(name == "complainant_phone" for _, name in found)
    assert {("PublicRequestForm", "phone"), ("PublicComplaintForm", "phone")} <= found


@pytest.mark.parametrize(
    "form, name, field", PHONE_FIELDS, ids=[f"{f.rsplit('.', 1)[-1]}.{n}" for f, n, _ in PHONE_FIELDS]
)
def test_every_phone_field_of_every_form_follows_the_one_phone_rule(form, name, field):
    assert isinstance(field, PhoneField), f"{form}.{name} is a {type(field).__name__}, not a PhoneField"
    assert field.clean("07911 123456") == "+447911123456"
    assert field.clean("+44 (0)7911-123456") == "+447911123456"
    assert field.clean("+33 1 23 45 67 89") == "+33123456789"  # the company has EEA customers
    assert field.clean("0033 1 23 45 67 89") == "+33123456789"
    with pytest.raises(ValidationError) as extension:
        field.clean("020 7946 0000 ext. 123")
    assert extension.value.messages == [ERR_PHONE_EXTENSION]
    with pytest.raises(ValidationError) as wrong:
        field.clean("12345")
    assert wrong.value.messages == [ERR_PHONE]


@pytest.mark.django_db
def test_a_request_logged_with_a_typed_number_stores_it_in_e164(dpo):
    from requests.services.cases import case_log

    (case,) = case_log(
        actor=dpo, rights=["access"], channel="post", received_on=timezone.localdate(),
        requester_name="Jo Bloggs", requester_phone="07911 123456",
    )  # fmt: skip
    assert case.requester_phone == "+447911123456"
    with pytest.raises(ValidationError) as refused:
        case_log(
            actor=dpo, rights=["access"], channel="post", received_on=timezone.localdate(),
            requester_name="Jo Bloggs", requester_phone="020 7946 0000 x12",
        )  # fmt: skip
    assert refused.value.message_dict == {"requester_phone": [ERR_PHONE_EXTENSION]}


@pytest.mark.django_db
def test_a_complaint_logged_with_a_typed_number_stores_it_in_e164(dpo):
    from requests.services.complaints import complaint_log

    complaint = complaint_log(
        actor=dpo, received_on=timezone.localdate() - datetime.timedelta(days=1), channel="phone",
        category="marketing", description="Calls after opting out", complainant_name="Jo Bloggs",
        complainant_phone="+33 1 23 45 67 89",
    )  # fmt: skip
    assert complaint.complainant_phone == "+33123456789"
