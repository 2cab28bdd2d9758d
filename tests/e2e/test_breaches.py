"""Journey: an agent reports a misdirected parcel; the DPO assesses it, decides to report it,
downloads the ICO report, records the initial report with the ICO's reference, links 40
affected customers from a CSV and records them told."""

from __future__ import annotations

import io
import re

from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from privacy_portal.models import AccessEvent, User
from requests.models import Breach, BreachAffected
from tests.factories import CustomerFactory, UserFactory


def test_agent_reports_a_misdirected_parcel_and_the_dpo_reports_it_and_tells_40_customers(
    page, sign_in, screenshot, browser_problems, tmp_path
):
    agent = UserFactory(username="amira", role=User.Role.AGENT)
    dpo = UserFactory(username="dinah", role=User.Role.DPO)
    customers = CustomerFactory.create_batch(40, last_name="Pemberton-Oakes")
    aware = timezone.localtime() - timezone.timedelta(hours=3)

    # The agent reports the suspected breach from the navigation.
    sign_in(page, agent)
    page.get_by_role("navigation").get_by_role("link", name="Report a breach").click()
    expect(page.get_by_role("heading", name="Report a suspected breach")).to_be_visible()
    page.get_by_label("What happened, in a few words").fill("Parcel delivered to the wrong address")
    page.get_by_label("What happened", exact=True).fill("The courier left an order at number 12, not 21.")
    page.get_by_label("When we became aware").fill(aware.strftime("%d/%m/%Y %H:%M"))
    page.get_by_label("How it was found").fill("The neighbour phoned customer care.")
    screenshot(page, "breach-agent-reports")
    page.get_by_role("button", name="Report breach").click()
    expect(page.get_by_role("status")).to_contain_text("Reported suspected breach")  # the POST has answered
    breach = Breach.objects.get()
    expect(page.get_by_role("status")).to_contain_text(f"Reported suspected breach {breach.reference}")
    # The agent never reads the register.
    assert page.request.get("/cases/breaches/").status == 403

    # The DPO opens it from the register: 69 hours left on the clock.
    page.context.clear_cookies()
    sign_in(page, dpo)
    page.get_by_role("navigation").get_by_role("link", name="Breaches", exact=True).click()
    expect(page.get_by_role("heading", name="Breach register")).to_be_visible()
    screenshot(page, "breach-register")
    row = page.get_by_role("row", name=re.compile(breach.reference))
    expect(row).to_contain_text(re.compile(r"(68|69) h left"))
    row.get_by_role("link", name=breach.reference).click()
    expect(page.get_by_role("heading", name=re.compile(breach.reference))).to_contain_text("awaiting")
    expect(page.get_by_role("region", name="The 72-hour clock")).to_contain_text(re.compile(r"(68|69) h left"))

    # Assess and decide to report; the risk level follows from likelihood and severity.
    page.get_by_label("Potential consequences for the people affected").fill(
        "A neighbour saw the customers' names, addresses and orders."
    )
    page.get_by_label("Likelihood").select_option(label="Possible")
    page.get_by_label("Severity").select_option(label="Significant")
    page.get_by_label("Report to the ICO?").select_option(label="Yes: report to the ICO")
    page.get_by_label("Tell the people affected?").select_option(label="Yes: tell the people affected (Art 34(1))")
    page.get_by_role("button", name="Record assessment").click()
    expect(page.get_by_role("status")).to_contain_text("Assessment and decision recorded.")
    facts = page.get_by_role("region", name="The breach")
    expect(facts).to_contain_text("Risk")
    screenshot(page, "breach-dpo-assessed")

    # Link the 40 affected customers from a CSV of references.
    page.get_by_role("link", name=re.compile("Affected customers")).click()
    csv_path = tmp_path / "affected.csv"
    csv_path.write_text("customer_reference\n" + "".join(f"{c.reference}\n" for c in customers))
    page.get_by_label("CSV of customer references").set_input_files(str(csv_path))
    page.get_by_role("button", name="Link from file").click()
    expect(page.get_by_role("status")).to_contain_text("Linked 40 customers from the file.")
    expect(page.get_by_label("Progress")).to_contain_text("40 not yet told")

    # Download the ICO report: counts and categories, no customer's name.
    page.get_by_role("link", name="Back to the breach").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the ICO report (PDF)").click()
    pdf = download_info.value
    saved = tmp_path / pdf.suggested_filename
    pdf.save_as(saved)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages).split())
    assert f"Personal data breach report: {breach.reference}" in text
    assert "Customers identified so far 40" in text
    assert "Pemberton-Oakes" not in text and customers[0].email not in text

    # The report's page, laid out as the ICO's form.
    page.get_by_role("link", name="ICO report", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Personal data breach report"))).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Pemberton-Oakes")
    screenshot(page, "breach-ico-report")
    page.go_back()

    # Record the initial report with the ICO's reference.
    page.get_by_text("Record a report to the ICO").click()
    page.get_by_label("ICO case reference").fill("IC-552031-T4W9")
    page.get_by_role("button", name="Record report").click()
    expect(page.get_by_role("status")).to_contain_text("Initial report to the ICO recorded (IC-552031-T4W9).")
    expect(page.get_by_role("region", name="Reports to the ICO")).to_contain_text("IC-552031-T4W9")
    expect(page.get_by_role("region", name="The 72-hour clock")).to_contain_text("Reported to the ICO")

    # Record everyone told by letter.
    page.get_by_role("link", name=re.compile("Affected customers")).click()
    page.get_by_label("How").select_option(label="Letter")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded 40 as told.")
    expect(page.get_by_label("Progress")).to_contain_text("40 told")
    screenshot(page, "breach-dpo-told")

    assert BreachAffected.objects.filter(breach=breach, told="told", method="letter").count() == 40
    assert AccessEvent.objects.filter(user=dpo, action=AccessEvent.Action.VIEW_BREACH_REPORT).count() == 2  # page, PDF
    assert AccessEvent.objects.filter(user=dpo, action=AccessEvent.Action.VIEW_BREACH_AFFECTED).exists()
    assert browser_problems.all() == []


