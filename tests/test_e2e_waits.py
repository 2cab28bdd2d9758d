"""Browser journeys wait for a click's answer before they look behind the page's back.

A click on a submit button starts a navigation; the next line of the test runs at once. If that
line reads the database, reloads, or evaluates script in the page, it races the POST: CI failed
three times on this ("Page.reload: Not attached to an active page", a null documentElement, an
ORM read before the row was committed). The rule, kept here for every journey: the statement
after a click or a key press that may submit is not one of those reads; wait first with
``expect(...)`` on what the answer shows (a heading, a status, an error summary).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

E2E = Path(__file__).parent / "e2e"
SUBMITTING_KEYS = {"Enter", "Space", " "}
RACING_ATTRS = {"evaluate", "reload", "content", "refresh_from_db", "objects", "url"}


def _acts(stmt: ast.stmt) -> bool:
    """A click, or pressing a key that may submit a form."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in {"click", "dblclick"}:
        return True
    if func.attr == "press" and stmt.value.args:
        arg = stmt.value.args[-1]
        return isinstance(arg, ast.Constant) and arg.value in SUBMITTING_KEYS
    return False


def _races(stmt: ast.stmt) -> str | None:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Attribute) and node.attr in RACING_ATTRS:
            if node.attr == "url" and not (isinstance(node.value, ast.Name) and node.value.id == "page"):
                continue  # live_server.url is not the page's
            return node.attr
    return None


def _bodies(tree: ast.AST):
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def races_in(source: str, name: str) -> list[str]:
    found = []
    for body in _bodies(ast.parse(source)):
        for act, after in itertools.pairwise(body):
            if _acts(act) and (attr := _races(after)):
                found.append(f"{name}:{after.lineno}: .{attr} straight after the action on line {act.lineno}")
    return found


def test_no_journey_reads_the_page_or_database_straight_after_a_click():
    files = sorted(E2E.glob("*.py"))
    assert files, "no browser journeys found"
    found = [hit for f in files for hit in races_in(f.read_text(), f.name)]
    assert found == [], "wait for the answer (expect ...) first:\n" + "\n".join(found)


def test_the_rule_catches_the_shapes_that_failed_in_ci():
    bad = (
        "def t(page):\n"
        "    page.get_by_role('button', name='Send').click()\n"
        "    page.evaluate('() => 1')\n"
        "    page.keyboard.press('Enter')\n"
        "    case = Case.objects.get()\n"
        "    page.locator('x').click()\n"
        "    page.reload()\n"
    )
    assert len(races_in(bad, "bad.py")) == 3
    good = (
        "def t(page):\n"
        "    page.get_by_role('button', name='Send').click()\n"
        "    expect(page.locator('.error-summary')).to_be_visible()\n"
        "    page.evaluate('() => 1')\n"
        "    page.keyboard.press('Tab')\n"
        "    page.reload()\n"
    )
    assert races_in(good, "good.py") == []
