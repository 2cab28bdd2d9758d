"""One home for the workflow's mechanics in `requests/`: every status of a rights request,
complaint or breach is moved by the workflow core's one helper (requests.services.workflow.move),
so each move is checked against a state table; and requests and complaints named by reference
are found by one function (requests.services.references.find_by_reference)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = "requests/services/workflow.py"
MODULES = [p for p in (ROOT / "requests").rglob("*.py") if "migrations" not in p.parts]


def status_set_outside_move(source: str) -> list[int]:
    """The lines of `source` assigning an object's `.status` (an object's own, `self.status`, is
    a plain value's, not a workflow object's) or updating `status=` on a queryset."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for item in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (
                    isinstance(item, ast.Attribute)
                    and item.attr == "status"
                    and not (isinstance(item.value, ast.Name) and item.value.id == "self")
                ):
                    lines.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and any(k.arg == "status" for k in node.keywords)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_check_finds_a_status_set_by_hand():
    source = (
        "def step(complaint):\n"
        "    complaint.status = 'received'\n"
        "    Case.objects.filter(pk=1).update(status='completed')\n"
        "    a.status, b.x = 1, 2\n"
        "    self.status = 'fine'\n"
    )
    assert status_set_outside_move(source) == [2, 3, 4]


def test_the_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert {HOME, "requests/services/complaints.py", "requests/services/messages.py"} <= names


def test_only_the_workflow_core_moves_a_status():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in MODULES
        if path.relative_to(ROOT).as_posix() != HOME
        for line in status_set_outside_move(path.read_text())
    ]
    assert found == [], f"move the status with requests.services.workflow.move(): {found}"


# Requests and complaints named by reference are found in one place, with one "no such" answer.
REFERENCES_HOME = "requests/services/references.py"


def reference_lookups(source: str) -> list[int]:
    """The lines of `source` filtering on `reference__in` or defining a "no such reference" message."""
    return [
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if "reference__in=" in line or "has the reference {reference}" in line
    ]


def test_the_check_finds_a_reference_lookup_by_hand():
    source = 'ERR_X = "No request has the reference {reference}."\nrows = Case.objects.filter(reference__in=refs)\n'
    assert reference_lookups(source) == [1, 2]


def test_requests_and_complaints_are_found_by_reference_in_one_place():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in MODULES
        if path.relative_to(ROOT).as_posix() != REFERENCES_HOME
        for line in reference_lookups(path.read_text())
    ]
    assert found == [], f"use requests.services.references.find_by_reference: {found}"
    assert reference_lookups((ROOT / REFERENCES_HOME).read_text())  # and the home holds them


# The pages take the steps they offer from the workflow core (case_actions, complaint_actions,
# breach_actions), never from the object's status themselves.
VIEWS = sorted((ROOT / "requests" / "views").rglob("*.py"))


def offers_from_status(source: str) -> list[int]:
    """The lines of `source` reading `.is_open` or comparing a `.status`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "is_open":
            lines.append(node.lineno)
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "status" for side in sides):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_check_finds_an_offer_made_from_the_status():
    source = "may = breach.is_open\nif case.status == 'x':\n    pass\nok = actions['manage']\n"
    assert offers_from_status(source) == [1, 2]


def test_the_pages_take_their_offers_from_the_workflow_core():
    assert any(p.name == "breaches.py" for p in VIEWS)
    found = [f"{path.relative_to(ROOT)}:{line}" for path in VIEWS for line in offers_from_status(path.read_text())]
    assert found == [], f"ask requests.services.workflow's *_actions for what the page offers: {found}"
