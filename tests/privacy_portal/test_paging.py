"""Keyset paging (privacy_portal.paging), the one pager of the portal's lists: each page after the
last row shown, in one cursor format (the last row's order values joined by "|", the id last),
an unreadable cursor starting from the first page; and the lists on it page to the end at a cost
that does not grow with the list."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import DeletionTask, InboundSms
from privacy_portal import paging
from privacy_portal.models import User
from privacy_portal.paging import keyset_page, newest_by_id
from requests.models import Case
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_by_id_newest_first_to_the_end():
    ids = sorted(UserFactory().pk for _ in range(5))
    qs = User.objects.filter(pk__in=ids)
    first, before = newest_by_id(qs, before=None, limit=2)
    assert [u.pk for u in first] == ids[:-3:-1] and before == ids[3]
    second, before = newest_by_id(qs, before=str(before), limit=2)
    assert [u.pk for u in second] == [ids[2], ids[1]] and before == ids[1]
    last, before = newest_by_id(qs, before=str(before), limit=2)
    assert [u.pk for u in last] == [ids[0]] and before is None
    again, _ = newest_by_id(qs, before="not-an-id", limit=2)
    assert again == first


def _staff(count: int, *, same_instant: bool = False):
    """`count` staff accounts joined at whole seconds, two to a minute (ties), and them as a queryset."""
    start = timezone.now().replace(microsecond=0)
    joined = [start if same_instant else start - datetime.timedelta(minutes=i // 2) for i in range(count)]
    return User.objects.filter(pk__in=[UserFactory(date_joined=when).pk for when in joined])


def _all_pages(qs, order, limit):
    seen, cursor, cursors = [], "", []
    while True:
        rows, cursor = keyset_page(qs, order=order, cursor=cursor, limit=limit)
        seen += [row.pk for row in rows]
        if cursor is None:
            return seen, cursors
        cursors.append(cursor)


@pytest.mark.parametrize(
    "order",
    [("-date_joined", "-pk"), ("date_joined", "pk"), ("-pk",), ("pk",)],
    ids=["newest first", "oldest first", "by id down", "by id up"],
)
def test_every_row_once_in_order_across_ties_and_the_cursor_is_the_last_rows_values(order):
    qs = _staff(7)
    seen, cursors = _all_pages(qs, order, limit=2)
    assert seen == list(qs.order_by(*order).values_list("pk", flat=True))
    shape = r"\d+" if len(order) == 1 else r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\|\d+"
    assert len(cursors) == 3 and all(re.fullmatch(shape, c) for c in cursors)
    third = User.objects.get(pk=seen[3])
    assert cursors[1] == paging.cursor_of(third, [name.removeprefix("-") for name in order])


def test_rows_sharing_an_instant_page_by_id():
    qs = _staff(5, same_instant=True)
    seen, _ = _all_pages(qs, ("-date_joined", "-pk"), limit=2)
    assert seen == sorted(qs.values_list("pk", flat=True), reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "a|b|c",
        "2026-01-01T00:00:00|1",  # no offset: which instant is meant?
        "2026-01-01T00:00:00+00:00",  # cut short
        "2026-01-01T00:00:00+00:00|" + "9" * 40,  # past the id column
        "2026-01-01T00:00:00+00:00|-1",
        "2026-01-01T00:00:00+00:00|\u0663",  # an Arabic-Indic digit
        "\uff12\uff10\uff12\uff16-01-01T00:00:00+00:00|1",  # full-width digits
        "2026-02-30T00:00:00+00:00|1",
    ],
)
def test_a_cursor_that_cannot_be_read_starts_from_the_first_page(cursor):
    qs = _staff(3)
    assert keyset_page(qs, order=("-date_joined", "-pk"), cursor=cursor, limit=2) == keyset_page(
        qs, order=("-date_joined", "-pk"), limit=2
    )


def test_an_order_that_does_not_end_with_the_id_is_refused_as_a_programming_error():
    with pytest.raises(ValueError):
        keyset_page(User.objects.all(), order=("-date_joined",))


# --- the lists on it: every page once, the same statements per page, a tampered cursor refused ---


def _follow(client, url: str, link: str, rows: str) -> tuple[list[int], list[int]]:
    """Every page of a list, following its next link (the regex `link`), the row ids (`rows`) of
    each, and the statements each page read."""
    seen, statements, page_url = [], [], url
    while page_url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url)
        assert response.status_code == 200
        statements.append(len(queries))
        html = response.content.decode()
        seen += list(dict.fromkeys(int(pk) for pk in re.findall(rows, html)))
        found = re.search(link, html)
        page_url = url + unescape(found.group(1)) if found else None
    return seen, statements


def _cases(count: int) -> None:
    today = timezone.localdate()
    for i in range(count):
        CaseFactory(received_on=today - datetime.timedelta(days=i % 9))


def test_the_queue_pages_soonest_due_first_at_the_same_cost_and_refuses_a_tampered_cursor(client_for, dpo):
    """The queue had no query-count assertion: 3 cases and 120 read the same statements a page."""
    client = client_for(dpo)
    url = reverse("requests:queue")
    _cases(3)
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _cases(117)
    link = r'href="(\?[^"]*after=[^"]+)">Next page'
    rows = re.escape(reverse("requests:case", args=[0])).replace("0", r"(\d+)")
    seen, statements = _follow(client, url, link, rows)
    expected = list(Case.objects.order_by("due_on", "pk").values_list("pk", flat=True))
    assert seen == expected and statements == [len(few)] * 3
    for cursor in ("garbage", "2026-01-01:1", "2026-01-01|" + "9" * 40, "\u0663|1"):
        response = client.get(url, {"after": cursor})
        assert response.status_code == 200 and [c.pk for c in response.context["queue"].cases] == expected[:50]


def test_the_lists_share_one_cursor_format(client_for, dpo, agent):
    """The open deletion tasks (soonest due, by date), the inbound texts (newest, by date-time),
    a breach's affected customers (by id) and the queue: the last row's values, "|", its id."""
    from requests.services import breaches as breach_svc
    from tests.factories import CustomerFactory

    now = timezone.now()
    for i in range(51):
        InboundSms.objects.create(
            message_id=f"p-{i}", sender=f"+4474009{i:05d}", text=f"Text {i}",
            received_at=now - datetime.timedelta(seconds=i), outcome=InboundSms.Outcome.NOT_A_STOP,
        )  # fmt: skip
    texts = client_for(agent).get(reverse("customers:inbound_sms")).context["next_before"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00\|\d+", texts)
    assert paging.parse_cursor(InboundSms.objects.all(), ["received_at", "pk"], texts) is not None

    _cases(51)
    queue = client_for(dpo).get(reverse("requests:queue")).context["queue"].next_after
    assert re.fullmatch(r"\d{4}-\d\d-\d\d\|\d+", queue)

    breach = breach_svc.breach_report(
        actor=dpo, summary="Paging", what_happened="A list of customers left on a train.", aware_at=now
    )
    breach_svc.breach_link_customers(actor=dpo, breach=breach, customers=CustomerFactory.create_batch(101))
    affected = client_for(dpo).get(reverse("requests:breach_affected", args=[breach.pk])).context["next_after"]
    assert re.fullmatch(r"\d+", affected)

    assert not DeletionTask.objects.exists()  # their own test pages 150 of them (test_retention_pages_queries)
    assert paging.parse_cursor(DeletionTask.objects.all(), ["due_on", "pk"], "2026-03-01|44") == [
        datetime.date(2026, 3, 1),
        44,
    ]


@pytest.mark.parametrize("cursor", ["garbage", "42", "2026-01-01T00:00:00|1", "\u00b2"])
def test_the_inbound_texts_refuse_a_tampered_cursor_with_the_first_page(client_for, agent, cursor):
    InboundSms.objects.create(
        message_id="p-1", sender="+447400900001", text="Call me", received_at=timezone.now(),
        outcome=InboundSms.Outcome.NOT_A_STOP,
    )  # fmt: skip
    response = client_for(agent).get(reverse("customers:inbound_sms"), {"before": cursor})
    assert response.status_code == 200 and len(response.context["shown"]) == 1
