"""Deny by default: every route declares who may use it, and anonymous visitors get nowhere."""

from __future__ import annotations

import sys
import types

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import clear_url_caches, include, path

from privacy_portal.urlwalk import ADMIN_NAMESPACE, undeclared, walk

ROUTES = walk()


def test_every_view_declares_an_access_rule():
    missing = [f"{r.pattern} ({r.name})" for r in undeclared()]
    assert missing == [], f"Views without @requires/@signed_in_only/@public: {missing}"


def test_the_walk_fails_when_an_unprotected_view_is_added():
    def naked_view(request):
        return HttpResponse("customer data")

    module = types.ModuleType("tests._naked_urls")
    module.urlpatterns = [path("naked/", naked_view, name="naked"), path("", include("privacy_portal.urls"))]
    sys.modules[module.__name__] = module
    try:
        with override_settings(ROOT_URLCONF=module.__name__):
            clear_url_caches()
            assert [r.name for r in undeclared(module.__name__)] == ["naked"]
    finally:
        del sys.modules[module.__name__]
        clear_url_caches()


def test_the_walk_finds_the_portal_routes():
    names = {r.name for r in ROUTES}
    assert {"home", "login", "staff_list", "staff_edit"} <= names


@pytest.mark.slow  # a walk over every protected route
@pytest.mark.django_db
@pytest.mark.parametrize(
    "route",
    # Public routes are excluded here and listed by name in test_public_views_are_the_expected_few.
    [r for r in ROUTES if r.namespace != ADMIN_NAMESPACE and r.rule is not None and r.rule.kind != "public"],
    ids=lambda r: r.pattern,
)
def test_anonymous_visitor_reaches_no_protected_view(client, route):
    for method in ("get", "post"):
        response = getattr(client, method)(route.sample_path())
        assert response.status_code in (302, 403, 404, 405), (route.pattern, method, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), response["Location"]


def test_public_views_are_the_expected_few():
    public = sorted(r.name for r in ROUTES if r.rule is not None and r.rule.kind == "public")
    assert public == sorted(PUBLIC_ROUTE_NAMES)


# Forms that only read (a POST because they take an uploaded file), named on purpose: an auditor
# uses them. tests/privacy_portal/test_promise_views.py shows each changes nothing.
POST_ONLY_READS = ["promise_report_verify"]

# Every login-free page, named. Adding one means adding it here, on purpose.
PUBLIC_ROUTE_NAMES = [
    "email_sendgrid_events",
    "login",
    "set_password",
    "unsubscribe",
    "sms_inbound",
    "sms_twilio",
    "sms_vonage",
    "sms_esendex",
    # The public's own door (requests/views/public.py): the forms, and the secure page, which
    # shows only the case its signed link names.
    "index",
    "complaint",
    "request",
    "verify",
    "resend",
    "case",
    "case_reply",
    "case_upload",
    "case_export",
    "dialler_screen",
    "deletion_confirm",
]


@pytest.mark.slow  # a walk over every admin route
@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.namespace == ADMIN_NAMESPACE and r.name != "login"], ids=lambda r: r.pattern
)
def test_anonymous_visitor_is_sent_to_admin_sign_in(client, route):
    response = client.get(route.sample_path())
    assert response.status_code in (302, 404), route.pattern
    if response.status_code == 302:
        assert response["Location"].startswith("/django-admin/"), response["Location"]
        if route.name != "logout":
            assert "/django-admin/login/" in response["Location"]


@pytest.mark.slow  # a walk over every route that changes something
@pytest.mark.django_db
@pytest.mark.parametrize(
    "route",
    # The sign-in flow (signed_in: sign-out, second factor) changes only the auditor's own session.
    [
        r
        for r in ROUTES
        if r.namespace != ADMIN_NAMESPACE
        and r.rule is not None
        and r.rule.kind in ("permission", "object")
        and r.name not in POST_ONLY_READS
    ],
    ids=lambda r: r.pattern,
)
def test_an_auditor_can_change_nothing_anywhere(client_for, auditor, route):
    """Auditors read everything and change nothing: every POST is refused (403, or 405 where
    the page only reads)."""
    from tests.factories import CaseFactory, CustomerFactory

    CustomerFactory.reset_sequence(1)
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    path = route.sample_path().replace("/1/", f"/{customer.pk}/")
    if route.pattern.startswith("cases/"):
        path = route.sample_path().replace("/1/", f"/{case.pk}/").replace("/x/", "/start/")
    client = client_for(auditor)
    response = client.post(path, {})
    assert response.status_code in (403, 405), (route.pattern, response.status_code)
