"""Times typed into the breach forms around the UK clock changes: the hour that happens twice in
October is entered with BST or GMT (and shown that way, so a form shown is a form that saves);
the hour that never happens in March is refused with a message that says so."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from requests.forms.breaches import BreachReportForm
from requests.models import Breach
from requests.services import breaches as svc

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC


def _form(aware_at: str) -> BreachReportForm:
    return BreachReportForm(
        {"summary": "Parcel to the wrong door", "what_happened": "Left next door.", "aware_at": aware_at}
    )


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("25/10/2026 01:30 BST", datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("25/10/2026 01:30 GMT", datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
        ("25/10/2026 01:30 bst", datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("25/10/2026 00:59", datetime.datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),
        ("25/10/2026 02:00", datetime.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
        ("29/03/2026 02:00", datetime.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        ("02/11/2026 09:30:15", datetime.datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC)),
    ],
)
def test_a_time_in_the_repeated_hour_is_entered_with_bst_or_gmt(text, utc):
    form = _form(text)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["aware_at"] == utc


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("25/10/2026 01:30", "happened twice"),
        ("29/03/2026 01:30", "did not exist"),
        ("02/11/2026 09:30 BST", "was GMT"),
        ("02/07/2026 09:30 GMT", "was BST"),
    ],
)
def test_an_ambiguous_impossible_or_mislabelled_uk_time_is_refused_saying_why(text, words):
    form = _form(text)
    assert not form.is_valid()
    assert words in " ".join(form.errors["aware_at"])


def test_an_agent_reports_in_the_repeated_hour_with_its_zone(client_for, agent):
    response = client_for(agent).post(
        reverse("requests:breach_new"),
        {"summary": "Call recording sent to the wrong address", "what_happened": "Emailed to a typo.",
         "aware_at": "25/10/2026 01:30 GMT"},
    )  # fmt: skip
    assert response.status_code == 302
    breach = Breach.objects.get()
    assert breach.aware_at == datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert breach.due_at == datetime.datetime(2026, 10, 28, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "aware",
    [
        datetime.datetime(2026, 10, 25, 1, 30, fold=0, tzinfo=LONDON),
        datetime.datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON),
        datetime.datetime(2026, 11, 2, 9, 30, 15, tzinfo=LONDON),
    ],
)
def test_the_details_form_as_shown_saves_without_moving_the_clock(client_for, dpo, agent, aware):
    breach = svc.breach_report(actor=agent, summary="Lost post bag", what_happened="Order forms.", aware_at=aware)
    client = client_for(dpo)
    html = client.get(breach.get_absolute_url()).content.decode()
    action = reverse("requests:breach_action", args=[breach.pk, "details"])
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    shown = re.search(r'<input[^>]*name="aware_at"[^>]*>', form).group(0)
    value = re.search(r'value="([^"]*)"', shown).group(1)
    response = client.post(
        action, {"summary": "Lost post bag", "what_happened": "Order forms.", "aware_at": value, "cause": "lost_stolen"}
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Details saved."]
    breach.refresh_from_db()
    assert breach.cause == "lost_stolen"
    assert breach.aware_at == aware.astimezone(UTC)


def test_the_due_time_in_the_repeated_hour_is_shown_with_its_zone(client_for, dpo, agent):
    # Aware Thursday 22 October 01:15 BST: due at the first 01:15 on Sunday 25 October (BST).
    aware = datetime.datetime(2026, 10, 22, 1, 15, tzinfo=LONDON)
    breach = svc.breach_report(actor=agent, summary="Neighbour looked up", what_happened="An agent.", aware_at=aware)
    html = client_for(dpo).get(breach.get_absolute_url()).content.decode()
    assert "Sunday 25 October 2026, 01:15 BST" in html


def test_the_reminder_of_a_breach_due_in_the_repeated_hour_names_bst(agent, mailoutbox):
    from requests.services.breach_reminders import breach_reminders_send

    aware = datetime.datetime(2026, 10, 22, 1, 15, tzinfo=LONDON)
    svc.breach_report(actor=agent, summary="Neighbour looked up", what_happened="An agent.", aware_at=aware, now=aware)
    mailoutbox.clear()
    breach_reminders_send(now=aware + datetime.timedelta(hours=66))
    (mail,) = mailoutbox
    assert "Sunday 25 October 2026, 01:15 BST" in mail.subject
    assert "Thursday 22 October 2026, 01:15 BST" in mail.body
