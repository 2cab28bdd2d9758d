"""Linking a breach's affected customers from a query: the preview's counts, the link (all or
nothing, the count the DPO saw), the history naming the query, and each source's filters."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from requests.models import Breach, BreachAffected
from requests.services import breaches as svc
from requests.services.breach_query import ERR_CHANGED, ERR_DATES, ERR_NONE_MATCH, AffectedQuery
from requests.services.breach_query import breach_link_query as link
from requests.services.breach_query import breach_query_preview as preview
from tests.factories import (
    CallFactory,
    CorrespondenceFactory,
    DisclosureFactory,
    PurchaseFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
NOV = datetime.date(2026, 11, 1)
END = datetime.date(2026, 11, 30)


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def report(agent) -> Breach:
    return svc.breach_report(
        actor=agent, summary="Courier misdelivered parcels", what_happened="Parcels left at the wrong doors.",
        aware_at=timezone.now() - datetime.timedelta(hours=2),
    )  # fmt: skip


@pytest.fixture
def courier():
    return RecipientFactory(name="Swift Parcels Ltd")


@pytest.fixture
def november(courier):
    """Customers whose data went to the courier in November (one of them erased since), and the
    near misses: the courier in October or 1 December, another recipient in November."""
    inside = [DisclosureFactory(recipient=courier, disclosed_at=at(d)).customer for d in (1, 15)]
    # The last minute of 30 November, UK time, is inside "to 30 Nov".
    inside.append(DisclosureFactory(recipient=courier, disclosed_at=at(30, 23, 59)).customer)
    erased = DisclosureFactory(recipient=courier, disclosed_at=at(10)).customer
    erased.erased_at = timezone.now()
    erased.save()
    DisclosureFactory(recipient=courier, disclosed_at=at(31, 23, 59, month=10))
    DisclosureFactory(recipient=courier, disclosed_at=at(1, 0, 0, month=12))
    DisclosureFactory(disclosed_at=at(15))
    # Twice to the courier: still one customer.
    DisclosureFactory(recipient=courier, customer=inside[0], disclosed_at=at(20))
    return {"inside": inside, "erased": erased}


def query(courier, **kwargs) -> AffectedQuery:
    return AffectedQuery(**({"source": "disclosure", "recipient": courier, "date_from": NOV, "date_to": END} | kwargs))


def test_the_preview_counts_the_customers_disclosed_to_the_courier_in_the_range_in_uk_days(
    agent, dpo, courier, november
):
    breach = report(agent)
    assert preview(breach=breach, query=query(courier)) == {"matches": 4, "erased": 1, "already": 0, "to_link": 3}
    assert not BreachAffected.objects.exists()


def test_linking_from_the_query_links_every_live_match_once_and_the_history_names_the_query(
    agent, dpo, courier, november
):
    breach = report(agent)
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[november["inside"][0]])
    assert preview(breach=breach, query=query(courier))["to_link"] == 2
    assert link(actor=dpo, breach=breach, query=query(courier), expected=2) == 2
    assert set(breach.affected.values_list("customer_id", flat=True)) == {c.pk for c in november["inside"]}
    wording = "Data disclosed to Swift Parcels Ltd from 1 Nov 2026 to 30 Nov 2026"
    rows = BreachAffected.history.filter(breach_id=breach.pk, history_change_reason=f"Linked from a query: {wording}")
    assert rows.count() == 2 and {r.history_user_id for r in rows} == {dpo.pk}
    latest = breach.history.order_by("-history_id").first()
    assert latest.history_change_reason == f"Linked 2 affected customers from a query: {wording}"
    assert latest.history_user == dpo
    with pytest.raises(ValidationError) as exc:
        link(actor=dpo, breach=breach, query=query(courier), expected=0)
    assert exc.value.messages == [ERR_NONE_MATCH]


def test_a_count_that_changed_since_the_preview_links_nothing(agent, dpo, courier, november):
    breach = report(agent)
    DisclosureFactory(recipient=courier, disclosed_at=at(5))  # recorded after the DPO's preview of 3
    with pytest.raises(ValidationError) as exc:
        link(actor=dpo, breach=breach, query=query(courier), expected=3)
    assert exc.value.messages == [ERR_CHANGED.format(now=4, expected=3)]
    assert not BreachAffected.objects.exists() and not BreachAffected.history.exists()


def test_bad_queries_are_named_by_field_and_only_the_dpo_links(agent, dpo, handler, courier):
    breach = report(agent)
    with pytest.raises(ValidationError) as exc:
        preview(breach=breach, query=query(courier, date_from=END, date_to=NOV))
    assert exc.value.message_dict == {"date_to": [ERR_DATES]}
    with pytest.raises(ValidationError) as exc:
        preview(breach=breach, query=query(None))
    assert "recipient" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        link(actor=handler, breach=breach, query=query(courier), expected=0)
    assert exc.value.messages == [svc.ERR_DPO_ONLY]


def test_calls_correspondence_and_purchases_each_filter_on_their_own_fields(agent, dpo):
    transcribed = CallFactory(started_at=at(3)).customer
    CallFactory(started_at=at(3), transcript_provider="", transcript="")
    CallFactory(started_at=at(3, month=10))
    emailed = CorrespondenceFactory(medium="email", occurred_at=at(4)).customer
    CorrespondenceFactory(medium="letter", occurred_at=at(4))
    on_finance = PurchaseFactory(payment_method="finance", ordered_on=datetime.date(2026, 11, 30)).customer
    PurchaseFactory(payment_method="card", ordered_on=datetime.date(2026, 11, 30))
    PurchaseFactory(payment_method="finance", ordered_on=datetime.date(2026, 12, 1))
    medal = PurchaseFactory(description="Waterloo medal replica", ordered_on=datetime.date(2026, 11, 2)).customer
    breach = report(agent)
    in_nov = {"date_from": NOV, "date_to": END}

    def matches(**kwargs) -> set[int]:
        return set(AffectedQuery(**(in_nov | kwargs)).customers().values_list("pk", flat=True))

    assert matches(source="call", transcribed=True) == {transcribed.pk}
    assert len(matches(source="call")) == 2
    assert matches(source="correspondence", medium="email") == {emailed.pk}
    assert matches(source="purchase", payment_method="finance") == {on_finance.pk}
    assert matches(source="purchase", description="waterloo") == {medal.pk}
    q = AffectedQuery(source="purchase", payment_method="finance", **in_nov)
    assert q.describe() == "Purchases paid by third-party finance from 1 Nov 2026 to 30 Nov 2026"
    assert link(actor=dpo, breach=breach, query=q, expected=1) == 1


# --- the page -----------------------------------------------------------------------------------


def test_the_dpo_previews_the_query_on_the_page_then_links_the_customers_it_counted(
    client_for, dpo, agent, courier, november
):
    breach = report(agent)
    client = client_for(dpo)
    page_url = reverse("requests:breach_affected_query", args=[breach.pk])
    assert page_url in client.get(reverse("requests:breach_affected", args=[breach.pk])).content.decode()
    params = {"source": "disclosure", "recipient": courier.pk, "date_from": "01/11/2026", "date_to": "30/11/2026"}
    response = client.get(page_url, params)
    text = response.content.decode()
    assert response.context["preview"]["to_link"] == 3
    assert "Link these 3 customers" in text and "Data disclosed to Swift Parcels Ltd" in text
    assert november["inside"][0].last_name not in text  # counts only
    response = client.post(
        reverse("requests:breach_action", args=[breach.pk, "link_query"]), params | {"expected": "3"}, follow=True
    )
    assert "Linked 3 customers from the query (Data disclosed to Swift Parcels Ltd" in response.content.decode()
    assert breach.affected.count() == 3
    response = client.post(
        reverse("requests:breach_action", args=[breach.pk, "link_query"]), params | {"expected": "3"}, follow=True
    )
    assert ERR_NONE_MATCH in response.content.decode() and breach.affected.count() == 3


def test_a_bad_query_on_the_page_names_the_field(client_for, dpo, agent, courier):
    breach = report(agent)
    response = client_for(dpo).get(
        reverse("requests:breach_affected_query", args=[breach.pk]),
        {"source": "disclosure", "recipient": courier.pk, "date_from": "30/11/2026", "date_to": "01/11/2026"},
    )
    assert response.context["preview"] is None
    assert f"To (inclusive): {ERR_DATES}" in response.content.decode()


@pytest.mark.parametrize("role", ["handler", "auditor", "agent"])
def test_only_the_dpo_may_query_or_link(client_for, cast, agent, role):
    breach = report(agent)
    assert client_for(cast[role]).get(reverse("requests:breach_affected_query", args=[breach.pk])).status_code == 403
    response = client_for(cast[role]).post(reverse("requests:breach_action", args=[breach.pk, "link_query"]), {})
    assert response.status_code == 403


def test_the_query_page_refuses_post(client_for, dpo, agent):
    url = reverse("requests:breach_affected_query", args=[report(agent).pk])
    assert client_for(dpo).post(url).status_code == 405
