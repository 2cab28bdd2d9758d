"""Breach pages: who may use each (agents report but never read the register; handlers see the
breaches linked to their cases; auditors read; the DPO acts), the register's counts and chart,
the CSVs, the affected list and the ICO report (each read recorded), and bad input on the pages."""

from __future__ import annotations

import csv
import datetime
import io
import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from privacy_portal import legal
from privacy_portal.models import AccessEvent
from requests.models import Breach, BreachAffected
from requests.selectors.breaches import DUE_SOON_HOURS
from requests.services import breaches as svc
from requests.services.cases import case_assign
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def report(actor, **kwargs) -> Breach:
    return svc.breach_report(
        actor=actor,
        summary=kwargs.pop("summary", "Parcel delivered to the wrong address"),
        what_happened=kwargs.pop("what_happened", "The courier left it next door."),
        aware_at=kwargs.pop("aware_at", timezone.now() - 2 * HOUR),
        **kwargs,
    )


def url(name: str, *args) -> str:
    return reverse(f"requests:{name}", args=args)


# --- reporting -------------------------------------------------------------------------------


def test_an_agent_reports_a_suspected_breach_from_the_short_form_and_the_dpo_is_told(
    client_for, agent, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(agent)
    assert client.get(url("breach_new")).status_code == 200
    aware = timezone.localtime() - HOUR
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("breach_new"),
            {"summary": "Order forms lost in the post", "what_happened": "A post bag of order forms did not arrive.",
             "aware_at": aware.strftime("%d/%m/%Y %H:%M")},
        )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == reverse("home")
    breach = Breach.objects.get()
    assert breach.reported_by == agent and breach.status == "suspected"
    assert len(mailoutbox) == 1


def test_the_report_form_names_the_field_with_an_impossible_time_and_stores_nothing(client_for, agent):
    future = (timezone.localtime() + 3 * HOUR).strftime("%d/%m/%Y %H:%M")
    response = client_for(agent).post(url("breach_new"), {"summary": "x", "what_happened": "y", "aware_at": future})
    assert response.status_code == 200
    assert svc.ERR_AWARE_FUTURE in response.content.decode()
    assert not Breach.objects.exists()


