"""Hostile input (issue 12): one rule for dates, numbers and text, on every form, filter and
CSV; the history CSV validated before it streams and never complete-looking when it failed;
one CSV-injection guard for every CSV the portal writes."""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import pkgutil
from pathlib import Path

import pytest
from django import forms
from django.urls import reverse

from customers.services import customers as customer_services
from privacy_portal import bounds
from privacy_portal.services import history_search
from tests.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "requests", "privacy_portal")


def project_forms() -> list[type[forms.BaseForm]]:
    """Every form class defined in the project's apps (imported module by module)."""
    found: dict[str, type] = {}
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, forms.BaseForm) and obj.__module__.startswith(APPS):
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def _form_fields():
    for form_class in project_forms():
        for name, field in form_class.base_fields.items():
            yield pytest.param(form_class, name, field, id=f"{form_class.__qualname__}.{name}")


# --- Every form field keeps to the rule, including forms added later ----------------------------


def test_the_walk_finds_the_forms():
    names = {f.__qualname__ for f in project_forms()}
    assert {"ContactForm", "HistorySearchForm", "IntakeForm", "PreferenceForm"} <= names


@pytest.mark.parametrize(("form_class", "name", "field"), list(_form_fields()))
def test_every_date_time_and_number_field_of_every_form_is_bounded(form_class, name, field):
    if isinstance(field, forms.DateTimeField):
        assert isinstance(field, bounds.DateTimeField), f"{form_class.__name__}.{name}: use bounds.DateTimeField"
    elif isinstance(field, forms.DateField):
        assert isinstance(field, bounds.DateField), f"{form_class.__name__}.{name}: use bounds.DateField"
    elif isinstance(field, forms.IntegerField):
        assert field.max_value is not None and field.max_value <= bounds.BIGINT_MAX, f"{name}: no upper bound"
        assert field.min_value is not None, f"{name}: no lower bound"


@pytest.mark.parametrize("value", ["01/01/0001", "0001-01-01", "31/12/9999", "31/12/1996"])
def test_a_bounded_date_field_refuses_the_ends_of_the_calendar_with_a_message(value):
    field = bounds.DateField(label="Date received")
    with pytest.raises(forms.ValidationError, match="Enter a date"):
        field.clean(value)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "01/01/0001 00:00", "9999-12-31T23:59:59-01:00"])
def test_a_bounded_datetime_field_refuses_the_ends_of_the_calendar_without_overflowing(value):
    field = bounds.DateTimeField(input_formats=["%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"])
    with pytest.raises(forms.ValidationError):
        field.clean(value)


def test_a_date_of_birth_may_be_before_the_company_but_not_before_1900():
    field = bounds.DateField(birth=True)
    assert field.clean("01/01/1950").year == 1950
    with pytest.raises(forms.ValidationError, match="a date of birth before then cannot be right"):
        field.clean("31/12/1899")


@pytest.mark.django_db
def test_the_contact_form_refuses_a_date_of_birth_before_1900_naming_the_field(client_for, agent):
    customer = CustomerFactory()
    data = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "01/01/0001", "reason": "Call", "version": 1}
    response = client_for(agent).post(reverse("customers:edit", args=[customer.pk]), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["date_of_birth"] and "1 January 1900" in errors["date_of_birth"][0]


# --- The auditors' history search -----------------------------------------------------------------


@pytest.fixture
def a_change(agent):
    customer = CustomerFactory(town="York")
    customer_services.customer_update_contact(
        actor=agent, customer_id=customer.pk, expected_version=1, reason="Moved", town="Leeds"
    )
    return customer


HOSTILE_FILTERS = [
    ({"kind": "customers.Customer", "record": "99999999999999999999"}, "record"),
    ({"record": "-5", "kind": "customers.Customer"}, "record"),
    ({"date_to": "31/12/9999"}, "date_to"),
    ({"date_from": "01/01/0001"}, "date_from"),
    ({"date_from": "01/01/0001", "date_to": "31/12/9999"}, "date_from"),
    ({"staff": "99999999999999999999"}, "staff"),
    ({"staff": "abc"}, "staff"),
    ({"kind": "no.Such"}, "kind"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), HOSTILE_FILTERS)
def test_a_hostile_history_filter_gets_a_message_under_its_field_not_a_server_error(client_for, auditor, query, field):
    response = client_for(auditor).get(reverse("history_search"), query)
    assert response.status_code == 200
    assert field in response.context["form"].errors


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), HOSTILE_FILTERS)
def test_the_history_csv_refuses_a_hostile_filter_before_streaming_anything(client_for, auditor, query, field):
    response = client_for(auditor).get(reverse("history_export"), query)
    assert response.status_code == 400
    assert not response.streaming
    assert response["Content-Type"].startswith("text/html")
    assert field in response.context["form"].errors


@pytest.mark.django_db
def test_a_history_csv_whose_stream_fails_part_way_says_so_and_does_not_end_cleanly(
    client_for, auditor, a_change, monkeypatch
):
    from privacy_portal.views import history as history_views

    monkeypatch.setattr(history_views, "EXPORT_PAGE_SIZE", 1)
    real_search = history_search.search
    calls = []

    def failing_on_the_second_page(**kwargs):
        calls.append(kwargs)
        if len(calls) > 1:
            raise RuntimeError("database went away")
        return real_search(**kwargs)

    monkeypatch.setattr(history_search, "search", failing_on_the_second_page)
    response = client_for(auditor).get(reverse("history_export"), {"kind": "customers.Customer"})
    assert response.status_code == 200 and response.streaming
    received = []
    with pytest.raises(RuntimeError):
        for chunk in response.streaming_content:
            received.append(chunk)
    rows = list(csv.reader(io.StringIO(b"".join(received).decode())))
    assert rows[0] == history_views.EXPORT_HEADER
    assert len(rows) == 3  # header, the first page's one row, the warning
    assert rows[-1][0] == history_views.EXPORT_INCOMPLETE


@pytest.mark.django_db
def test_a_history_csv_that_completes_has_no_warning_row(client_for, auditor, a_change, monkeypatch):
    from privacy_portal.views import history as history_views

    monkeypatch.setattr(history_views, "EXPORT_PAGE_SIZE", 1)
    response = client_for(auditor).get(reverse("history_export"), {"kind": "customers.Customer"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[5] for r in rows[1:]] == ["Moved", ""]
    assert history_views.EXPORT_INCOMPLETE not in {r[0] for r in rows}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        "9999-12-31T23:59:59+00:00|customers.Customer|99999999999999999999",
        "0001-01-01T00:00:00+01:00|customers.Customer|1",
        "2026-01-01T00:00:00+00:00|no.Such|-99999999999999999999",
        "garbage",
        "a|b|c|d",
    ],
)
def test_a_tampered_history_cursor_gets_the_first_page_not_a_server_error(client_for, auditor, a_change, cursor):
    response = client_for(auditor).get(reverse("history_search"), {"kind": "customers.Customer", "cursor": cursor})
    assert response.status_code == 200
