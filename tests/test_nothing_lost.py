"""Nothing is lost: every test module under tests/ has tests that the run collects (make test runs
them all; make test-fast leaves out only those marked slow)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent


def asked_for(config) -> list[Path]:
    """The paths the run was given (make test and make test-fast: testpaths, the whole tests/)."""
    return [(Path(config.invocation_params.dir) / arg.split("::")[0]).resolve() for arg in config.args]


def test_every_test_module_in_the_run_has_tests_collected(request, collected_test_modules):
    roots = asked_for(request.config)
    modules = {
        path.resolve()
        for path in TESTS.rglob("test_*.py")
        if any(path.resolve() == root or root in path.resolve().parents for root in roots)
    }
    assert modules, f"no test module under {roots}"
    empty = sorted(str(path.relative_to(TESTS.parent)) for path in modules - collected_test_modules)
    assert not empty, f"test modules in which no test is collected: {empty}"