@pytest.mark.parametrize("role", ["agent", "itadmin", "nobody"])
def test_others_are_refused_the_register_with_403_and_the_refusal_is_logged(client_for, cast, role, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client_for(cast[role]).get(url("breaches"))
    assert response.status_code == 403
    assert f"permission denied user_id={cast[role].pk} view=breach_list" in caplog.text


def test_the_register_refuses_post(client_for, dpo):
    assert client_for(dpo).post(url("breaches")).status_code == 405


# --- the register --------------------------------------------------------------------------------


@pytest.mark.slow  # bench-like: the rows grown to compare query counts
def test_the_dpo_sees_open_due_soon_and_overdue_with_the_charts_in_queries_that_do_not_grow_with_the_rows(
    client_for, dpo, agent
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    report(agent, aware_at=timezone.now() - 60 * HOUR)  # due in 12 hours
    report(agent, aware_at=timezone.now() - 80 * HOUR)  # overdue
    for _ in range(8):
        report(agent)
    client = client_for(dpo)
    client.get(url("breaches"))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        response = client.get(url("breaches"))
    text = response.content.decode()
    counts = response.context["result"]["counts"]
    assert counts == {"open": 10, "due24": 1, "overdue": 1}
    assert "Overdue by 8 h" in text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in text and "Breaches by cause" in text
    for _ in range(30):
        svc.breach_link_customers(actor=dpo, breach=report(agent), customers=[CustomerFactory()])
    with CaptureQueriesContext(connection) as many:
        client.get(url("breaches"))
    assert len(many) == len(few) <= 20
    assert len(client.get(url("breaches") + "?show=overdue").context["result"]["breaches"]) == 1


def test_a_handler_sees_only_the_breaches_linked_to_its_own_cases(client_for, dpo, agent, handler, other_handler):
    case = CaseFactory()
    case_assign(actor=dpo, case=case, handler=handler)
    linked, other = report(agent, summary="Linked one"), report(agent, summary="Other one")
    svc.breach_link_records(actor=dpo, breach=linked, case_references=[case.reference])
    client = client_for(handler)
    rows = client.get(url("breaches")).context["result"]["breaches"]
    assert [b.pk for b in rows] == [linked.pk]
    assert client.get(url("breach", linked.pk)).status_code == 200
    assert client.get(url("breach", other.pk)).status_code == 404
    assert client_for(other_handler).get(url("breach", linked.pk)).status_code == 404


@pytest.mark.parametrize("role", ["agent", "handler", "itadmin"])
def test_whoever_has_no_view_breach_on_it_gets_404_for_every_breach_page_and_it_is_logged(
    client_for, cast, agent, role, caplog
):
    """requests.access.breach_for checks view_breach on the object, as case_for does: the model
    permission, a grant on this breach, or (a handler) a link to its own requests and complaints."""
    breach = report(agent)
    client = client_for(cast[role])
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        for name in ("breach", "breach_affected"):
            assert client.get(url(name, breach.pk)).status_code == 404
    assert f"object hidden user_id={cast[role].pk} model=requests.Breach id={breach.pk}" in caplog.text


def test_view_breach_granted_on_one_breach_opens_that_one_and_no_other(client_for, handler, agent):
    from guardian.shortcuts import assign_perm

    granted, other = report(agent, summary="Granted one"), report(agent, summary="Other one")
    assign_perm("requests.view_breach", handler, granted)
    client = client_for(handler)
    assert client.get(url("breach", granted.pk)).status_code == 200
    assert client.get(url("breach_affected", granted.pk)).status_code == 200
    assert client.get(url("breach", other.pk)).status_code == 404
    assert [b.pk for b in client.get(url("breaches")).context["result"]["breaches"]] == [granted.pk]
    # A grant to read is not one to assess: the DPO's steps stay refused.
    assert client.get(url("breach_ico_report", granted.pk)).status_code == 403


def test_the_auditor_reads_the_register_and_its_csv_but_changes_nothing(client_for, auditor, agent):
    breach = report(agent, summary="=HYPERLINK(evil)")
    client = client_for(auditor)
    assert client.get(url("breach", breach.pk)).status_code == 200
    response = client.get(url("breaches_csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Reference" and rows[1][0] == breach.reference
    assert rows[1][2] == "'=HYPERLINK(evil)"  # spreadsheet-safe
    assert AccessEvent.objects.filter(user=auditor, action="export", search_kind="breaches").exists()
    response = client.post(url("breach_action", breach.pk, "assess"), {"consequences": "x"})
    assert response.status_code == 403


def test_the_clock_warns_within_the_due_soon_window_on_the_register_and_the_breach_page(client_for, dpo, agent):
    soon = report(agent, aware_at=timezone.now() - (legal.BREACH_REPORT_HOURS - DUE_SOON_HOURS + 2) * HOUR)
    later = report(agent, summary="Letter to the wrong address", aware_at=timezone.now() - 2 * HOUR)
    client = client_for(dpo)
    left = rf"{DUE_SOON_HOURS - 3}|{DUE_SOON_HOURS - 2}"
    warn = re.compile(rf'<span class="badge badge-warn">({left}) h left</span>')
    register = client.get(url("breaches")).content.decode()
    assert len(warn.findall(register)) == 1
    assert warn.search(client.get(url("breach", soon.pk)).content.decode())
    page = client.get(url("breach", later.pk)).content.decode()
    assert "h left</span>" in page and not re.search(r'badge-warn">\d+ h left', page)


# --- the DPO's actions on the page -----------------------------------------------------------------


def test_the_dpo_assesses_from_the_page_and_a_missing_reason_is_named(client_for, dpo, agent):
    breach = report(agent)
    client = client_for(dpo)
    page = client.get(url("breach", breach.pk))
    assert "69 h left" in page.content.decode() or "70 h left" in page.content.decode()
    data = {"consequences": "Little", "likelihood": "remote", "severity": "remote", "report_to_ico": "no",
            "tell_people": "not_high", "tell_people_reason": "Returned unopened"}  # fmt: skip
    response = client.post(url("breach_action", breach.pk, "assess"), data, follow=True)
    assert f"Reasons for the decision: {svc.ERR_NO_REPORT_REASON}" in response.content.decode()
    assert Breach.objects.get().report_to_ico is None
    data["ico_decision_reason"] = "The parcel came back sealed"
    response = client.post(url("breach_action", breach.pk, "assess"), data, follow=True)
    assert "Assessment and decision recorded." in response.content.decode()
    assert Breach.objects.get().report_to_ico is False


def test_the_breach_page_shows_likelihood_and_severity_each_once_in_its_own_words(client_for, dpo, agent):
    import re

    breach = report(agent)
    svc.breach_assess(
        actor=dpo, breach=breach, consequences="A neighbour saw the order", likelihood="possible", severity="likely",
        report_to_ico=True, ico_decision_reason="", tell_people="yes", tell_people_reason="",
    )  # fmt: skip
    text = " ".join(client_for(dpo).get(url("breach", breach.pk)).content.decode().split())
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", text))
    assert facts["Likelihood"] == "Possible" and facts["Severity"] == "Severe"
    assert "Likelihood / severity" not in text and "Possible / significant" not in text
    assert text.count("<dt>Likelihood</dt>") == 1 and text.count("<dt>Severity</dt>") == 1
    content = client_for(dpo).get(url("breach_ico_report", breach.pk)).context["content"]
    consequences = dict(dict(content["sections"])["Potential consequences"])
    assert consequences["Likelihood"] == "Possible" and consequences["Severity"] == "Severe"


def test_a_csv_upload_with_bad_rows_names_each_line_and_links_nothing(client_for, dpo, agent):
    breach = report(agent)
    good = CustomerFactory()
    data = f"customer_reference\n{good.reference}\nC-999999\n{good.reference}\n".encode()
    upload = SimpleUploadedFile("affected.csv", data, content_type="text/csv")
    response = client_for(dpo).post(url("breach_action", breach.pk, "link_csv"), {"file": upload}, follow=True)
    text = response.content.decode()
    assert f"Line 3, column customer_reference: {svc.ERR_CSV_UNKNOWN}" in text
    assert f"Line 4, column customer_reference: {svc.ERR_CSV_DUPLICATE.format(line=2)}" in text
    assert not BreachAffected.objects.exists()


def test_the_affected_list_is_recorded_in_the_access_log_with_the_ids_shown(client_for, dpo, auditor, agent):
    breach = report(agent)
    customers = CustomerFactory.create_batch(3)
    svc.breach_link_customers(actor=dpo, breach=breach, customers=customers)
    response = client_for(auditor).get(url("breach_affected", breach.pk))
    assert response.status_code == 200
    event = AccessEvent.objects.get(action=AccessEvent.Action.VIEW_BREACH_AFFECTED)
    assert event.user == auditor and event.object_id == breach.pk
    assert sorted(event.result_ids) == sorted(c.pk for c in customers)


def test_the_mailing_house_export_lists_those_not_yet_told_and_is_recorded(client_for, dpo, agent):
    breach = report(agent)
    told, waiting = CustomerFactory.create_batch(2)
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[told, waiting])
    svc.breach_record_told(actor=dpo, breach=breach, told="told", method="email", told_at=timezone.now(),
                           customers=[told])  # fmt: skip
    response = client_for(dpo).get(url("breach_affected_export", breach.pk))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [waiting.reference]
    assert rows[1][9] == waiting.email
    assert AccessEvent.objects.filter(user=dpo, action="export", object_id=breach.pk).exists()


def test_the_auditor_cannot_download_the_mailing_list(client_for, auditor, agent):
    assert client_for(auditor).get(url("breach_affected_export", report(agent).pk)).status_code == 403


# --- the ICO report -----------------------------------------------------------------------------------


def test_the_ico_report_page_and_pdf_hold_no_personal_value_of_an_affected_customer(client_for, dpo, agent):
    person = CustomerFactory(
        first_name="Hermione", last_name="Fairweather", email="h.fairweather@example.co.uk", phone="+447912555777",
        address_line1="3 Orchard Row", town="Ludlow", postcode="SY8 1AB",
    )  # fmt: skip
    breach = report(
        agent,
        summary="Parcel for Mrs Fairweather sent next door",
        what_happened=f"Hermione Fairweather's parcel ({person.reference}) went to 5 Orchard Row, not 3 orchard row, "
        "SY8 1AB; she rang from 07912 555777 and wrote from H.Fairweather@example.co.uk.",
    )
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[person])
    svc.breach_update(
        actor=dpo, breach=breach, summary=breach.summary, what_happened=breach.what_happened,
        how_discovered="Ms fairweather phoned", discovered_by="Customer care", aware_at=breach.aware_at,
        happened_at=None, cause="human_error", data_categories=["basic_identifiers"], people_categories=["customers"],
        people_count=1, records_count=1, containment="Courier asked to collect it from Ludlow",
    )  # fmt: skip
    client = client_for(dpo)
    page = client.get(url("breach_ico_report", breach.pk)).content.decode()
    pdf = client.get(url("breach_ico_report_pdf", breach.pk)).content
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    personal = [person.first_name, person.last_name, person.email, person.phone, "07912 555777", person.address_line1,
                person.postcode, person.town, person.reference, "3 orchard row"]  # fmt: skip
    for text in (" ".join(page.split()), " ".join(pdf_text.split())):
        assert "Basic personal identifiers" in text and "Approximate number of people affected" in text
        for value in personal:
            assert value.lower() not in text.lower(), value
    assert "5 Orchard Row" in page  # the neighbour's address is not the customer's
    assert AccessEvent.objects.filter(user=dpo, action=AccessEvent.Action.VIEW_BREACH_REPORT).count() == 2


def test_the_ico_report_follows_the_icos_form_order(client_for, dpo, agent):
    breach = report(agent)
    content = client_for(dpo).get(url("breach_ico_report", breach.pk)).context["content"]
    assert [title for title, _ in content["sections"]] == [
        "Report type", "About the breach", "The personal data", "Potential consequences", "Taking action",
        "Telling the people affected",
    ]  # fmt: skip


# --- from the access log -----------------------------------------------------------------------------


def test_the_dpo_turns_a_flagged_break_glass_opening_into_a_breach_from_the_dashboard(client_for, dpo, handler):
    customer = CustomerFactory()
    event = AccessEvent.objects.create(
        user=handler, action="break_glass", customer_id=customer.pk, reason="curious", flagged=True
    )
    client = client_for(dpo)
    home = client.get(reverse("home")).content.decode()
    assert "Turn into a breach" in home and "Personal-data breaches" in home
    response = client.post(url("breach_from_access"), {"event_ids": str(event.pk), "summary": "Neighbour lookup"})
    breach = Breach.objects.get()
    assert response["Location"] == breach.get_absolute_url()
    assert breach.access_event_ids == [event.pk]
    assert list(breach.affected.values_list("customer_id", flat=True)) == [customer.pk]


def test_the_navigation_shows_the_register_to_those_who_may_see_it_and_report_to_agents(client_for, cast):
    for role, expected in [("dpo", "Breaches"), ("auditor", "Breaches"), ("handler", "My breaches"),
                           ("agent", "Report a breach")]:  # fmt: skip
        nav = client_for(cast[role]).get(reverse("home")).content.decode()
        assert f">{expected}</a>" in nav, role
    assert "Breaches</a>" not in client_for(cast["agent"]).get(reverse("home")).content.decode()


def test_the_dpo_turns_a_members_unusual_run_of_openings_into_one_breach_with_every_entry(client_for, dpo, agent):
    opened = CustomerFactory.create_batch(3)
    events = [AccessEvent.objects.create(user=agent, action="view_customer", customer_id=c.pk) for c in opened]
    client = client_for(dpo)
    page = client.get(reverse("staff_access", args=[agent.pk])).content.decode()
    assert "Turn the 3 entries on this page into a breach" in page
    ids = " ".join(str(e.pk) for e in events)
    client.post(url("breach_from_access"), {"event_ids": ids, "summary": f"Unusual access by staff {agent.pk}"})
    breach = Breach.objects.get()
    assert breach.access_event_ids == sorted(e.pk for e in events)
    assert set(breach.affected.values_list("customer_id", flat=True)) == {c.pk for c in opened}
    assert breach.cause == "unauthorised_access"


# --- remedial tasks: their owners mark them done ---------------------------------------------------


def _task(dpo, breach, owner, title="Ask the courier to collect the parcel"):
    return svc.breach_task_add(actor=dpo, breach=breach, title=title, owner=owner, due_on=timezone.localdate())


def test_an_agent_owning_a_task_sees_it_at_home_and_marks_it_done_with_history(client_for, dpo, agent):
    breach = report(agent)
    task = _task(dpo, breach, agent)
    client = client_for(agent)
    home = client.get(reverse("home")).content.decode()
    assert "My breach tasks" in home and task.title in home and breach.reference in home
    assert reverse("requests:breach_task_done", args=[task.pk]) in home
    response = client.post(url("breach_task_done", task.pk), {"next": reverse("home")}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert f"Task done: {task.title} ({breach.reference})." in response.content.decode()
    task.refresh_from_db()
    assert task.done_by == agent and task.done_at is not None
    latest = task.history.order_by("-history_id").first()
    assert latest.history_user == agent and latest.history_change_reason == "Done"
    assert "No open tasks." in client.get(url("breach_tasks")).content.decode()


@pytest.mark.parametrize("role", ["handler", "other_handler", "auditor", "itadmin", "nobody"])
def test_nobody_but_the_owner_or_the_dpo_may_mark_a_task_done(client_for, cast, dpo, agent, role):
    task = _task(dpo, report(agent), agent)
    assert client_for(cast[role]).post(url("breach_task_done", task.pk)).status_code in (403, 404)
    task.refresh_from_db()
    assert task.done_at is None


def test_the_dpo_marks_anyones_task_done_from_the_breach_page(client_for, dpo, agent, handler):
    breach = report(agent)
    task = _task(dpo, breach, handler)
    client = client_for(dpo)
    page = client.get(url("breach", breach.pk)).content.decode()
    assert reverse("requests:breach_task_done", args=[task.pk]) in page
    response = client.post(url("breach_task_done", task.pk), {"next": url("breach", breach.pk)})
    assert response["Location"] == url("breach", breach.pk)
    task.refresh_from_db()
    assert task.done_by == dpo


def test_marking_a_task_done_twice_says_so_and_refuses_get_and_a_foreign_next(client_for, dpo, agent):
    task = _task(dpo, report(agent), agent)
    client = client_for(agent)
    assert client.get(url("breach_task_done", task.pk)).status_code == 405
    client.post(url("breach_task_done", task.pk))
    response = client.post(url("breach_task_done", task.pk), {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == url("breach_tasks")
    assert svc.ERR_TASK_DONE in response.content.decode()
    assert client_for(dpo).post(url("breach_task_done", 999999)).status_code == 404


def test_tasks_go_to_agents_handlers_and_the_dpo_never_to_an_auditor_or_the_it_administrator(cast):
    from requests.forms.breaches import TaskForm

    owners = set(TaskForm().fields["owner"].queryset)
    assert {cast["agent"], cast["handler"], cast["dpo"]} <= owners
    assert not owners & {cast["auditor"], cast["itadmin"], cast["nobody"]}


# --- the affected list: whoever may see the breach ------------------------------------------------


def test_a_handler_reads_the_affected_list_of_a_breach_linked_to_its_case_named_only_for_its_customers(
    client_for, dpo, agent, handler, other_handler
):
    case = CaseFactory(customer=CustomerFactory(last_name="Ashcombe"))
    case_assign(actor=dpo, case=case, handler=handler)
    breach = report(agent)
    svc.breach_link_records(actor=dpo, breach=breach, case_references=[case.reference])
    stranger = CustomerFactory(last_name="Quennell")
    svc.breach_link_customers(actor=dpo, breach=breach, customers=[case.customer, stranger])
    client = client_for(handler)
    page = client.get(url("breach", breach.pk)).content.decode()
    assert url("breach_affected", breach.pk) in page and "Affected customers (2)" in page
    response = client.get(url("breach_affected", breach.pk))
    text = response.content.decode()
    assert response.status_code == 200
    assert case.customer.reference in text and stranger.reference in text
    assert "Ashcombe" in text and "Quennell" not in text
    assert reverse("customers:detail", args=[stranger.pk]) not in text
    assert "Record them told" not in text and "mailing house" not in text
    event = AccessEvent.objects.get(user=handler, action=AccessEvent.Action.VIEW_BREACH_AFFECTED)
    assert event.object_id == breach.pk and sorted(event.result_ids) == sorted([case.customer.pk, stranger.pk])
    # Another handler, and a breach not linked to the case: as if it did not exist.
    assert client_for(other_handler).get(url("breach_affected", breach.pk)).status_code == 404
    assert client.get(url("breach_affected", report(agent).pk)).status_code == 404
    assert client_for(agent).get(url("breach_affected", breach.pk)).status_code in (403, 404)


@pytest.mark.slow  # bench-like: 250 customers
@pytest.mark.parametrize("role", ["dpo", "auditor", "handler"])
def test_the_affected_list_costs_the_same_queries_at_3_and_at_250_customers_and_pages_by_keyset(
    client_for, cast, dpo, agent, role, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = CaseFactory()
    case_assign(actor=dpo, case=case, handler=cast["handler"])
    breach = report(agent)
    svc.breach_link_records(actor=dpo, breach=breach, case_references=[case.reference])
    svc.breach_link_customers(actor=dpo, breach=breach, customers=CustomerFactory.create_batch(3))
    client = client_for(cast[role])
    client.get(url("breach_affected", breach.pk))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(url("breach_affected", breach.pk))
    svc.breach_link_customers(actor=dpo, breach=breach, customers=CustomerFactory.create_batch(247))
    with django_assert_max_num_queries(len(few)):
        first = client.get(url("breach_affected", breach.pk))
    assert len(first.context["rows"]) == 100 and first.context["next_after"]
    seen = [r.customer_id for r in first.context["rows"]]
    after = first.context["next_after"]
    while after:
        with django_assert_max_num_queries(len(few)):
            response = client.get(url("breach_affected", breach.pk) + f"?after={after}")
        seen += [r.customer_id for r in response.context["rows"]]
        after = response.context["next_after"]
    assert sorted(seen) == sorted(breach.affected.values_list("customer_id", flat=True)) and len(seen) == 250
    assert AccessEvent.objects.filter(user=cast[role], action=AccessEvent.Action.VIEW_BREACH_AFFECTED).count() == 5


def test_the_page_and_the_ico_report_say_not_yet_known_for_an_unknown_cause_and_counts(client_for, dpo, agent):
    import re

    breach = report(agent)
    text = " ".join(client_for(dpo).get(url("breach", breach.pk)).content.decode().split())
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", text))
    assert "Personal-data breach · Cause not yet known" in text
    assert facts["Number of records"] == "Not yet known" and facts["Number of people"].startswith("Not yet known")
    content = client_for(dpo).get(url("breach_ico_report", breach.pk)).context["content"]
    assert dict(dict(content["sections"])["About the breach"])["Was it a cyber incident?"] == "Not yet known"


# --- detection: access patterns on the DPO's dashboard -------------------------------------------------


def test_the_dashboard_shows_a_staff_member_opening_a_customer_with_its_own_surname_to_turn_into_a_breach(
    client_for, dpo, agent
):
    from requests.selectors.breaches import access_patterns

    agent.last_name = "Trevelyan"
    agent.save()
    namesake, other = CustomerFactory(last_name="TREVELYAN"), CustomerFactory(last_name="Oakley")
    opened = AccessEvent.objects.create(user=agent, action="view_customer", customer_id=namesake.pk)
    AccessEvent.objects.create(user=agent, action="view_customer", customer_id=other.pk)
    AccessEvent.objects.create(
        user=agent, action="view_customer", customer_id=namesake.pk, at=timezone.now() - datetime.timedelta(days=31)
    )
    assert [e.pk for e in access_patterns()["namesakes"]] == [opened.pk]
    home = " ".join(client_for(dpo).get(reverse("home")).content.decode().split())
    assert "Access patterns to review" in home and f'name="event_ids" value="{opened.pk}"' in home
    client_for(dpo).post(url("breach_from_access"), {"event_ids": str(opened.pk), "summary": "Namesake lookup"})
    assert Breach.objects.get().access_event_ids == [opened.pk]
    assert access_patterns()["namesakes"] == []  # now a breach's evidence


def test_the_dashboard_lists_staff_who_opened_an_unusual_number_of_customers_in_24_hours(
    client_for, dpo, agent, handler
):
    from requests.selectors.breaches import UNUSUAL_OPENINGS_PER_DAY, access_patterns

    n = UNUSUAL_OPENINGS_PER_DAY
    AccessEvent.objects.bulk_create(
        [AccessEvent(user=agent, action="view_customer", customer_id=10_000 + i) for i in range(n)]
        + [AccessEvent(user=handler, action="view_customer", customer_id=20_000 + i) for i in range(n - 1)]
        # The same customer again and again is not a run of different customers.
        + [AccessEvent(user=handler, action="view_customer", customer_id=20_000) for _ in range(5)]
    )
    # One more, but 25 hours ago: outside the window.
    AccessEvent.objects.create(user=handler, action="view_customer", customer_id=30_000, at=timezone.now() - 25 * HOUR)
    assert access_patterns()["heavy"] == [{"user": agent, "customers": n}]
    home = client_for(dpo).get(reverse("home")).content.decode()
    assert f'href="{reverse("staff_access", args=[agent.pk])}"' in home and f"{n} customers" in home
