"""The public pages used with the keyboard alone, and at 200% zoom, in Chromium.

Keyboard: Tab reaches every field and button of each form in order (the honeypot never), each
with a visible focus ring; a form is filled in and sent with the keyboard only (Space ticks,
Enter sends); a form sent with errors puts the focus on its error summary, whose links lead to
the fields. Zoom: at 200% a 1280-pixel screen is 640 CSS pixels wide: no page scrolls sideways
and nothing is cut off at the right edge (screenshots in $E2E_SCREENSHOT_DIR).
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from requests.models import Case, Complaint
from requests.services import links
from tests.factories import CaseFactory

# Every element a keyboard user must reach: form controls and buttons, not the off-screen honeypot.
FOCUSABLE = "form input:not([type=hidden]):not([tabindex='-1']), form select, form textarea, form button"

# The element focused, as (tag, name or text, whether its focus ring is visible).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return {key: el.id || el.name || el.textContent.trim(), tag: el.tagName.toLowerCase(), ring: ring,
          summary: el.classList.contains("error-summary")};
}"""

# What Tab must reach, in page order: a radio group is one Tab stop (its checked button, or its
# first), the arrows moving within it.
KEYS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter((el) => el.offsetParent !== null)
  .filter((el) => el.type !== "radio" || el === (document.querySelector(`input[name="${el.name}"]:checked`)
                                                 || document.querySelector(`input[name="${el.name}"]`)))
  .map((el) => el.id || el.name || el.textContent.trim())"""


@pytest.fixture
def web_case(db):
    return CaseFactory(
        channel=Case.Channel.WEB_FORM,
        customer=None,
        requester_name="Kay Board",
        requester_email="kay@example.org",
        email_verified_at=timezone.now(),
        status=Case.Status.AWAITING_IDENTITY,
    )


def tab_through(page, limit: int = 80) -> list[dict]:
    """Press Tab from the top of the page until the focus leaves the last form; what was focused."""
    page.locator("body").click(position={"x": 1, "y": 1})
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (seen and focused["key"] == seen[0]["key"]):
            break
        seen.append(focused)
    return seen


def tab_to(page, key: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused and focused["key"] == key:
            return
    raise AssertionError(f"Tab never reached {key}")


@pytest.mark.parametrize("url", ["/p/complaint/", "/p/request/", "/p/request/new-link/", "secure"])
def test_tab_reaches_every_field_and_button_in_order_each_with_a_visible_focus_ring(page, web_case, url):
    page.goto(f"/p/case/{links.link_token(web_case)}/" if url == "secure" else url)
    expected = page.evaluate(KEYS, FOCUSABLE)
    assert expected, "no form found"
    focused = tab_through(page)
    keys = [f["key"] for f in focused]
    missing = [k for k in expected if k not in keys]
    assert missing == [], f"Tab never reaches {missing}"
    in_form = [k for k in keys if k in expected]
    assert in_form == [k for k in expected if k in in_form], "Tab order is not the page's order"
    assert all(f["ring"] for f in focused), [f["key"] for f in focused if not f["ring"]]
    assert "id_website" not in keys  # the honeypot is never reached


def test_a_complaint_is_filled_in_and_sent_with_the_keyboard_alone(page, screenshot):
    page.goto("/p/complaint/")
    page.locator("body").click(position={"x": 1, "y": 1})
    tab_to(page, "id_name")
    page.keyboard.type("Kay Board")
    tab_to(page, "id_email")
    page.keyboard.type("kay@example.org")
    tab_to(page, "id_category")
    page.keyboard.press("ArrowDown")  # a select changes with the arrows
    tab_to(page, "id_description")
    page.keyboard.type("Catalogues kept coming after I opted out.")
    tab_to(page, "Send my complaint")
    screenshot(page, "keyboard-complaint-before-enter")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("received")
    assert Complaint.objects.get().complainant_name == "Kay Board"


def test_a_request_right_is_ticked_with_space_and_sent_with_enter(page):
    page.goto("/p/request/")
    page.locator("body").click(position={"x": 1, "y": 1})
    tab_to(page, "id_rights_0")
    page.keyboard.press("Space")
    assert page.locator("#id_rights_0").is_checked()
    tab_to(page, "id_email")
    page.keyboard.type("kay@example.org")
    tab_to(page, "id_name")
    page.keyboard.type("Kay Board")
    page.keyboard.press("Enter")  # Enter in a text field sends its form
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")


@pytest.mark.parametrize(
    ("url", "button"), [("/p/complaint/", "Send my complaint"), ("/p/request/", "Send my request")]
)
def test_errors_put_the_focus_on_the_summary_whose_links_lead_to_the_fields(page, url, button, screenshot):
    page.goto(url)
    page.locator("body").click(position={"x": 1, "y": 1})
    tab_to(page, button)
    page.keyboard.press("Space")  # a button is pressed with Space as well as Enter
    page.wait_for_load_state()
    expect(page.locator(".error-summary")).to_be_focused()
    screenshot(page, f"keyboard-errors-{url.strip('/').replace('/', '-')}")
    links = page.locator(".error-summary a")
    assert links.count() >= 1
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert target.startswith("#") and len(target) > 1, target
        assert page.locator(target).count() == 1, f"{target} names no field"
    first = links.nth(0).get_attribute("href")
    page.keyboard.press("Tab")  # from the summary, into its first link
    page.keyboard.press("Enter")
    expect(page.locator(first)).to_be_focused()


@pytest.mark.parametrize(
    "url",
    ["/p/", "/p/complaint/", "/p/request/", "/p/request/new-link/", "secure", "/p/case/x/", "complaint-errors"],
)
def test_at_200_percent_zoom_no_page_scrolls_sideways_or_cuts_anything_off(page, web_case, url, screenshot):
    page.set_viewport_size({"width": 640, "height": 900})  # a 1280-pixel-wide window at 200%
    if url == "secure":
        page.goto(f"/p/case/{links.link_token(web_case)}/")
    elif url == "complaint-errors":
        page.goto("/p/complaint/")
        page.get_by_role("button", name="Send my complaint").click()
        expect(page.locator(".error-summary")).to_be_visible()  # the POST's answer, not the form it left
    else:
        page.goto(url)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{url} scrolls sideways by {overflow}px"
    cut = page.evaluate(
        """() => Array.from(document.querySelectorAll("main *, header *, footer *"))
          .filter((el) => el.offsetParent !== null && !el.closest(".hp, .skip-link, .visually-hidden"))
          .filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && (r.right > document.documentElement.clientWidth + 1 || r.left < -1);
          })
          .map((el) => el.tagName + (el.id ? "#" + el.id : "") + " " + el.textContent.trim().slice(0, 30))"""
    )
    assert cut == [], f"{url}: cut off at 640px: {cut[:5]}"
    screenshot(page, f"zoom-200-{url.strip('/').replace('/', '-') or 'index'}")
