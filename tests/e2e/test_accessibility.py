"""axe-core (shipped by axe-playwright-python) over every public page, in its states, and over the
staff pages each demo role reaches first, in Chromium: no serious or critical violation.

An exception would be listed in ALLOWED with its reason; there is none.
"""

from __future__ import annotations

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from privacy_portal.models import User
from requests.models import Case, Complaint
from requests.services import links
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory, UserFactory

BLOCKING = {"serious", "critical"}
# (rule id, page) -> why it is acceptable. Empty: every page passes as it is.
ALLOWED: dict[tuple[str, str], str] = {}

AXE = Axe()


def serious_violations(page, name: str) -> list[str]:
    results = AXE.run(page)
    return [
        f"{name}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING and (v["id"], name) not in ALLOWED
    ]


@pytest.fixture
def web_case(db):
    return CaseFactory(
        channel=Case.Channel.WEB_FORM,
        customer=None,
        requester_name="Ada Access",
        requester_email="ada@example.org",
        email_verified_at=timezone.now(),
        received_on=timezone.localdate() - datetime.timedelta(days=3),
    )


def test_every_public_page_has_no_serious_or_critical_violation(page, web_case):
    problems = []
    pages = {
        "index": "/p/",
        "complaint": "/p/complaint/",
        "request": "/p/request/",
        "new link": "/p/request/new-link/",
        "secure page": f"/p/case/{links.link_token(web_case)}/",
        "bad link": "/p/case/x/",
        "expired verification": "/p/request/verify/x/",
    }
    for name, url in pages.items():
        page.goto(url)
        problems += serious_violations(page, name)
    # The forms with their error summaries.
    page.goto("/p/complaint/")
    page.get_by_role("button", name="Send my complaint").click()
    problems += serious_violations(page, "complaint with errors")
    page.goto("/p/request/")
    page.get_by_role("button", name="Send my request").click()
    problems += serious_violations(page, "request with errors")
    page.goto("/p/request/")
    page.get_by_label("Access (Art 15)").check()
    page.get_by_label("Your email address").fill("ada@example.org")
    page.get_by_label("Full name").fill("Ada Access")
    page.get_by_role("button", name="Send my request").click()
    problems += serious_violations(page, "verify")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role", ["agent", "handler", "dpo", "auditor", "itadmin"])
def test_the_staff_pages_each_demo_role_reaches_have_no_serious_or_critical_violation(page, sign_in, role):
    user = UserFactory(username=f"axe_{role}", role=role)
    dpo = user if role == "dpo" else UserFactory(username="axe_dpo", role=User.Role.DPO)
    customer = CustomerFactory(first_name="Cora", last_name="Axe")
    case = CaseFactory(customer=customer)
    complaint = ComplaintFactory(customer=customer)
    if role == "handler":
        from requests.services.cases import case_assign
        from requests.services.complaints import complaint_assign

        case_assign(actor=dpo, case=case, handler=user)
        complaint_assign(actor=dpo, complaint=complaint, handler=user)
    sign_in(page, user)
    problems = serious_violations(page, f"{role} home")
    urls = {
        "agent": ["/customers/", f"/customers/{customer.pk}/", "/cases/new/", "/cases/logged/"],
        "handler": ["/cases/", f"/cases/{case.pk}/", f"/cases/complaints/{complaint.pk}/"],
        "dpo": [
            "/cases/",
            f"/cases/{case.pk}/",
            "/cases/complaints/",
            "/cases/messages/",
            "/cases/messages/complaint_ack/",
            "/cases/breaches/",
        ],
        "auditor": ["/cases/", f"/cases/{case.pk}/", "/cases/complaints/"],
        "itadmin": ["/staff/"],
    }[role]
    for url in urls:
        page.goto(url)
        problems += serious_violations(page, f"{role} {url}")
    assert Complaint.objects.exists()
    assert problems == [], "\n".join(problems)
