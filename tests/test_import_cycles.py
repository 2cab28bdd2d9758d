"""No import cycle between the project's modules, beyond the commented allow-list below.

Reads every module of privacy_portal, customers and requests (migrations aside) with `ast`,
takes each import in it, at the top or inside a function (an import moved into a function to
dodge a cycle is still a cycle in the design), resolves it to a project module (`from .x import
y` to `x.y` when that is a module, else to `x`), and finds the strongly connected components of
that graph. Imports under `if TYPE_CHECKING:` are left out: they never run.

One rule for Celery tasks (the HackSoft styleguide's pattern): a service enqueues its task, so it
imports the `tasks` module at the top; the task runs the service, and imports it inside the task's
body. Those imports inside the functions of a module named `tasks` are left out: a task is called
by the worker, by name, never by project code, so the only direction that matters is service ->
task. Every other function-level import counts, and so does any top-level import of a tasks module.

A dotted string naming a project module, or a name in one (`import_string("customers.services.
retention.purge_x")`, as the retention schedule runs its services), is an import made at run time
and counts too; an app's bare label ("customers.view_customer" is a permission) does not. The
settings module is left out of that rule: it names Django's entry points (the WSGI application,
the URLconf, middleware) by string, by design, and no project code imports it.

A cycle that is not in ALLOWED fails, and so does an entry of ALLOWED that is no longer a cycle:
the list only shrinks, to empty (issue 13, item 3).

Imports belong at the top of their module (issue 13, item 3): an import statement inside a
function, of a project module, a third-party or a standard library one, fails unless a `#`
comment on its line or on the line directly above says why it stays there. Consecutive imports
under one comment share it (a block of them, nothing but blank lines between, as isort's
sections are). Valid reasons:
AppConfig.ready() importing models, signal or check modules (the app registry must be ready),
a heavy library only the rare path needs (the PDF renderer), code that runs before Django is
set up (the Celery app, imported by the package before settings), a development-only
dependency. "To avoid an import cycle" is not one: the test above forbids cycles, function-level
or not. The Celery tasks' imports of the project service they run, inside a task of a `tasks`
module, are left out, as above; their other imports are not.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("privacy_portal", "customers", "requests", "demo")

# Each entry would be one strongly connected component, with what would break it. Empty since
# issue 13: the list only shrinks, so it stays empty.
ALLOWED: dict[frozenset[str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            for statement in node.body:
                skipped.update(id(n) for n in ast.walk(statement))
    return skipped


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The project module `name` is, or is inside of (None outside the project)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _inside_functions(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in node.body:
                inside.update(id(n) for n in ast.walk(statement))
    return inside


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped = _type_checking_only(tree)
    if name.rpartition(".")[2] == "tasks":  # a task imports the service it runs in its body
        skipped |= _inside_functions(tree)
    targets: set[str | None] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(_owner(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                targets.add(sub if sub in known else _owner(module, known))
    if name.rpartition(".")[2] != "settings":
        targets.update(_named_by_strings(tree, known))
    return {t for t in targets if t is not None and t != name}


def _named_by_strings(tree: ast.AST, known: dict[str, Path]) -> set[str]:
    """The project modules that string constants name (a module, or a name inside one)."""
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
            for candidate in (node.value, node.value.rpartition(".")[0]):
                if candidate in known and "." in candidate:  # an app's bare label names no module
                    named.add(candidate)
                    break
    return named


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == {frozenset({"a", "b", "c"})}


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path):
    known = {"app.one": tmp_path / "one.py", "app.two": tmp_path / "two.py"}
    known["app.one"].write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .two import X\ndef f():\n    from . import two\n"
    )
    assert _imports("app.one", known["app.one"], known) == {"app.two"}


def test_a_tasks_module_s_imports_inside_its_tasks_do_not_count_and_its_top_level_ones_do(tmp_path):
    known = {"app.tasks": tmp_path / "tasks.py", "app.one": tmp_path / "one.py", "app.two": tmp_path / "two.py"}
    known["app.tasks"].write_text("from . import two\ndef run():\n    from . import one\n")
    assert _imports("app.tasks", known["app.tasks"], known) == {"app.two"}


def test_a_dotted_string_naming_a_function_of_a_project_module_counts_and_a_permission_does_not(tmp_path):
    known = {"app": tmp_path / "app.py", "app.one": tmp_path / "one.py", "app.two": tmp_path / "two.py"}
    known["app.one"].write_text('SERVICE = "app.two.purge"\nPERM = "app.view_thing"\n')
    assert _imports("app.one", known["app.one"], known) == {"app.two"}


@pytest.mark.slow  # a walk over every module's imports
def test_no_import_cycle_outside_the_allow_list():
    found = cycles(import_graph())
    new = [sorted(c) for c in found if c not in ALLOWED]
    assert not new, f"import cycles not in ALLOWED (break them; never widen the list): {new}"
    gone = [sorted(c) for c in ALLOWED if c not in found]
    assert not gone, f"no longer a cycle: remove from ALLOWED (the list only shrinks): {gone}"


def _comment_lines(source: str) -> tuple[set[int], set[int]]:
    """The lines holding a `#` comment, and those holding nothing else (tokenized, so a `#`
    inside a string is no comment)."""
    lines = source.splitlines()
    anywhere = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    return anywhere, {n for n in anywhere if lines[n - 1].lstrip().startswith("#")}


def _project_target(node: ast.Import | ast.ImportFrom, package: str, known: dict[str, Path]) -> bool:
    if isinstance(node, ast.ImportFrom) and node.level:
        return True
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
    return all(_owner(name, known) is not None for name in names)


def unexplained_function_imports(name: str, path: Path, known: dict[str, Path]) -> list[str]:
    """`path:line` of each import inside a function with no comment saying why it is there."""
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    comments, comment_only = _comment_lines(source)
    lines = source.splitlines()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped = _type_checking_only(tree)
    is_tasks = name.rpartition(".")[2] == "tasks"
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for body in _bodies(function):
            block_ends = 0  # the last line of a commented import just before this one, or 0
            for statement in body:
                if not isinstance(statement, ast.Import | ast.ImportFrom) or id(statement) in skipped:
                    block_ends = 0
                    continue
                last = statement.end_lineno or statement.lineno
                if (
                    set(range(statement.lineno, last + 1)) & comments
                    or statement.lineno - 1 in comment_only
                    or (block_ends and _blank_between(lines, block_ends, statement.lineno))
                ):
                    block_ends = last
                    continue
                block_ends = 0
                if not (is_tasks and _project_target(statement, package, known)):
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                    found.append(f"{where}:{statement.lineno}")
    return found


def _blank_between(lines: list[str], after: int, before: int) -> bool:
    """Nothing but blank lines between line `after` and line `before` (isort's sections)."""
    return all(not line.strip() for line in lines[after : before - 1])


def _bodies(function: ast.AST) -> list[list[ast.stmt]]:
    """The statement lists directly inside `function` (its body, its if/try/with/for blocks), not
    those of a function nested in it (ast.walk reaches that one on its own)."""
    bodies = []
    pending: list[ast.AST] = [function]
    while pending:
        node = pending.pop()
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            statements = [item for item in block if isinstance(item, ast.stmt)]
            if statements:
                bodies.append(statements)
            for item in block:
                if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                    pending.append(item)
    return bodies


def test_an_import_inside_a_function_needs_a_comment_saying_why(tmp_path):
    known = {"app.one": tmp_path / "one.py", "app.two": tmp_path / "two.py"}
    known["app.one"].write_text(
        "def f():\n"
        "    import re\n"  # 2: no comment
        "    s = '# not a comment'\n"
        "    from . import two; x = 1\n"  # 4: no comment (the line above holds a string)
        "    # the renderer is heavy and only this path needs it\n"
        "    from a import b\n"  # 6: explained above
        "    from a import (\n"  # 7: explained by the block above
        "        c,\n"
        "    )\n"
        "\n"
        "    from a import d\n"  # 11: still the block (isort's sections are a blank line apart)
        "    x = 2\n"
        "    from a import e\n"  # 13: a statement ended the block
        "    if x:\n"
        "        def g():\n"
        "            import json  # only g needs it\n"  # 16: explained on its line
        "        import csv\n"  # 17: no comment (line 16's is not on the line above)
    )
    found = unexplained_function_imports("app.one", known["app.one"], known)
    assert found == ["one.py:2", "one.py:4", "one.py:13", "one.py:17"]


def test_a_task_s_import_of_the_project_service_it_runs_needs_no_comment_and_others_do(tmp_path):
    known = {"app.tasks": tmp_path / "tasks.py", "app.one": tmp_path / "one.py"}
    known["app.tasks"].write_text("def run():\n    from . import one\n    from app.one import x\n    import json\n")
    assert unexplained_function_imports("app.tasks", known["app.tasks"], known) == ["tasks.py:4"]


def test_every_import_inside_a_function_says_why_it_is_not_at_the_top():
    known = _modules()
    found = [where for name, path in sorted(known.items()) for where in unexplained_function_imports(name, path, known)]
    assert not found, (
        f"{len(found)} imports inside functions with no comment saying why (move them to the top of "
        f"the module, or say on or above the line why they cannot be there): {found}"
    )
