"""The tests' own habits, kept by reading their source (ARCHITECTURE.md, "Tests"): one sign-in
idiom (`client_for(user)` from tests/conftest.py; the sign-in form only through
tests/fixtures/sign_in.py, for the tests of sign-in itself), and no message constant (`ERR_*`,
`MSG_*`) that nothing shows or asserts."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PRODUCT = ("privacy_portal", "customers", "requests", "demo")
# tests/conftest.py is the idiom itself. sqlite_demo_walk.py is a script the local-demo test runs
# in a subprocess against a SQLite database, outside pytest, so it has no fixtures to ask.
SIGNS_IN_ITSELF = {TESTS / "conftest.py", TESTS / "privacy_portal" / "sqlite_demo_walk.py"}
SIGN_IN_FORM = TESTS / "fixtures" / "sign_in.py"


def force_logins(source: str) -> list[int]:
    """The lines of `source` that sign a client in by hand (`.force_login(...)`, `.login(...)`)."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("force_login", "login")
    )


def sign_in_posts(source: str) -> list[int]:
    """The lines of `source` that post the sign-in form (`.post(reverse("login"), ...)`)."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "post"
        and node.args
        and isinstance(node.args[0], ast.Call)
        and getattr(node.args[0].func, "id", "") == "reverse"
        and node.args[0].args
        and isinstance(node.args[0].args[0], ast.Constant)
        and node.args[0].args[0].value == "login"
    )


def _modules():
    return sorted(path for path in TESTS.rglob("*.py") if path != Path(__file__).resolve())


def test_every_test_signs_in_with_client_for():
    found = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in _modules()
        if path not in SIGNS_IN_ITSELF
        for line in force_logins(path.read_text())
    ]
    assert not found, f"sign in with client_for(user) (tests/conftest.py), not by hand: {found}"


def test_the_sign_in_form_is_posted_by_one_helper():
    found = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in _modules()
        if path != SIGN_IN_FORM
        for line in sign_in_posts(path.read_text())
    ]
    assert not found, f"post the sign-in form with tests.fixtures.sign_in.sign_in: {found}"


def test_a_hand_made_sign_in_is_found():
    source = 'def test_x(client, agent):\n    client.force_login(agent)\n    client.login(username="a")\n'
    assert force_logins(source) == [2, 3]
    assert force_logins("def test_x(client_for, agent):\n    client_for(agent).get('/')\n") == []
    posted = 'def sign_in(client):\n    return client.post(reverse("login"), {"username": "a"})\n'
    assert sign_in_posts(posted) == [2]
    assert sign_in_posts('client.post(reverse("customers:search"), {})\n') == []


def message_constants(source: str) -> list[str]:
    """The module-level `ERR_*`/`MSG_*` names `source` defines."""
    names = []
    for node in ast.parse(source).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names += [t.id for t in targets if isinstance(t, ast.Name) and re.match(r"(ERR|MSG)_", t.id)]
    return names


def unused(defined: list[str], everything: str) -> list[str]:
    """The names of `defined` that occur nowhere in `everything` but their own definition.

    `everything` is read once into its words (maximal runs of word characters, which is what a
    name between two `\\b` is): one search of the whole text per name took 20 s of CPU."""
    words = Counter(re.findall(r"\w+", everything))
    return [name for name in defined if words[name] < 2]


def test_every_message_constant_is_used():
    sources = {
        path: path.read_text()
        for top in (*PRODUCT, "templates", "tests")
        for path in (ROOT / top).rglob("*")
        if path.suffix in (".py", ".html", ".txt")
    }
    defined = [
        (path, name)
        for path, source in sources.items()
        if path.suffix == ".py" and path.relative_to(ROOT).parts[0] in PRODUCT
        for name in message_constants(source)
    ]
    nowhere = set(unused([name for _, name in defined], "\n".join(sources.values())))
    dead = [f"{path.relative_to(ROOT)}: {name}" for path, name in defined if name in nowhere]
    assert not dead, f"message constants nothing uses (remove them): {dead}"


def test_an_unused_message_constant_is_found():
    source = 'ERR_USED = "a"\nERR_DEAD = "b"\nMSG_TYPED: str = "c"\nOTHER = "d"\n'
    assert message_constants(source) == ["ERR_USED", "ERR_DEAD", "MSG_TYPED"]
    assert unused(message_constants(source), source + "raise ValueError(ERR_USED)\n") == ["ERR_DEAD", "MSG_TYPED"]
    assert unused(["ERR_DEAD"], source + "ERR_DEADLINE\n") == ["ERR_DEAD"]  # a longer name is not a use
