"""The DPO's list of every legal hold: manual (reason, end date, who placed it, in force or ended)
and automatic (the open request, complaint, ICO case or breach holding the customer), filtered,
paged at a constant cost, linked from the retention page, and releasing a manual hold from it."""

from __future__ import annotations

import re

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import LegalHold
from customers.selectors import legal_holds as lists
from customers.services import legal_holds as svc
from privacy_portal.models import AccessEvent
from requests.models import Breach, BreachAffected, IcoCase
from tests.factories import CaseFactory, ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:legal_holds")


def _hold(dpo, customer=None, reason="Claim notified", months=2):
    return svc.legal_hold_place(
        actor=dpo,
        customer=customer or CustomerFactory(),
        reason=reason,
        ends_on=timezone.localdate() + relativedelta(months=months),
    )


def _breach(dpo, customer):
    breach = Breach.objects.create(
        reference="B-2026-00077", summary="Lost laptop", what_happened="Left on a train",
        reported_by=dpo, aware_at=timezone.now(), due_at=timezone.now(),
    )  # fmt: skip
    BreachAffected.objects.create(breach=breach, customer=customer, linked_by=dpo)
    return breach


def test_the_dpo_sees_every_manual_and_automatic_hold_with_its_matter(client_for, dpo):
    held = _hold(dpo, reason="Solicitors letter ref 77")
    case = CaseFactory(customer=CustomerFactory())
    complaint = ComplaintFactory(customer=CustomerFactory())
    with_ico = ComplaintFactory(customer=CustomerFactory())
    IcoCase.objects.create(
        complaint=with_ico,
        ico_reference="IC-12345",
        contacted_on=timezone.localdate(),
        contact_method=IcoCase.Method.choices[0][0],
    )
    breach = _breach(dpo, CustomerFactory())

    html = client_for(dpo).get(URL).content.decode()
    assert "Solicitors letter ref 77" in html and held.customer.reference in html
    assert f"by {dpo}" in html
    assert held.ends_on.strftime("%-d %b %Y") in html
    assert f'{lists.KIND_REQUEST} <a href="{case.get_absolute_url()}">{case.reference}</a>' in html
    assert f'{lists.KIND_COMPLAINT} <a href="{complaint.get_absolute_url()}">{complaint.reference}</a>' in html
    assert f'{lists.KIND_COMPLAINT_ICO} <a href="{with_ico.get_absolute_url()}">{with_ico.reference}</a>' in html
    assert f'{lists.KIND_BREACH} <a href="{breach.get_absolute_url()}">{breach.reference}</a>' in html
    assert "<strong>4</strong> open matters" in html


def test_a_closed_matter_no_longer_appears_as_a_hold(client_for, dpo):
    from requests.models import Complaint

    complaint = ComplaintFactory(customer=CustomerFactory())
    complaint.status, complaint.closed_on = Complaint.Status.CLOSED, timezone.localdate()
    complaint.save()
    html = client_for(dpo).get(URL).content.decode()
    assert complaint.reference not in html
    assert "No open rights request, complaint or breach concerns a customer." in html


def test_the_filter_shows_holds_in_force_by_default_and_the_ended_ones_on_asking(client_for, dpo):
    in_force = _hold(dpo, reason="Still in force")
    released = _hold(dpo, reason="Released already")
    svc.legal_hold_release(actor=dpo, hold=released)
    lapsed = _hold(dpo, reason="Lapsed by its date", months=1)
    LegalHold.history.filter(id=lapsed.pk).delete()  # (only the row's date matters here)
    lapsed.ends_on = timezone.localdate() - relativedelta(days=1)
    lapsed.save()
    client = client_for(dpo)

    active = client.get(URL).content.decode()
    assert "Still in force" in active and "Released already" not in active and "Lapsed by its date" not in active
    ended = client.get(URL, {"state": "ended"}).content.decode()
    assert "Still in force" not in ended and "Released already" in ended and "Lapsed by its date" in ended
    assert f"Released {timezone.localdate().strftime('%-d %b %Y')} by {dpo}" in ended
    assert "Automatic, while a matter is open" not in ended
    everything = client.get(URL, {"state": "all"}).content.decode()
    assert all(r in everything for r in ("Still in force", "Released already", "Lapsed by its date"))
    assert in_force.pk and client.get(URL, {"state": "nonsense"}).status_code == 200


def test_the_dpo_releases_a_manual_hold_from_the_list_and_comes_back_to_it(client_for, dpo):
    hold = _hold(dpo, reason="To be released")
    client = client_for(dpo)
    html = client.get(URL).content.decode()
    release = reverse("customers:legal_hold_release", args=[hold.pk]) + "?from=list"
    assert f'action="{release}"' in html
    response = client.post(release)
    assert response.status_code == 302 and response.url == URL
    hold.refresh_from_db()
    assert hold.released_by == dpo
    assert "To be released" not in client.get(URL).content.decode()
    # From the customer page it still goes back to the customer.
    other = _hold(dpo)
    response = client.post(reverse("customers:legal_hold_release", args=[other.pk]))
    assert response.url == other.customer.get_absolute_url()


