"""A row lock is taken inside a transaction: every public function of the apps that calls
select_for_update() is @transaction.atomic (or a @transition step), opens `transaction.atomic()`
itself, or says in its docstring that it runs inside its caller's transaction.

Without the transaction Django refuses the lock at run time ("select_for_update cannot be used
outside of a transaction"), and the suite cannot see it: every test runs inside a transaction.
The export build lost its decorator in a refactor (an edit put a new function between
`@transaction.atomic` and `def export_build`) and only the case bench, outside the suite's
transactions, failed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("privacy_portal", "customers", "requests", "demo")


def unlocked(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
            continue
        body = ast.unparse(node)
        if "select_for_update" not in body:
            continue
        decorators = " ".join(ast.unparse(d) for d in node.decorator_list)
        docstring = ast.get_docstring(node) or ""
        if "atomic" in decorators or "transition" in decorators or "atomic(" in body or "transaction" in docstring:
            continue
        found.append(f"{name}:{node.lineno} {node.name}")
    return found


def test_every_public_function_that_locks_a_row_runs_in_a_transaction():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found += unlocked(path.read_text(), str(path.relative_to(ROOT)))
    assert found == [], "select_for_update outside a transaction:\n" + "\n".join(found)


def test_the_rule_catches_a_lock_without_a_transaction():
    bad = (
        "@transaction.atomic\n"
        "def other():\n"
        "    pass\n\n"
        "def export_build(*, case):\n"
        "    return Case.objects.select_for_update().get(pk=case.pk)\n"
    )
    assert unlocked(bad, "bad.py") == ["bad.py:5 export_build"]
    good = (
        "@transaction.atomic\n"
        "def export_build(*, case):\n"
        "    return Case.objects.select_for_update().get(pk=case.pk)\n\n"
        "def lock(obj):\n"
        '    """Must run inside a transaction."""\n'
        "    return type(obj).objects.select_for_update().get(pk=obj.pk)\n\n"
        "def _helper(obj):\n"
        "    return type(obj).objects.select_for_update().get(pk=obj.pk)\n"
    )
    assert unlocked(good, "good.py") == []
