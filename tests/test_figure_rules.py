"""No period is typed into the text the code shows: every figure with a unit of time in a message,
an email, a label, a help text or the promise register comes from its one home (a legal figure
from privacy_portal/legal.py, a working window or a security limit from its named constant), by an
f-string, so a figure changed there changes in every text. The templates have the same rule
(tests/privacy_portal/test_template_rules.py).

Left alone: docstrings and comments (they explain), privacy_portal/legal.py itself, migrations
(frozen history), a source's own words quoted (“…”, or a register entry's `notice=`, the privacy
notice's text), and the few ALLOWED below, each with its reason."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.fixtures.figures import figures_in

ROOT = Path(__file__).resolve().parent.parent
APPS = ("privacy_portal", "customers", "requests")
MODULES = [
    path
    for app in APPS
    for path in sorted((ROOT / app).rglob("*.py"))
    if "migrations" not in path.relative_to(ROOT).parts
    and path.relative_to(ROOT).as_posix() != "privacy_portal/legal.py"
]
QUOTED = re.compile(r"“[^”]*”")
# (module, figure as typed): why it stays typed.
ALLOWED = {
    ("privacy_portal/retention.py", "One day"): "the public form's unverified submissions are kept "
    "requests.services.public.UNVERIFIED_KEPT_HOURS; the core's schedule names that service by its dotted path "
    "and does not import it",
    ("privacy_portal/retention.py", "12 months"): "NCSC logging guidance's range (6-12 months), cited",
}


def _quoted_sources(tree: ast.AST) -> set[int]:
    """The string nodes that are docstrings or a register entry's `notice=` (the notice's words)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
        if isinstance(node, ast.keyword) and node.arg == "notice":
            skipped.update(id(inner) for inner in ast.walk(node.value))
    return skipped


def typed_figures(source: str) -> list[tuple[int, str]]:
    """(line, figure) for each period typed into a string of `source` outside what is left alone."""
    tree = ast.parse(source)
    skipped = _quoted_sources(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            found.extend((node.lineno, figure) for figure in figures_in(QUOTED.sub(" ", node.value)))
    return sorted(found)


def test_the_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert {"privacy_portal/promises/register.py", "requests/services/breaches.py", "requests/forms/cases.py"} <= names
    assert not any("migrations" in name or name == "privacy_portal/legal.py" for name in names)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_string_types_a_period(path):
    module = path.relative_to(ROOT).as_posix()
    typed = [(line, figure) for line, figure in typed_figures(path.read_text()) if (module, figure) not in ALLOWED]
    assert typed == [], f"{module}: {typed}: an f-string from privacy_portal/legal.py (or the figure's own constant)"


def test_every_allowed_figure_is_still_there():
    for module, figure in ALLOWED:
        assert figure in [f for _, f in typed_figures((ROOT / module).read_text())], (module, figure)


@pytest.mark.parametrize(
    "source",
    [
        'ERR = "This report is after the 72 hours (due {due})."',
        'label = "Due within 7 days"',
        'ERR = "the law allows one extension of up to two months."',
        'Check(title="Complaints acknowledged within 30 days", notice="a quote")',
        'x = f"{legal.X} days, or 6 weeks"',
        'help = "the 72-hour clock"',
    ],
)
def test_the_rule_sees_a_typed_period(source):
    assert typed_figures(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'x = f"within {legal.OPT_OUT_DAYS_EMAIL} days"',
        'def f():\n    """Kept 6 months."""\n',
        "# kept 6 months\nx = 1",
        'Check(notice="kept for 6 months and then securely deleted")',
        'SOURCE = "“call recordings and transcriptions are kept for 6 months”; the stores are asked"',
    ],
)
def test_the_rule_leaves_figures_from_their_home_docstrings_and_quotes_alone(source):
    assert typed_figures(source) == []