def test_the_dpo_links_a_couriers_month_from_a_query_an_agent_does_its_task_and_a_handler_reads_the_list(
    page, sign_in, screenshot, browser_problems
):
    import datetime

    from requests.services import breaches as svc
    from requests.services.cases import case_assign
    from tests.factories import CaseFactory, DisclosureFactory, RecipientFactory

    agent = UserFactory(username="arun", role=User.Role.AGENT)
    handler = UserFactory(username="hana", role=User.Role.HANDLER)
    dpo = UserFactory(username="dara", role=User.Role.DPO)
    courier = RecipientFactory(name="Swift Parcels Ltd")
    last_week = timezone.now() - datetime.timedelta(days=7)
    disclosed = [DisclosureFactory(recipient=courier, disclosed_at=last_week).customer for _ in range(12)]
    DisclosureFactory(disclosed_at=last_week)  # another recipient: not affected
    told_the_shop = CustomerFactory(last_name="Featherstonehaugh", postcode="SE5 9DF")  # found by search
    breach = svc.breach_report(
        actor=agent, summary="Courier's van stolen with parcels", what_happened="The van and 12 parcels were taken.",
        aware_at=timezone.now() - datetime.timedelta(hours=30),
    )  # fmt: skip
    case = CaseFactory(customer=disclosed[0])
    case_assign(actor=dpo, case=case, handler=handler)
    svc.breach_link_records(actor=dpo, breach=breach, case_references=[case.reference])

    # The DPO chooses the affected customers by a query and sees the count before linking.
    sign_in(page, dpo)
    page.goto(f"/cases/breaches/{breach.pk}/")
    expect(page.get_by_role("region", name="The 72-hour clock")).to_contain_text(re.compile(r"(41|42) h left"))
    page.get_by_role("link", name=re.compile("Affected customers")).click()
    page.get_by_role("link", name=re.compile("From a query")).click()
    page.get_by_label("Customers with").select_option(label="Disclosed to a recipient")
    page.get_by_label("Disclosed to").select_option(label="Swift Parcels Ltd")
    page.get_by_label(re.compile(r"^From")).fill(f"{timezone.localdate() - datetime.timedelta(days=10):%d/%m/%Y}")
    page.get_by_label("To (inclusive)").fill(f"{timezone.localdate():%d/%m/%Y}")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_label("Preview counts")).to_contain_text(re.compile(r"To link\s*12"))
    screenshot(page, "breach-dpo-query-preview")
    page.get_by_role("button", name="Link these 12 customers").click()
    expect(page.get_by_role("status")).to_contain_text("Linked 12 customers from the query")
    expect(page.get_by_label("Progress")).to_contain_text("12 linked")

    # One more, who phoned the shop: found by the desk's search from the breach page and linked.
    page.get_by_role("link", name="Back to the breach").click()
    actions = page.get_by_role("region", name="Actions")
    actions.get_by_text("Find a customer to link").click()
    actions.get_by_label("Name, email, phone, postcode or reference").fill("featherstonehaugh")
    actions.get_by_role("button", name="Search").click()
    row = page.get_by_role("row", name=re.compile(told_the_shop.reference))
    expect(row).to_contain_text("SE5 9DF")
    screenshot(page, "breach-dpo-search")
    row.get_by_role("button", name=re.compile("to this breach")).click()
    expect(page.get_by_role("status")).to_contain_text("Linked 1 customer.")
    expect(page.get_by_label("Progress")).to_contain_text("13 linked")

    # A remedial task for the agent.
    page.get_by_role("link", name="Back to the breach").click()
    page.get_by_text("Add a remedial task").click()
    page.get_by_role("textbox", name="Action").fill("Ring the 12 customers before the letters arrive")
    page.get_by_label("Owner").select_option(label=str(agent))
    page.get_by_label("Due on").fill(f"{timezone.localdate():%d/%m/%Y}")
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("region", name="Containment and remedial tasks")).to_contain_text("Ring the 12")
    screenshot(page, "breach-dpo-page")

    # The agent marks it done from its home page; it never sees the breach itself.
    page.context.clear_cookies()
    sign_in(page, agent)
    tasks = page.get_by_role("region", name="My breach tasks")
    expect(tasks).to_contain_text(breach.reference)
    screenshot(page, "breach-agent-task")
    tasks.get_by_role("button", name="Mark done").click()
    expect(page.get_by_role("status")).to_contain_text("Task done: Ring the 12 customers")
    expect(page.get_by_role("region", name="My breach tasks")).to_have_count(0)
    assert page.request.get(f"/cases/breaches/{breach.pk}/").status in (403, 404)

    # The handler of the linked case reads the affected list: names only of its own case's customer.
    page.context.clear_cookies()
    sign_in(page, handler)
    page.get_by_role("navigation").get_by_role("link", name="My breaches").click()
    page.get_by_role("link", name=breach.reference).click()
    page.get_by_role("link", name=re.compile("Affected customers")).click()
    table = page.get_by_role("table", name="Affected customers")
    expect(table).to_contain_text(disclosed[0].full_name)
    expect(table).not_to_contain_text(disclosed[1].full_name)
    expect(table).to_contain_text(disclosed[1].reference)
    screenshot(page, "breach-handler-affected")

    task = breach.tasks.get()
    assert task.done_by == agent
    assert AccessEvent.objects.filter(user=handler, action=AccessEvent.Action.VIEW_BREACH_AFFECTED).exists()
    assert browser_problems.all() == []
