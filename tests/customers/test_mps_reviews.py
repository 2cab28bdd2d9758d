"""The DPO's MPS reviews page (hostile review: matches at a former address were flagged "to
review" on the customer page, with no way to record the review): listed, confirmed or dismissed
once, with who and when in the history, linked from the customer page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import MpsFile, MpsMatch
from customers.services import mps
from customers.views.mps import MSG_DECIDED
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:mps_reviews")


def _match(dpo, *, review=MpsMatch.Review.APPLIED, line=1, mps_file=None):
    mps_file = mps_file or MpsFile.objects.create(name="mps.txt", sha256=f"{line:064d}", format="fixed", lines=1,
                                                  removals=0, deceased=1, matched=1, loaded_by=dpo)  # fmt: skip
    return MpsMatch.objects.create(customer=CustomerFactory(), mps_file=mps_file, line=line, flag="X",
                                   requested_on=timezone.localdate(), on_former_address=bool(review),
                                   review=review)  # fmt: skip


def _decide(match):
    return reverse("customers:mps_review_decide", args=[match.pk])


def test_the_dpo_lists_the_matches_to_review_and_not_the_current_address_ones(client_for, dpo):
    applied, namesake = _match(dpo), _match(dpo, review=MpsMatch.Review.NOT_APPLIED, line=2)
    current = _match(dpo, review=MpsMatch.Review.NONE, line=3)
    response = client_for(dpo).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert applied.customer.reference in page and namesake.customer.reference in page
    assert current.customer.reference not in page
    assert f'action="{_decide(applied)}"' in page
    event = AccessEvent.objects.filter(search_kind="mps_reviews").get()
    assert sorted(event.result_ids) == sorted([applied.customer_id, namesake.customer_id])


@pytest.mark.parametrize("decision", [MpsMatch.Decision.CONFIRMED, MpsMatch.Decision.DISMISSED])
def test_the_dpo_confirms_or_dismisses_a_match_once_recorded_with_who_and_history(client_for, dpo, decision):
    match = _match(dpo)
    client = client_for(dpo)
    response = client.post(_decide(match), {"decision": decision}, follow=True)
    match.refresh_from_db()
    assert (match.decision, match.decided_by) == (decision, dpo) and match.decided_at is not None
    assert match.history.first().history_change_reason == f"MPS match reviewed: {decision}"
    assert match.history.first().history_user == dpo
    assert MSG_DECIDED.format(customer=match.customer.reference, decision=decision) in response.content.decode()
    assert match.customer.reference not in client.get(URL).content.decode()
    reviewed = client.get(URL, {"state": "reviewed"}).content.decode()
    assert match.customer.reference in reviewed and f"by {dpo}" in reviewed
    again = client.post(_decide(match), {"decision": MpsMatch.Decision.CONFIRMED}, follow=True)
    assert "already reviewed" in again.content.decode()
    match.refresh_from_db()
    assert match.decision == decision and match.history.count() == 2


@pytest.mark.parametrize("decision", ["", "approved", "x" * 500, "confirmed\x00"])
def test_a_decision_that_is_neither_is_refused_and_changes_nothing(client_for, dpo, decision):
    match = _match(dpo)
    response = client_for(dpo).post(_decide(match), {"decision": decision}, follow=True)
    assert response.status_code == 200
    match.refresh_from_db()
    assert match.decided_at is None and match.decision == ""


def test_a_current_address_match_has_nothing_to_review(dpo):
    match = _match(dpo, review=MpsMatch.Review.NONE)
    with pytest.raises(ValidationError) as raised:
        mps.mps_match_decide(actor=dpo, match_id=match.pk, decision=MpsMatch.Decision.CONFIRMED)
    assert raised.value.messages == [mps.ERR_NOT_TO_REVIEW]


@pytest.mark.parametrize("role", ["agent", "handler", "auditor", "itadmin", "nobody"])
def test_only_the_dpo_reviews_mps_matches(client_for, cast, role, dpo):
    match = _match(dpo)
    client = client_for(cast[role])
    assert client.get(URL).status_code == 403
    assert client.post(_decide(match), {"decision": "confirmed"}).status_code == 403
    with pytest.raises(ValidationError):
        mps.mps_match_decide(actor=cast[role], match_id=match.pk, decision=MpsMatch.Decision.CONFIRMED)
    match.refresh_from_db()
    assert match.decided_at is None


def test_the_pages_answer_only_their_methods_and_an_unknown_match_is_404(client_for, dpo):
    match = _match(dpo)
    client = client_for(dpo)
    assert client.post(URL).status_code == 405
    assert client.get(_decide(match)).status_code == 405
    assert (
        client.post(
            reverse("customers:mps_review_decide", args=[match.pk + 999]), {"decision": "confirmed"}
        ).status_code
        == 404
    )


def test_the_customer_page_links_a_match_to_review_to_the_page_and_then_shows_the_decision(client_for, dpo):
    match = _match(dpo)
    client = client_for(dpo)
    detail = reverse("customers:detail", args=[match.customer_id])
    assert f'href="{URL}#match-{match.pk}"' in client.get(detail).content.decode()
    mps.mps_match_decide(actor=dpo, match_id=match.pk, decision=MpsMatch.Decision.DISMISSED)
    page = client.get(detail).content.decode()
    assert f"Reviewed: {MpsMatch.Decision.DISMISSED.label}" in page and f"{URL}#match" not in page


def test_the_list_pages_newest_first_at_a_constant_cost(client_for, dpo, django_assert_max_num_queries):
    mps_file = MpsFile.objects.create(name="big.txt", sha256="f" * 64, format="fixed", lines=60, removals=0,
                                      deceased=60, matched=60, loaded_by=dpo)  # fmt: skip
    for line in range(60):
        _match(dpo, line=line, mps_file=mps_file)
    client = client_for(dpo)
    client.get(URL)
    with django_assert_max_num_queries(12):
        page = client.get(URL).content.decode()
    assert page.count('id="match-') == 50 and 'rel="next"' in page
    assert client.get(URL, {"after": "garbage", "state": "<b>"}).status_code == 200
