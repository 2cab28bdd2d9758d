"""Views and services ask the access modules (customers/access.py, requests/access.py,
privacy_portal/access.py), never `has_perm`, a user's groups or a user's role themselves: one
home for each access rule. And views define no forms: each app's forms live in its forms module
(`customers/forms.py`, `privacy_portal/forms.py`, the `requests/forms/` package)."""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path

import pytest

from customers.access import TRANSCRIPTS, customer_for
from privacy_portal.access import CHECKS_NEED, get_for_user_or_404

ROOT = Path(__file__).resolve().parent.parent
APPS = ("privacy_portal", "customers", "requests")
VIEW_MODULES = [
    path
    for app in APPS
    for path in (ROOT / app).rglob("*.py")
    if "views" in path.relative_to(ROOT / app).parts[0] or path.stem.endswith("views")
]
SERVICE_MODULES = [path for app in APPS for path in (ROOT / app / "services").rglob("*.py")]


def _is_user_role(node: ast.AST) -> bool:
    """`User.Role.<NAME>`, a staff member's role (not a recipient's, `Recipient.Role`)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "Role"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "User"
    )


def _operands(node: ast.Compare) -> list[ast.AST]:
    found: list[ast.AST] = []
    for operand in [node.left, *node.comparators]:
        found.extend(operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand])
    return found


def access_decided_at(source: str) -> list[int]:
    """The lines of `source` that decide access themselves: a `has_perm`/`has_perms` call, a
    query on a user's groups, or a comparison with a staff role (`User.Role.X`, or `.role`
    against a literal)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            asks = node.attr in ("has_perm", "has_perms")
            groups = node.attr == "filter" and getattr(node.value, "attr", "") == "groups"
            if asks or groups:
                lines.append(node.lineno)
        elif isinstance(node, ast.Compare):
            operands = _operands(node)
            by_role = any(_is_user_role(o) for o in operands) or (
                any(isinstance(o, ast.Attribute) and o.attr == "role" for o in operands)
                and any(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands)
            )
            if by_role:
                lines.append(node.lineno)
    return sorted(set(lines))


def test_the_view_and_service_modules_are_found():
    assert any(p.name == "case.py" for p in VIEW_MODULES) and any(
        p.relative_to(ROOT).as_posix() == "privacy_portal/views/accounts.py" for p in VIEW_MODULES
    )
    services = {p.relative_to(ROOT).as_posix() for p in SERVICE_MODULES}
    assert {"requests/services/cases.py", "customers/services/legal_holds.py", "privacy_portal/services/staff.py"} <= (
        services
    )


@pytest.mark.parametrize(
    "source",
    [
        "if not actor.has_perm('requests.signoff_case'):\n    raise PermissionDenied",
        "allowed = user.has_perms(['a.b', 'c.d'])",
        "dpo = user.groups.filter(name='DPO').exists()",
        "if handler.role not in (User.Role.HANDLER, User.Role.DPO):\n    pass",
        "if role == User.Role.AUDITOR and ends is None:\n    pass",
        "if request.user.role == 'dpo':\n    pass",
    ],
)
def test_a_module_deciding_access_itself_is_found(source):
    assert access_decided_at(f"x = 1\n{source}\n") == [2]


def test_asking_a_predicate_or_comparing_other_roles_is_not_deciding_access():
    source = (
        "if not may_signoff_cases(actor):\n    pass\n"
        "if processor.role != Recipient.Role.PROCESSOR:\n    pass\n"
        "if role != user.role and role in User.DATA_ROLES:\n    pass\n"
    )
    assert access_decided_at(source) == []


@pytest.mark.parametrize("kind, modules", [("view", VIEW_MODULES), ("service", SERVICE_MODULES)])
def test_no_view_or_service_decides_access_itself(kind, modules):
    found = [f"{path.relative_to(ROOT)}:{number}" for path in modules for number in access_decided_at(path.read_text())]
    assert not found, f"a {kind} asks the access module's predicates instead: {found}"


# --- Each view declares what its fetch helpers check ------------------------------------------


def _fetched_perms(function, seen=None) -> set[str]:
    """The permissions the fetch helpers `function` calls check (privacy_portal.access.fetches),
    following the private helpers of its own module that it calls (`_disclosures_customer`)."""
    seen = seen if seen is not None else set()
    if function in seen:
        return set()
    seen.add(function)
    module = sys.modules[function.__module__]
    found: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if not isinstance(node, ast.Call):
            continue
        try:
            called = eval(compile(ast.Expression(node.func), "<view>", "eval"), vars(module))  # noqa: S307 (our source)
        except (NameError, AttributeError):
            continue  # a local or an attribute of one (form.save)
        if called is get_for_user_or_404:
            found.add(eval(compile(ast.Expression(node.args[2]), "<view>", "eval"), vars(module)))  # noqa: S307
        elif hasattr(called, "fetch_perm"):
            perm = called.fetch_perm
            if perm == CHECKS_NEED:
                need = next((k.value for k in node.keywords if k.arg == "need"), None)
                default = inspect.signature(called).parameters["need"].default
                perm = default if need is None else eval(compile(ast.Expression(need), "<view>", "eval"), vars(module))  # noqa: S307
            if perm is not None:
                found.add(perm)
        elif inspect.isfunction(called) and called.__module__ == module.__name__ and called.__name__.startswith("_"):
            found |= _fetched_perms(called, seen)
    return found


