"""Requests sent on the public form whose email was never verified are not requests: the nightly
retention job (a celery beat entry) deletes them, with their codes, a day after they were sent."""

from __future__ import annotations

import datetime

import pytest
from celery.schedules import crontab
from django.utils import timezone
from django.utils.module_loading import import_string

from privacy_portal import retention
from privacy_portal.models import JobRun
from privacy_portal.schedule import BEAT_SCHEDULE
from privacy_portal.tasks import apply_retention_schedule
from requests.models import PublicSubmission, VerificationCode
from requests.services import public as svc


def test_the_nightly_schedule_names_the_deletion_of_unverified_submissions():
    (entry,) = [e for e in BEAT_SCHEDULE.values() if e["task"] == "privacy_portal.tasks.apply_retention_schedule"]
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {2}
    (rule,) = [r for r in retention.SCHEDULE if r.key == "public_submissions"]
    assert rule.service == "requests.services.public.unverified_submissions_delete"
    assert import_string(rule.service) is svc.unverified_submissions_delete
    assert set(rule.models) == {"requests.PublicSubmission", "requests.VerificationCode"}


def _submission(email: str, hours_ago: float) -> PublicSubmission:
    submission = svc.request_submit_public(rights=["access"], email=email, name="Una Verified")
    # Not tracked (no history by design): the age is set directly.
    PublicSubmission.objects.filter(pk=submission.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(hours=hours_ago)
    )
    return submission


@pytest.mark.django_db
def test_the_nightly_job_deletes_submissions_unverified_for_a_day_with_their_codes_and_keeps_newer_ones():
    old = _submission("old@example.org", svc.UNVERIFIED_KEPT_HOURS + 1)
    young = _submission("young@example.org", svc.UNVERIFIED_KEPT_HOURS - 1)
    run = JobRun.objects.get(pk=apply_retention_schedule())
    assert run.outcome == JobRun.Outcome.OK
    assert run.detail["public_submissions"] == {"publicsubmission": 1, "verificationcode": 1, "held": 0}
    assert list(PublicSubmission.objects.values_list("pk", flat=True)) == [young.pk]
    assert not VerificationCode.objects.filter(submission_id=old.pk).exists()
    assert VerificationCode.objects.filter(submission_id=young.pk).exists()
    # Run again: nothing more to delete.
    assert JobRun.objects.get(pk=apply_retention_schedule()).detail["public_submissions"]["publicsubmission"] == 0
