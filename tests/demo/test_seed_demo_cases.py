"""seed_demo's rights requests: a case in every state, made through the services, once."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command

from demo.cases import DEMO_CASES
from privacy_portal.models import User
from privacy_portal.private_storage import private_path
from requests.models import Case, CaseDocument
from tests.seed_once import seed_demo_once

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seeded once for the module's tests (they read it; each runs in a savepoint rolled back after).
    Files a row names (the exports) are written once the row commits (private_storage.write_after_commit):
    the seed's on-commit callbacks run as a real commit would run them."""
    with seed_demo_once(django_db_blocker, tmp_path_factory.mktemp("demo"), run_on_commit=True) as out:
        yield out


# seed_demo's promise-report step (demo.promises) logs one
# more case on purpose: a rectification answered late. It is not one of demo.cases' states.
PROMISE_REPORT_CASES = 1


def test_seed_demo_makes_a_case_in_every_state_through_the_services(seeded):
    assert set(Case.objects.values_list("status", flat=True)) == set(Case.Status.values)
    assert Case.objects.count() == len(DEMO_CASES) + PROMISE_REPORT_CASES
    assert {c.pending_signoff for c in Case.objects.filter(status=Case.Status.AWAITING_SIGNOFF)} == {
        "extension", "erasure", "refusal",
    }  # fmt: skip
    handler, dpo = User.objects.get(username="handler"), User.objects.get(username="dpo")
    # The history is the real sequence of service calls, with who made each.
    started = Case.objects.get(customer__email="gareth.evans@example.co.uk")
    reasons = list(started.history.order_by("history_date").values_list("history_change_reason", flat=True))
    assert reasons[0] == "Logged from web form" and reasons[-1] == "Work started; identity not needed"
    assert started.handler == handler and started.history.filter(history_user=dpo).exists()
    assert Case.objects.filter(extended=True).count() == 1
    assert Case.objects.filter(customer__isnull=True).exists()
    assert Case.objects.filter(acting_for_other=True).exists()


def test_the_deadlines_shown_in_the_demo_include_overdue_and_due_this_week(seeded):
    from django.utils import timezone

    today = timezone.localdate()
    open_cases = Case.objects.filter(closed_on__isnull=True, due_on__isnull=False)
    assert open_cases.filter(due_on__lt=today).exists()
    assert open_cases.filter(due_on__gte=today, due_on__lte=today + timezone.timedelta(days=7)).exists()


def test_the_completed_access_case_and_the_portability_case_carry_real_exports(seeded):
    exports = CaseDocument.objects.filter(kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True)
    assert {d.case.right for d in exports} == {"access", "portability"}
    for doc in exports:
        with zipfile.ZipFile(private_path(doc.path)) as archive:
            assert "index.html" in archive.namelist()


def test_running_seed_demo_again_adds_no_cases(seeded, settings):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert Case.objects.count() == len(DEMO_CASES) + PROMISE_REPORT_CASES
    assert "Demo cases: already present." in out.getvalue()
