"""An erased person who may be in an advertising audience appears in the next removal files by
the platforms' hashes of every email and number they had, never by the value itself."""

from __future__ import annotations

import csv

import pytest

from customers.models import AdRemovalEntry
from customers.services.ad_feed import GOOGLE_FILE, META_FILE, google_hashes, meta_hashes, write_ad_feed
from customers.services.preferences import preference_record
from tests.factories import CustomerFactory
from tests.fixtures.erasure import EMAIL, FORMER_EMAIL, FORMER_PHONE, PHONE, erasure_case, sign_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def _files(directory) -> tuple[list[list[str]], list[list[str]]]:
    read = [list(csv.reader((directory / name).open(encoding="utf-8"))) for name in (GOOGLE_FILE, META_FILE)]
    return read[0], read[1]


def test_an_erased_person_who_was_in_an_audience_is_in_the_next_removal_files_by_hash_only(
    rich,
    agent,
    dpo,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    customer = rich["customer"]
    preference_record(
        actor=agent, customer=customer, purpose="personalised_ads", channel="", granted=True,
        source="account_page", evidence="",
    )  # fmt: skip
    sign_off(dpo, rich["case"], django_capture_on_commit_callbacks)
    customer.refresh_from_db()
    assert customer.is_erased and customer.email == ""

    write_ad_feed(".")  # the root of private storage: tmp_path
    google, meta = _files(tmp_path)
    raw = (tmp_path / GOOGLE_FILE).read_text() + (tmp_path / META_FILE).read_text()
    for email in (EMAIL, FORMER_EMAIL):
        assert [google_hashes(email, "")[0], ""] in google[1:]
        assert [meta_hashes(email, "")[0], ""] in meta[1:]
        assert email.lower() not in raw.lower()
    for phone in (PHONE, FORMER_PHONE):
        assert ["", google_hashes("", phone)[1]] in google[1:]
        assert ["", meta_hashes("", phone)[1]] in meta[1:]
        assert phone.lstrip("+") not in raw
    stored = " ".join(f"{e.google_hash} {e.meta_hash}" for e in AdRemovalEntry.objects.all())
    assert EMAIL not in stored and PHONE not in stored and len(AdRemovalEntry.objects.all()) == 4
    # The next day's files carry them again.
    write_ad_feed(".")  # the root of private storage: tmp_path
    assert _files(tmp_path)[0] == google


def test_an_erased_person_never_in_an_audience_leaves_no_ad_removal_entry(
    agent, dpo, handler, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(email="never.ads@example.com", phone="+447700900777")
    case = erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)
    sign_off(dpo, case, django_capture_on_commit_callbacks)
    assert not AdRemovalEntry.objects.exists()