def _routed_views():
    from privacy_portal.urlwalk import ADMIN_NAMESPACE, walk

    views = {}
    for route in walk():
        if (
            route.namespace != ADMIN_NAMESPACE
            and route.rule is not None
            and route.rule.kind in ("permission", "object")
        ):
            views.setdefault(inspect.unwrap(route.callback), route.rule)
    return views


def test_the_fetch_helpers_are_found_in_the_views():
    fetched = {view.__name__: _fetched_perms(view) for view in _routed_views()}
    assert fetched["call_transcript"] == {"customers.view_transcript"}
    assert fetched["customer_disclosures_tab"] == {"customers.view_disclosure"}  # through a private helper
    assert fetched["case_action"] == {"requests.view_case"}
    assert fetched["screening"] == {"customers.view_campaignscreening"}


def test_every_view_declares_what_its_fetch_helpers_check():
    """@requires names every permission the view's fetch helpers check (as its object_perm or
    a model permission), and its object_perm is one of them."""
    wrong = []
    for view, rule in _routed_views().items():
        fetched = _fetched_perms(view)
        undeclared = fetched - set(rule.permissions)
        stale = rule.kind == "object" and rule.permissions[-1] not in fetched
        if undeclared or stale:
            wrong.append(f"{view.__module__}.{view.__name__}: declares {rule.permissions}, fetches with {fetched}")
    assert not wrong, wrong


def _a_view_that_misstates_its_fetch(request, pk):
    return customer_for(request.user, pk, need=TRANSCRIPTS)


def test_a_fetch_a_declaration_does_not_name_is_found():
    assert _fetched_perms(_a_view_that_misstates_its_fetch) == {"customers.view_transcript"}


def form_classes(source: str) -> list[str]:
    """The classes `source` defines that are forms: a base named `...Form` or taken from `forms.`
    (however deep the class is nested)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base) for base in node.bases]
            if any(base.startswith("forms.") or base.split(".")[-1].endswith("Form") for base in bases):
                found.append((node.lineno, node.name))
    return [f"{line}: {name}" for line, name in sorted(found)]


def test_the_form_check_sees_a_form_however_it_is_declared():
    planted = """
from django import forms
from django.forms import ModelForm
class A(forms.Form): pass
class B(A, forms.ModelForm): pass
class C(ModelForm): pass
class D(django.forms.Form): pass
def view(request):
    class E(forms.Form): pass
class F(forms.CharField): pass
class NotAForm(Exception): pass
"""
    assert form_classes(planted) == ["4: A", "5: B", "6: C", "7: D", "9: E", "10: F"]


def test_no_view_module_defines_a_form():
    found = {
        path.relative_to(ROOT).as_posix(): classes
        for path in VIEW_MODULES
        if (classes := form_classes(path.read_text()))
    }
    assert found == {}, "a form belongs in its app's forms module (customers/forms.py, ...)"


# Queries a view still writes itself (`Model.objects...`), module by module, when reads were moved
# to selectors (review G16). A count may only go down: a new read belongs in the app's selectors.
QUERIES_LEFT_IN_VIEWS = {
    "customers/views/calls.py": 1,
    "customers/views/deletion_tasks.py": 3,
    "customers/views/desk.py": 1,
    "customers/views/disclosures.py": 2,
    "customers/views/inbound_sms.py": 1,
    "customers/views/screening.py": 1,
    "privacy_portal/views/accounts.py": 7,
    "privacy_portal/views/audit.py": 2,
    "privacy_portal/views/history.py": 3,
    "privacy_portal/views/register.py": 3,
    "requests/views/breaches.py": 3,
    "requests/views/complaints.py": 1,
    "requests/views/fulfilment.py": 1,
}


def manager_queries(source: str) -> int:
    """How many times `source` reaches for a model's manager (`X.objects`)."""
    return sum(isinstance(node, ast.Attribute) and node.attr == "objects" for node in ast.walk(ast.parse(source)))


def test_the_query_count_sees_each_manager_use():
    planted = "a = Case.objects.filter(x=1)\nb = models.Case.objects.get()\nc = case.correspondence.all()\n"
    assert manager_queries(planted) == 2


def test_no_view_writes_more_queries_than_it_did():
    found = {
        name: count
        for path in VIEW_MODULES
        if (count := manager_queries(path.read_text()))
        > QUERIES_LEFT_IN_VIEWS.get(name := path.relative_to(ROOT).as_posix(), 0)
    }
    assert found == {}, "a view's read belongs in its app's selectors (requests/selectors/, ...)"
