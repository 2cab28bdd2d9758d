"""Templates decide nothing: no access rule (`perms.`), no figure with a unit of time typed in,
and no choice of what to offer by an object's status, state, right or kind.

Who may do what comes from the access modules (`may.<name>`: privacy_portal.context_processors
over privacy_portal/access.py, customers/access.py, requests/access.py, or a page's own
`may_*` booleans); every period shown comes from privacy_portal/legal.py (`legal.<NAME>`) or a
named constant the page is given, so a figure changed in one place changes on every page; the
actions a page offers come from requests.services.workflow (`actions.<name>`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import RequestFactory

from privacy_portal.context_processors import ABILITIES, Abilities, UnknownAbility, abilities, legal_figures
from tests.fixtures.figures import figures_in

TEMPLATES = Path(settings.BASE_DIR) / "templates"
TAG = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))


def _text(path: Path) -> str:
    """What the template types itself: its tags and variables taken out."""
    return TAG.sub(" ", path.read_text())


def test_the_templates_are_found():
    assert len(_template_files()) > 50


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_checks_a_permission(path):
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if "perms." in line]
    assert lines == [], f"{path.name} lines {lines}: ask `may.<name>` (an access module) instead of perms."


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_types_a_period(path):
    assert figures_in(_text(path)) == [], f"{path.name}: show {{{{ legal.NAME }}}} (privacy_portal/legal.py)"


@pytest.mark.parametrize(
    "text", ["within 7 days", "6 weeks", "kept for 6 months", "72 hours", "the 72-hour clock", "one calendar month"]
)
def test_the_rule_sees_a_typed_figure(text):
    assert figures_in(text) != []


def test_the_rule_leaves_a_figure_from_legal_alone(tmp_path):
    path = tmp_path / "t.html"
    path.write_text("within {{ legal.OPT_OUT_DAYS_EMAIL }} days; {% if x %}6 weeks{% endif %}")
    assert figures_in(_text(path)) == ["6 weeks"]


def test_a_figure_reaches_the_page_from_legal():
    page = Template("within {{ legal.OPT_OUT_DAYS_EMAIL }} days").render(Context(legal_figures(None)))
    assert page == f"within {legal_figures(None)['legal'].OPT_OUT_DAYS_EMAIL} days"


def test_abilities_answer_by_the_access_modules(db):
    from django.contrib.auth.models import AnonymousUser

    from privacy_portal.models import User
    from tests.factories import UserFactory

    user = UserFactory(role=User.Role.AGENT)  # logs requests, has no queue, never reads the breach register
    request = RequestFactory().get("/")
    request.user = user
    may = abilities(request)["may"]
    assert may["log_requests"] is True
    assert may["follow_logged_requests"] is True
    assert may["open_queue"] is False
    assert may["read_all_breaches"] is False
    assert Abilities(AnonymousUser())["find_customers"] is False


def test_an_unknown_ability_fails_the_page_instead_of_hiding_a_button():
    with pytest.raises(UnknownAbility):
        Template("{% if may.fly %}x{% endif %}").render(Context({"may": Abilities(None)}))


def test_no_ability_is_named_twice():
    from customers.access import ABILITIES as CUSTOMERS
    from privacy_portal.access import ABILITIES as PORTAL
    from requests.access import ABILITIES as REQUESTS

    assert len(ABILITIES) == len(CUSTOMERS) + len(PORTAL) + len(REQUESTS)


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_ability_a_template_asks_for_exists(path):
    asked = set(re.findall(r"\bmay\.([a-z_]+)", path.read_text()))
    assert asked <= set(ABILITIES), asked - set(ABILITIES)


# What a page offers comes from the workflow core (requests.services.workflow's *_actions) and
# the access modules, never from a template comparing an object's status, state, right or kind
# (or asking whether it is open) itself. A comparison that only chooses how a fact is shown is
# listed here, exactly as written, with its reason.
DISPLAY_ONLY = {
    ("customers/screening.html", 'screening.status == "done"'): "the result's summary, not an action",
    ("customers/screening.html", 'screening.status == "failed"'): "the failure's message",
    ("customers/screening.html", 'screening.status == "queued"'): "the progress line's wording",
    ("customers/screenings.html", 's.status == "done"'): "the list's status column (the download is s.downloadable)",
    ("customers/screenings.html", 's.status == "failed"'): "the list's status column",
    ("privacy_portal/_promise_report.html", 'o.status == "kept"'): "the badge's colour and words",
    ("privacy_portal/_promise_report.html", 'o.status == "broken"'): "the badge's colour and words",
    ("privacy_portal/_promise_report.html", 'o.status == "not_measurable"'): "the reason it is shown",
    ("requests/case.html", 'case.status == "refused"'): "the refusal's facts among the request's facts",
    ("requests/case.html", 'er.status == "queued"'): "an export request's progress, in words",
    ("requests/case.html", 'er.status == "running"'): "an export request's progress, in words",
    ("requests/case.html", 'er.status == "failed"'): "an export request's failure, in words",
    ("public/case.html", "not case.is_open"): "the closed request's notice (the forms are actions.reply ...)",
}
IF_TAG = re.compile(r"{%\s*(?:if|elif)\b(.*?)%}", re.DOTALL)
_VALUE = r"""(?:"[^"]*"|'[^']*'|[\w.]+)"""
_FIELD = r"[\w.]+\.(?:status|state|right|kind)\b"
CHOICE = re.compile(
    rf"(?:not\s+)?[\w.]+\.is_open\b"
    rf"|{_FIELD}\s*(?:==|!=|not\s+in\b|in\b)\s*{_VALUE}"
    rf"|{_VALUE}\s*(?:==|!=)\s*{_FIELD}"
)


def choices_by_status(source: str) -> list[str]:
    """Each comparison of an object's status, state, right or kind (and each test of `.is_open`) in
    the `{% if %}` / `{% elif %}` tags of `source`, as written."""
    return [
        " ".join(match.group(0).split()) for tag in IF_TAG.finditer(source) for match in CHOICE.finditer(tag.group(1))
    ]


def test_the_rule_sees_a_choice_made_by_status():
    source = (
        '{% if case.status == "in_progress" %}a{% elif complaint.state != "x" %}b{% endif %}'
        '{% if case.right in rights and ok %}c{% endif %}{% if "erasure" == case.right %}d{% endif %}'
        "{% if not breach.is_open %}e{% endif %}{% if actions.fulfil %}f{% endif %}"
        "{% if doc.deleted_at %}{% elif may or doc.kind not in sensitive_kinds %}h{% endif %}"
        '{% if state == "met" %}g{% endif %}{{ case.status }}'
    )
    assert choices_by_status(source) == [
        'case.status == "in_progress"',
        'complaint.state != "x"',
        "case.right in rights",
        '"erasure" == case.right',
        "not breach.is_open",
        "doc.kind not in sensitive_kinds",
    ]


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_chooses_what_to_offer_by_status(path):
    name = path.relative_to(TEMPLATES).as_posix()
    found = [c for c in choices_by_status(path.read_text()) if (name, c) not in DISPLAY_ONLY]
    assert found == [], (
        f"{name}: {found}: offer what requests.services.workflow's *_actions (or a may_* predicate) says"
    )


def test_every_display_only_choice_is_still_there():
    stale = [key for key in DISPLAY_ONLY if key[1] not in choices_by_status((TEMPLATES / key[0]).read_text())]
    assert stale == [], f"no longer in the template: drop them from DISPLAY_ONLY: {stale}"