def test_the_list_logs_which_customers_it_showed_by_id(client_for, dpo):
    held = _hold(dpo)
    case = CaseFactory(customer=CustomerFactory())
    client_for(dpo).get(URL)
    event = AccessEvent.objects.filter(search_kind="legal_holds").get()
    assert sorted(event.result_ids) == sorted([held.customer_id, case.customer_id])


def _statements(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_list_reads_the_same_statements_for_2_holds_as_for_120_and_pages_every_one_once(client_for, dpo):
    client = client_for(dpo)
    for _ in range(2):
        _hold(dpo)
        CaseFactory(customer=CustomerFactory())
    few, _ = _statements(client, URL)
    for _ in range(118):
        _hold(dpo)
    for _ in range(60):
        ComplaintFactory(customer=CustomerFactory())
    many, html = _statements(client, URL)
    assert many == few
    assert few <= 14

    expected = list(LegalHold.objects.order_by("-placed_at", "-pk").values_list("pk", flat=True))
    seen, page_url = [], URL
    while page_url:
        with CaptureQueriesContext(connection) as queries:
            html = client.get(page_url).content.decode()
        assert len(queries) <= few
        seen += [int(pk) for pk in re.findall(r'id="hold-(\d+)"', html)]
        found = re.search(r'href="(\?state=active&amp;after=[^"]+)" rel="next"', html)
        page_url = URL + found.group(1).replace("&amp;", "&") if found else None
    assert seen == expected
    second = client.get(URL, {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert client.get(URL, {"after": "garbage|x", "page": "x"}).status_code == 200


def test_the_retention_page_and_the_dashboard_link_to_the_list(client_for, dpo):
    client = client_for(dpo)
    assert f'href="{URL}"' in client.get(reverse("retention_schedule")).content.decode()
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_opens_the_list(client_for, cast, role, dpo):
    _hold(dpo)
    assert client_for(cast[role]).get(URL).status_code == 403
    assert f'href="{URL}"' not in client_for(cast[role]).get(reverse("retention_schedule")).content.decode()


def test_the_list_refuses_post(client_for, dpo):
    assert client_for(dpo).post(URL).status_code == 405


# --- hostile review ------------------------------------------------------------------------------


def test_an_automatic_hold_whose_matter_closed_is_listed_under_ended_with_its_dates(client_for, dpo):
    """Hostile review: a DPO asked "was this person's record held, and until when?" found an
    ended automatic hold nowhere: it vanished from the list when its matter closed."""
    from requests.models import Case, Complaint

    closed_on = timezone.localdate() - relativedelta(days=3)
    case = CaseFactory(customer=CustomerFactory())
    case.status, case.closed_on = Case.Status.COMPLETED, closed_on
    case.save()
    complaint = ComplaintFactory(customer=CustomerFactory())
    complaint.status, complaint.closed_on = Complaint.Status.CLOSED, closed_on
    complaint.save()
    breach = _breach(dpo, CustomerFactory())
    breach.closed_at = timezone.now()
    breach.save()
    still_open = CaseFactory(customer=CustomerFactory())
    client = client_for(dpo)

    ended = client.get(URL, {"state": "ended"}).content.decode()
    assert "Automatic, ended when the matter closed" in ended
    assert f'{lists.KIND_REQUEST_ENDED} <a href="{case.get_absolute_url()}">{case.reference}</a>' in ended
    assert f'{lists.KIND_COMPLAINT_ENDED} <a href="{complaint.get_absolute_url()}">{complaint.reference}</a>' in ended
    assert f'{lists.KIND_BREACH_ENDED} <a href="{breach.get_absolute_url()}">{breach.reference}</a>' in ended
    assert closed_on.strftime("%-d %b %Y") in ended
    assert still_open.reference not in ended
    active = client.get(URL).content.decode()
    assert case.reference not in active and still_open.reference in active
    everything = client.get(URL, {"state": "all"}).content.decode()
    assert case.reference in everything and still_open.reference in everything
    shown = AccessEvent.objects.filter(search_kind="legal_holds").order_by("pk").values_list("result_ids", flat=True)
    assert case.customer_id in shown[0] and complaint.customer_id in shown[0]  # the ended page's entry


@pytest.mark.parametrize(
    "query",
    [
        {"state": "<script>alert(1)</script>"},
        {"state": "ended\x00"},
        {"after": "9999-12-31T23:59:59+00:00|99999999999999999999999999"},
        {"after": "0001-01-01T00:00:00+14:00|1"},
        {"after": "2026-01-01T00:00:00+00:00|-1"},
        {"after": "\x00|\x00"},
        {"after": "2026-01-01T00:00:00|1"},
        {"page": "99999999999999999999999999"},
        {"page": "-1"},
        {"ended_page": "x", "state": "ended"},
        {"ended_page": "99999999999999999999999999", "state": "all"},
    ],
)
def test_hostile_filters_answer_a_page_never_an_error(client_for, dpo, query):
    _hold(dpo, reason="Hostile filters")
    response = client_for(dpo).get(URL, query)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
