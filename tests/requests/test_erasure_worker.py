"""Erasure run through a real Celery worker on Redis, end to end, writing to PostgreSQL."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from customers.models import Call, Customer
from privacy_portal.celery import app
from privacy_portal.models import User
from privacy_portal.roles import sync_role_groups
from requests.models import Case, CaseDocument
from requests.services.documents import private_path
from requests.tasks import erase_customer
from tests.factories import CallFactory, CaseFactory, CustomerFactory, UserFactory
from tests.privacy_portal.test_celery import redis_worker, wait_for  # noqa: F401 (the fixture)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reapplies_a_signed_off_erasure_after_a_backup_restore(redis_worker, settings, tmp_path):  # noqa: F811
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    sync_role_groups(Group, Permission)  # a transactional test starts from a flushed database
    dpo = UserFactory(role=User.Role.DPO)
    customer = CustomerFactory(first_name="Peregrine", last_name="Quillfeather")
    CallFactory(customer=customer, transcript="This is Peregrine Quillfeather.")
    # A completed erasure case whose customer is back, as if restored from a backup taken before.
    case = CaseFactory(
        right=Case.Right.ERASURE, customer=customer, status=Case.Status.COMPLETED, closed_on=timezone.localdate()
    )
    assert not app.conf.task_always_eager

    erase_customer.delay(case.pk, dpo.pk)

    assert wait_for(lambda: Customer.objects.get(pk=customer.pk).is_erased)
    customer.refresh_from_db()
    assert customer.full_name == "Erased" and customer.email == ""
    assert not Call.objects.exists() and not Call.history.exists()
    certificate = CaseDocument.objects.get(case=case, kind=CaseDocument.Kind.CERTIFICATE)
    # Written by the worker once its transaction committed.
    assert wait_for(lambda: private_path(certificate.path).exists())
    assert "Quillfeather" not in private_path(certificate.path).read_text()
