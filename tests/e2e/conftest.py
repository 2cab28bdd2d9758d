"""Browser journeys: Debian's Chromium (through pytest-playwright) against `live_server`.

Every test here is marked `e2e`. Using `page` starts the live server, which makes the
test transactional: the database is flushed after it, Group rows included, so the role
groups are put back before each test (`_role_groups`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import ConsoleMessage, Page, expect

from privacy_portal.models import User
from privacy_portal.roles import Role, group_name, sync_role_groups
from tests.factories import PASSWORD

E2E_DIR = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"

# Failed steps fail fast instead of waiting Playwright's default 30 seconds. The assertions wait as
# long as the actions: `expect(...)` has a default of its own (5 s), which a page answering a
# click on a loaded machine (the suite's two workers and a browser each on two cores) could miss.
ACTION_TIMEOUT_MS = 10_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, so keep to the ones in this folder.
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make chromium` (Playwright's own download fails here).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Relative URLs in `page.goto("/...")` go to the live server."""
    return live_server.url


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir(pytestconfig: pytest.Config) -> None:
    """pytest-playwright empties the output folder (test-results/) when a session starts.

    Under xdist every worker is a session, so one worker would delete what the other has
    just saved; there, leave the folder alone (screenshots keep stable names and are
    overwritten).
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    shutil.rmtree(pytestconfig.getoption("--output"), ignore_errors=True)


@pytest.fixture(autouse=True)
def _role_groups(transactional_db) -> None:
    """Recreate the role groups (normally made by a data migration) that the flush deletes."""
    sync_role_groups(Group, Permission)
    assert Group.objects.filter(name__in=[group_name(r) for r in Role.values]).count() == len(Role.values)


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    return page


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """`sign_in(page, user, password)`: fill in and submit the real sign-in form.

    Does not check the outcome: each test says what it expects to see next.
    """

    def _sign_in(page: Page, user: User | str, password: str = PASSWORD) -> None:
        username = user if isinstance(user, str) else user.username
        if not page.url.endswith("/accounts/login/"):
            page.goto("/accounts/login/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return _sign_in


@pytest.fixture
def screenshot(pytestconfig: pytest.Config) -> Callable[..., Path]:
    """`screenshot(page, "name")` saves the whole page as PNG under $E2E_SCREENSHOT_DIR
    (default /tmp/privacy-portal-screenshots): outside pytest-playwright's --output folder,
    which every pytest run empties at start."""
    folder = Path(os.environ.get("E2E_SCREENSHOT_DIR", "/tmp/privacy-portal-screenshots"))

    def _screenshot(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _screenshot


# Reports Content-Security-Policy violations from inside the page, on every page visited.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || e.documentURI}:${e.lineNumber}`
  );
});
"""


@dataclass
class BrowserProblems:
    """What went wrong in the browser while a test ran: console errors, uncaught errors, CSP."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *(f"CSP: {v}" for v in self.csp_violations)]


@pytest.fixture
def browser_problems(page: Page) -> BrowserProblems:
    """Listens from before the first navigation; a clean journey ends with `browser_problems.all() == []`."""
    problems = BrowserProblems()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.expose_function("__reportCspViolation", lambda violation: problems.csp_violations.append(violation))
    page.add_init_script(_CSP_REPORTER)
    return problems
