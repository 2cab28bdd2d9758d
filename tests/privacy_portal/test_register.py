"""The register of processing activities (Art 30), its supplementary information (Art 15), and the
privacy notice archive: seeded from the notice, read by the entitled, kept by the DPO with history."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import Recipient
from privacy_portal import legal
from privacy_portal.models import PrivacyNoticeVersion, ProcessingActivity
from privacy_portal.services.register import (
    ERR_DATE_TAKEN,
    ERR_LABEL_TAKEN,
    ERR_REASON,
    ERR_SAFEGUARDS,
    REGISTER_CSV_HEADER,
    activity_save,
    current_notice_version,
    notice_version_publish,
    supplementary_information,
)
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db

SEEDED = [
    "Orders and payment",
    "Instalments and third-party finance",
    "Direct marketing by email",
    "Direct marketing by SMS",
    "Direct marketing by phone",
    "Direct marketing by post",
    "Online advertising",
    "Call recording and transcription",
    "Customer service correspondence",
    "Fraud prevention",
    "Analytics",
    "Rights requests",
    "Complaints",
    "Audit",
]


# --- Seeded from the notice -------------------------------------------------------------------------


def test_the_register_is_seeded_with_every_activity_the_notice_describes():
    assert list(ProcessingActivity.objects.values_list("name", flat=True)) == SEEDED


def test_retention_in_the_register_follows_the_legal_figures():
    calls = ProcessingActivity.objects.get(name="Call recording and transcription")
    assert calls.retention_period == f"{legal.CALL_RETENTION_MONTHS} months"
    for name in ("Rights requests", "Complaints"):
        assert ProcessingActivity.objects.get(name=name).retention_period == f"{legal.CASE_FILE_RETENTION_YEARS} years"


def test_call_transcription_names_its_us_recipient_and_the_safeguards():
    calls = ProcessingActivity.objects.get(name="Call recording and transcription")
    assert [r.code for r in calls.recipients.all()] == ["verbatim-ai"]
    assert "United States" in calls.transfers and "UK Addendum" in calls.transfer_safeguards
    assert calls.history.get().history_change_reason == "Seeded from the privacy notice"


def test_the_current_notice_is_archived():
    notice = current_notice_version()
    assert notice.label == "2026-06"
    assert "Your Personal Data Rights" in notice.text


# --- Supplementary information for access responses --------------------------------------------------


def test_supplementary_information_answers_every_item_of_art_15():
    info = supplementary_information()
    json.dumps(info)  # ready for the export as it is
    assert {
        "controller",
        "privacy_notice",
        "processing_activities",
        "purposes",
        "lawful_bases",
        "categories_of_personal_data",
        "recipients",
        "retention",
        "sources",
        "international_transfers",
        "automated_decision_making",
        "rights",
        "complaints",
    } <= set(info)
    assert [a["name"] for a in info["processing_activities"]] == SEEDED
    assert info["privacy_notice"] == {"version": "2026-06", "effective_on": "2026-06-01"}
    assert any("right to erasure" in r for r in info["rights"])
    assert info["complaints"]["ico"]["website"] == "https://ico.org.uk/"
    transcription = next(r for r in info["recipients"] if r["name"] == "Verbatim AI Inc.")
    assert transcription["transfer_safeguard"].startswith("EU standard contractual clauses with the UK Addendum")
    retention = {r["activity"]: r["period"] for r in info["retention"]}
    assert retention["Rights requests"] == f"{legal.CASE_FILE_RETENTION_YEARS} years"


def test_supplementary_information_follows_the_dpos_edits(dpo):
    activity = ProcessingActivity.objects.get(name="Analytics")
    _save(dpo, activity, retention_period="26 months", reason="Analytics retention shortened")
    info = supplementary_information()
    assert {"activity": "Analytics", "period": "26 months", "starts": activity.retention_trigger} in info["retention"]


def test_inactive_recipients_are_not_named_in_the_supplementary_information(dpo):
    hmrc = Recipient.objects.get(code="hmrc")
    hmrc.active = False
    hmrc.save()
    names = [r["name"] for r in supplementary_information()["recipients"]]
    assert "HM Revenue & Customs" not in names and "Verbatim AI Inc." in names


# --- Editing with history ---------------------------------------------------------------------------


def _fields(activity: ProcessingActivity) -> dict:
    return {
        "name": activity.name,
        "purpose": activity.purpose,
        "lawful_basis": activity.lawful_basis,
        "lawful_basis_detail": activity.lawful_basis_detail,
        "data_subjects": activity.data_subjects,
        "data_categories": activity.data_categories,
        "source": activity.source,
        "recipients": list(activity.recipients.all()),
        "recipients_detail": activity.recipients_detail,
        "retention_period": activity.retention_period,
        "retention_trigger": activity.retention_trigger,
        "transfers": activity.transfers,
        "transfer_safeguards": activity.transfer_safeguards,
        "security_measures": activity.security_measures,
        "position": activity.position,
    }


def _save(actor, activity, **changes):
    return activity_save(actor=actor, activity=activity, **(_fields(activity) | changes))


def test_the_dpo_changes_an_activity_and_the_history_keeps_who_why_and_the_old_recipients(dpo):
    activity = ProcessingActivity.objects.get(name="Orders and payment")
    before = {r.pk for r in activity.recipients.all()}
    courier = RecipientFactory(name="New Courier Ltd")
    _save(dpo, activity, recipients=[*activity.recipients.all(), courier], reason="Second courier contracted")
    latest = activity.history.first()
    assert (latest.history_user, latest.history_change_reason) == (dpo, "Second courier contracted")
    assert {r.recipient_id for r in latest.recipients.all()} == before | {courier.pk}
    seeded = activity.history.last()
    assert {r.recipient_id for r in seeded.recipients.all()} == before


def test_a_change_needs_a_reason(dpo):
    activity = ProcessingActivity.objects.get(name="Analytics")
    with pytest.raises(ValidationError) as excinfo:
        _save(dpo, activity, retention_period="1 year")
    assert excinfo.value.message_dict["reason"] == [ERR_REASON]


def test_transfers_need_their_safeguards(dpo):
    activity = ProcessingActivity.objects.get(name="Analytics")
    with pytest.raises(ValidationError) as excinfo:
        _save(dpo, activity, transfer_safeguards="", reason="x")
    assert excinfo.value.message_dict["transfer_safeguards"] == [ERR_SAFEGUARDS]


# --- Pages --------------------------------------------------------------------------------------------


READERS = [("dpo", 200), ("auditor", 200), ("handler", 200), ("agent", 200), ("itadmin", 403), ("nobody", 403)]


@pytest.mark.parametrize(("role", "status"), READERS)
def test_the_register_is_read_by_everyone_entitled(client_for, cast, role, status):
    client = client_for(cast[role])
    activity = ProcessingActivity.objects.get(name="Fraud prevention")
    for url in (reverse("register"), reverse("register_csv"), reverse("register_activity", args=[activity.pk])):
        assert client.get(url).status_code == status, url
    notice = PrivacyNoticeVersion.objects.get()
    for url in (reverse("notices"), reverse("notice_version", args=[notice.pk])):
        assert client.get(url).status_code == status, url


def test_the_register_page_lists_every_activity(client_for, dpo, django_assert_max_num_queries):
    client = client_for(dpo)
    with django_assert_max_num_queries(10):
        body = client.get(reverse("register")).content.decode()
    for name in SEEDED:
        assert name in body


def test_the_register_downloads_as_csv(client_for, auditor):
    response = client_for(auditor).get(reverse("register_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="register-of-processing-activities-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(REGISTER_CSV_HEADER)
    assert [r[0] for r in rows[1:]] == SEEDED
    calls = next(r for r in rows if r[0] == "Call recording and transcription")
    assert calls[8] == "Verbatim AI Inc."


def test_the_csv_cannot_smuggle_a_spreadsheet_formula(client_for, dpo):
    activity = ProcessingActivity.objects.get(name="Analytics")
    _save(dpo, activity, purpose='=HYPERLINK("http://evil.example")', reason="test")
    rows = list(csv.reader(io.StringIO(client_for(dpo).get(reverse("register_csv")).content.decode("utf-8-sig"))))
    assert next(r for r in rows if r[0] == "Analytics")[1].startswith("'=")


def test_the_dpo_edits_an_activity_through_the_page(client_for, dpo):
    activity = ProcessingActivity.objects.get(name="Analytics")
    data = _fields(activity) | {"recipients": [r.pk for r in activity.recipients.all()]}
    data |= {"retention_period": "14 months", "reason": "Aligned with the analytics setting"}
    response = client_for(dpo).post(reverse("register_activity_edit", args=[activity.pk]), data)
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.retention_period == "14 months"
    page = client_for(dpo).get(reverse("register_activity", args=[activity.pk])).content.decode()
    assert "Aligned with the analytics setting" in page


def test_the_dpo_adds_an_activity(client_for, dpo):
    data = _fields(ProcessingActivity.objects.get(name="Analytics")) | {"name": "Customer surveys", "recipients": []}
    response = client_for(dpo).post(reverse("register_activity_create"), data)
    assert response.status_code == 302
    assert ProcessingActivity.objects.get(name="Customer surveys").history.get().history_user == dpo


@pytest.mark.parametrize("role", ["auditor", "handler", "agent", "itadmin", "nobody"])
def test_only_the_dpo_changes_the_register_or_the_archive(client_for, cast, role):
    client = client_for(cast[role])
    activity = ProcessingActivity.objects.get(name="Analytics")
    assert client.get(reverse("register_activity_create")).status_code == 403
    assert client.post(reverse("register_activity_edit", args=[activity.pk]), {}).status_code == 403
    assert client.post(reverse("notice_publish"), {}).status_code == 403


def test_the_register_pages_refuse_other_methods(client_for, dpo):
    client = client_for(dpo)
    activity = ProcessingActivity.objects.get(name="Analytics")
    notice = PrivacyNoticeVersion.objects.get()
    for url in (
        reverse("register"),
        reverse("register_csv"),
        reverse("register_activity", args=[activity.pk]),
        reverse("notices"),
        reverse("notice_version", args=[notice.pk]),
    ):
        assert client.post(url).status_code == 405, url
    assert client.put(reverse("register_activity_edit", args=[activity.pk])).status_code == 405
    assert client.put(reverse("notice_publish")).status_code == 405


# --- The privacy notice archive -------------------------------------------------------------------------


def test_the_dpo_archives_a_new_version_which_takes_effect_on_its_day(client_for, dpo):
    data = {"label": "2027-01", "effective_on": "01/01/2027", "text": "The new notice.", "summary_of_changes": "AI"}
    response = client_for(dpo).post(reverse("notice_publish"), data)
    version = PrivacyNoticeVersion.objects.get(label="2027-01")
    assert response.status_code == 302 and response["Location"] == version.get_absolute_url()
    assert current_notice_version(datetime.date(2026, 12, 31)).label == "2026-06"
    assert current_notice_version(datetime.date(2027, 1, 1)).label == "2027-01"
    assert version.history.get().history_user == dpo


def test_a_version_label_or_day_is_archived_once(dpo):
    with pytest.raises(ValidationError) as excinfo:
        notice_version_publish(actor=dpo, label="2026-06", effective_on=datetime.date(2026, 6, 1), text="Again")
    assert excinfo.value.message_dict == {"label": [ERR_LABEL_TAKEN], "effective_on": [ERR_DATE_TAKEN]}


def test_the_archive_page_shows_the_version_in_effect(client_for, agent):
    body = client_for(agent).get(reverse("notices")).content.decode()
    assert "2026-06" in body and "In effect" in body
