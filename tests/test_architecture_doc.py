"""ARCHITECTURE.md names the one home of each kind of thing: every path and every dotted name it
gives must exist, so the page cannot go on pointing at a module that was moved or removed. And the
URLs have the homes it names: only an app's urls.py or public_urls.py declares routes."""

from __future__ import annotations

import ast
import importlib
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "ARCHITECTURE.md").read_text()
# Backticked tokens: paths (`customers/subject.py`, `bench/`) and dotted names
# (`privacy_portal.audit.chain_pending`).
TOKEN = re.compile(r"`([A-Za-z0-9_.\-/]+)`")
APPS = ("privacy_portal", "customers", "requests")


def named_paths() -> list[str]:
    return [t for t in TOKEN.findall(DOC) if "/" in t and not t.startswith("/")]  # "/p/" is a URL


def named_objects() -> list[str]:
    return [t for t in TOKEN.findall(DOC) if "/" not in t and t.split(".")[0] in APPS and "." in t]


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_architecture_md_names_the_homes_by_path():
    assert len(named_paths()) > 30


def test_every_path_named_in_architecture_md_exists():
    assert [p for p in named_paths() if not (ROOT / p).exists()] == []


def test_every_dotted_name_in_architecture_md_resolves():
    assert [name for name in named_objects() if not resolves(name)] == []


def test_the_readme_links_to_architecture_md():
    assert "(ARCHITECTURE.md)" in (ROOT / "README.md").read_text()


# The only modules that may call django.urls.path()/re_path() or define `urlpatterns`.
URLCONFS = {"privacy_portal/urls.py", *(f"{app}/{name}" for app in APPS for name in ("urls.py", "public_urls.py"))}
ROUTE_FUNCTIONS = {"path", "re_path"}
SKIPPED_DIRS = {"tests", "migrations", "node_modules", "__pycache__"}


def project_modules() -> list[tuple[str, str]]:
    """Every Python module of the project (relative path, source) but tests and migrations."""
    found = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if name.endswith(".py"):
                path = Path(directory, name)
                found.append((path.relative_to(ROOT).as_posix(), path.read_text()))
    return found


def route_declarations(source: str) -> list[str]:
    """Where a module calls django.urls.path()/re_path() (however imported) or assigns `urlpatterns`."""
    tree = ast.parse(source)
    bare: set[str] = set()  # local names bound to path/re_path: `from django.urls import path as p`
    modules: set[str] = set()  # dotted names bound to django.urls: `import django.urls`, `from django import urls`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.urls":
            bare |= {a.asname or a.name for a in node.names if a.name in ROUTE_FUNCTIONS}
        elif isinstance(node, ast.ImportFrom) and node.module == "django":
            modules |= {a.asname or a.name for a in node.names if a.name == "urls"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "django.urls"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in bare:
                found.append(f"{node.lineno}: {func.id}()")
            elif (
                isinstance(func, ast.Attribute) and func.attr in ROUTE_FUNCTIONS and ast.unparse(func.value) in modules
            ):
                found.append(f"{node.lineno}: {ast.unparse(func)}()")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for name in ast.walk(target):
                if (isinstance(name, ast.Name) and name.id == "urlpatterns") or (
                    isinstance(name, ast.Attribute) and name.attr == "urlpatterns"
                ):
                    found.append(f"{node.lineno}: urlpatterns")
    return sorted(found, key=lambda line: (int(line.split(":")[0]), line))


def test_the_route_check_sees_every_way_of_declaring_a_route():
    planted = """
import django.urls
import django.urls as du
from django import urls
from django.urls import path as p, re_path
urlpatterns = []
urlpatterns += [p("a/", v)]
module.urlpatterns = [re_path("^b/$", v)]
routes: list = [django.urls.path("c/", v), du.re_path("d", v), urls.path("e/", v)]
"""
    assert route_declarations(planted) == [
        "6: urlpatterns",
        "7: p()",
        "7: urlpatterns",
        "8: re_path()",
        "8: urlpatterns",
        "9: django.urls.path()",
        "9: du.re_path()",
        "9: urls.path()",
    ]


def test_the_route_check_leaves_other_paths_alone():
    innocent = "import os\nfrom pathlib import Path\npath = os.path.join('a', 'b')\nprivate_path(path)\nPath(path)\n"
    assert route_declarations(innocent) == []


def test_the_route_check_walks_the_project_and_sees_the_urlconfs():
    modules = dict(project_modules())
    assert "customers/views/desk.py" in modules and "demo/management/commands/seed_demo.py" in modules
    assert not any(name.startswith(("tests/", ".venv/")) or "/migrations/" in name for name in modules)
    assert {name for name, source in modules.items() if route_declarations(source)} == URLCONFS & set(modules)


def test_only_the_urlconfs_declare_routes():
    found = {
        name: lines
        for name, source in project_modules()
        if name not in URLCONFS and (lines := route_declarations(source))
    }
    assert found == {}, "routes belong in the app's urls.py (or public_urls.py for the public door)"


def test_architecture_md_names_every_urlconf():
    assert [name for name in sorted(URLCONFS) if (ROOT / name).exists() and f"`{name}`" not in DOC] == []
