"""Signing in through the real form, in a real browser: homes, refusals, lockout, a clean CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

WRONG_PASSWORD = "not the password at all"

# Each role's own home page heading (templates/privacy_portal/home_<role>.html).
HOME_HEADINGS = {
    "agent": "Customer desk",
    "handler": "My cases",
    "dpo": "DPO dashboard",
    "auditor": "Audit",
    "itadmin": "Staff accounts",
}


def h1(page: Page):
    return page.get_by_role("heading", level=1)


def last_login_post(page: Page):
    """Wrap a form submission to catch the sign-in POST's response (and so its status)."""
    return page.expect_response(lambda r: r.url.endswith("/accounts/login/") and r.request.method == "POST")


@pytest.mark.parametrize("role", list(HOME_HEADINGS))
def test_each_role_signs_in_through_the_login_form_and_lands_on_its_own_home_page(
    role, request, page, live_server, sign_in
):
    user = request.getfixturevalue(role)  # alice_agent, hana_handler, ... from tests/conftest.py

    sign_in(page, user, PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(h1(page)).to_have_text(HOME_HEADINGS[role])
    expect(page.locator(".whoami")).to_contain_text(user.get_role_display())
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_agent_opening_the_it_admin_pages_is_refused(page, agent, sign_in):
    sign_in(page, agent)
    expect(h1(page)).to_have_text("Customer desk")
    # The agent's navigation does not even offer the staff pages.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff accounts")).to_have_count(0)

    response = page.goto("/staff/")

    assert response is not None
    assert response.status == 403
    expect(h1(page)).to_have_text("You do not have access to this page")
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.get_by_text(agent.username, exact=True)).to_have_count(0)


def test_five_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(page, agent, sign_in):
    page.goto("/accounts/login/")
    for attempt in range(1, 5):
        with last_login_post(page) as failed:
            sign_in(page, agent, WRONG_PASSWORD)
        assert failed.value.status == 401, f"attempt {attempt}"
        expect(h1(page)).to_have_text("Sign in")
        expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")

    with last_login_post(page) as fifth:
        sign_in(page, agent, WRONG_PASSWORD)
    assert fifth.value.status == 403
    expect(h1(page)).to_have_text("Account locked")
    expect(page.get_by_text("Too many failed sign-in attempts")).to_be_visible()

    page.goto("/accounts/login/")
    with last_login_post(page) as right_password:
        sign_in(page, agent, PASSWORD)
    assert right_password.value.status == 403
    expect(h1(page)).to_have_text("Account locked")
    # Not signed in: the home page sends the visitor back to the sign-in form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_the_sign_in_page_and_the_home_page_load_with_no_csp_violations_or_console_errors(
    page, dpo, sign_in, browser_problems, screenshot
):
    response = page.goto("/accounts/login/")
    assert response is not None
    assert response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    expect(h1(page)).to_have_text("Sign in")
    page.wait_for_load_state("networkidle")  # the page's own requests too (stylesheet, script, icon)
    # The stylesheet really applied (a blocked or missing one leaves the page unstyled).
    assert page.locator("header.topbar").evaluate("e => getComputedStyle(e).display") == "flex"
    screenshot(page, "sign-in-page")

    sign_in(page, dpo)

    expect(h1(page)).to_have_text("DPO dashboard")
    page.wait_for_load_state("networkidle")
    assert page.locator("header.topbar").evaluate("e => getComputedStyle(e).display") == "flex"
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    screenshot(page, "home-dpo")
    assert browser_problems.all() == []


def test_the_browser_problem_watcher_notices_an_inline_script_blocked_by_the_csp(page, browser_problems):
    """Guards the test above: if the listeners were broken, it would pass for nothing."""
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = true";
            document.body.append(s);
        }"""
    )

    # The report comes back from the page asynchronously; give it a moment (up to 20 s when loaded).
    for _ in range(200):
        if browser_problems.csp_violations and browser_problems.console_errors:
            break
        page.wait_for_timeout(100)

    assert page.evaluate("window.inlineRan === undefined"), "the inline script ran: no CSP?"
    assert any("script-src" in v for v in browser_problems.csp_violations), browser_problems
    assert any("Content Security Policy" in e for e in browser_problems.console_errors), browser_problems
