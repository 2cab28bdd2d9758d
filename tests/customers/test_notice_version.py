"""A preference change names the privacy notice version the customer was shown: an archived one."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from customers.models import Purpose
from customers.services.preferences import ERR_NOTICE_VERSION, preference_record
from privacy_portal.services.register import notice_version_publish
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def opt_in(actor, notice_version: str):
    return preference_record(
        actor=actor,
        customer=CustomerFactory(),
        purpose=Purpose.DIRECT_MARKETING,
        channel="email",
        granted=True,
        source="account_page",
        notice_version=notice_version,
    )


def test_a_change_may_name_the_archived_notice_version(agent):
    change, created = opt_in(agent, "2026-06")
    assert created and change.notice_version == "2026-06"


def test_a_change_naming_a_version_not_in_the_archive_is_refused(agent):
    with pytest.raises(ValidationError) as excinfo:
        opt_in(agent, "1999-01")
    assert excinfo.value.message_dict == {"notice_version": [ERR_NOTICE_VERSION.format(version="1999-01")]}


def test_a_change_need_not_name_a_version(agent):
    change, _ = opt_in(agent, "")
    assert change.notice_version == ""


def test_a_newly_archived_version_can_be_named(agent, dpo):
    notice_version_publish(actor=dpo, label="2027-01", effective_on=datetime.date(2027, 1, 1), text="New notice text.")
    change, _ = opt_in(agent, "2027-01")
    assert change.notice_version == "2027-01"
