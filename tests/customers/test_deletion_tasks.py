"""Deletion outside the portal: a purge or an erasure asks the recording store and the
transcription provider to delete their copies, and the DPO's dashboard shows each request until
it is confirmed (by a person with the provider's confirmation, or by the provider's system)."""

from __future__ import annotations

import datetime
import json

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers.models import DeletionTask, Recipient
from customers.services import external_deletion as svc
from privacy_portal import legal
from privacy_portal.retention import retention_apply
from tests.factories import CallFactory, RecipientFactory
from tests.fixtures.retention import purge_two_calls

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def transcriber():
    """The seeded transcription provider is flagged as holding call data by the migration."""
    provider = Recipient.objects.get(code="verbatim-ai")
    assert provider.holds_call_data
    return provider


def test_a_purge_asks_the_recording_store_and_the_transcription_provider_to_delete(transcriber):
    RecipientFactory(holds_call_data=False)  # a courier: holds no call data, asked nothing
    calls, report = purge_two_calls()
    assert report["calls"]["deletion_tasks"] == 2
    store = DeletionTask.objects.get(store=DeletionTask.Store.RECORDING_STORE)
    assert store.references == ["rec://calls/2026/01/a.wav", "rec://calls/2026/01/b.wav"]
    assert store.call_ids == sorted(c.pk for c in calls)
    assert store.cause == DeletionTask.Cause.RETENTION
    assert store.due_on == timezone.localdate() + datetime.timedelta(days=legal.EXTERNAL_DELETION_CONFIRM_DAYS)
    provider = DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT)
    assert provider.recipient == transcriber
    # Only the call sent for transcription is at the provider.
    assert provider.references == ["rec://calls/2026/01/a.wav"]
    assert DeletionTask.objects.count() == 2


def test_a_purge_of_nothing_asks_nothing(transcriber):
    CallFactory(started_at=timezone.now() - relativedelta(months=1))
    retention_apply()
    assert not DeletionTask.objects.exists()


def test_the_dashboard_shows_the_tasks_until_confirmed_and_overdue_ones_by_name(client_for, dpo, transcriber):
    purge_two_calls()
    client = client_for(dpo)
    page = client.get(reverse("home")).content.decode()
    assert "2 deletions asked of the call-recording store or the transcription provider not yet confirmed" in page
    assert "not yet confirmed, <strong>" not in page
    provider_task = DeletionTask.objects.get(recipient=transcriber)
    provider_task.due_on = timezone.localdate() - datetime.timedelta(days=1)
    provider_task.save()
    page = client.get(reverse("home")).content.decode()
    assert "<strong>1 overdue</strong>" in page and f"Task {provider_task.pk}: Verbatim AI Inc." in page

    # The DPO confirms one with the provider's confirmation attached ...
    response = client.post(
        reverse("customers:deletion_task_confirm", args=[provider_task.pk]),
        {"file": SimpleUploadedFile("confirmation.pdf", PDF, "application/pdf"), "note": "Ticket 4411"},
    )
    assert response.status_code == 302
    provider_task.refresh_from_db()
    assert provider_task.confirmed_via == DeletionTask.Via.PERSON and provider_task.confirmed_by == dpo
    assert provider_task.confirmation_path.endswith(".pdf")  # named by its content, with its extension
    # ... the recording store's system confirms the other.
    store_task = DeletionTask.objects.get(store=DeletionTask.Store.RECORDING_STORE)
    response = client.post(
        reverse("public:deletion_confirm", args=[store_task.pk]),
        data=json.dumps({"deleted": store_task.references}),
        content_type="application/json",
        headers={"authorization": f"Bearer {svc.deletion_task_token(store_task)}"},
    )
    assert response.status_code == 200, response.content
    page = client.get(reverse("home")).content.decode()
    assert "Every deletion asked for has been confirmed." in page


def test_the_provider_endpoint_refuses_a_wrong_token_a_partial_list_and_a_second_confirmation(client, transcriber):
    purge_two_calls()
    task = DeletionTask.objects.get(store=DeletionTask.Store.RECORDING_STORE)
    other = DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT)
    url = reverse("public:deletion_confirm", args=[task.pk])

    def post(body, token):
        return client.post(
            url, data=body, content_type="application/json", headers={"authorization": f"Bearer {token}"}
        )

    assert post(json.dumps({"deleted": task.references}), "nope").status_code == 401
    # Another task's token confirms only that task.
    assert post(json.dumps({"deleted": task.references}), svc.deletion_task_token(other)).status_code == 401
    token = svc.deletion_task_token(task)
    assert post("not json", token).status_code == 400
    assert post(json.dumps({"deleted": task.references[:1]}), token).status_code == 400
    task.refresh_from_db()
    assert task.confirmed_at is None
    assert post(json.dumps({"deleted": task.references}), token).status_code == 200
    assert post(json.dumps({"deleted": task.references}), token).status_code == 409
    assert client.get(url).status_code == 405


def test_a_person_must_attach_the_providers_confirmation(client_for, dpo, transcriber):
    purge_two_calls()
    task = DeletionTask.objects.first()
    response = client_for(dpo).post(reverse("customers:deletion_task_confirm", args=[task.pk]), {"note": "done"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.confirmed_at is None
    bad = SimpleUploadedFile("c.exe", b"MZ\x90\x00", "application/octet-stream")
    client_for(dpo).post(reverse("customers:deletion_task_confirm", args=[task.pk]), {"file": bad})
    task.refresh_from_db()
    assert task.confirmed_at is None


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("handler", 403), ("auditor", 200), ("itadmin", 403)])
def test_who_reads_and_confirms_deletion_tasks(client_for, cast, role, status, transcriber):
    purge_two_calls()
    task = DeletionTask.objects.first()
    client = client_for(cast[role])
    assert client.get(reverse("customers:deletion_tasks")).status_code == status
    upload = SimpleUploadedFile("confirmation.pdf", PDF, "application/pdf")
    assert client.post(reverse("customers:deletion_task_confirm", args=[task.pk]), {"file": upload}).status_code == 403
    task.refresh_from_db()
    assert task.confirmed_at is None


def test_the_dpos_list_shows_open_tasks_with_the_token_for_the_providers_system(client_for, dpo, transcriber):
    purge_two_calls()
    task = DeletionTask.objects.get(store=DeletionTask.Store.RECORDING_STORE)
    page = client_for(dpo).get(reverse("customers:deletion_tasks")).content.decode()
    assert svc.deletion_task_token(task) in page
    assert "Call-recording store (telephony platform)" in page
    assert client_for(dpo).post(reverse("customers:deletion_tasks")).status_code == 405


def test_an_erasure_asks_the_stores_to_delete_the_persons_calls(
    agent, handler, dpo, transcriber, django_capture_on_commit_callbacks
):
    from tests.factories import CustomerFactory
    from tests.fixtures.erasure import erasure_case, sign_off

    customer = CustomerFactory()
    call = CallFactory(customer=customer, recording_ref="rec://calls/2026/11/erased.wav")
    case = erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer)
    sign_off(dpo, case, django_capture_on_commit_callbacks)
    tasks = DeletionTask.objects.filter(cause=DeletionTask.Cause.ERASURE, source_reference=case.reference)
    assert {(t.store, t.recipient_id) for t in tasks} == {("recording_store", None), ("recipient", transcriber.pk)}
    assert all(t.call_ids == [call.pk] and t.references == ["rec://calls/2026/11/erased.wav"] for t in tasks)


def test_deny_by_default_a_user_with_no_role_and_no_one_signed_in_see_nothing(client, client_for, cast, transcriber):
    purge_two_calls()
    task = DeletionTask.objects.first()
    url = reverse("customers:deletion_tasks")
    assert client_for(cast["nobody"]).get(url).status_code == 403
    anonymous = client.get(url)
    # Nothing of the task on the refusal (its links and its token; a bare pk such as "86" may
    # occur by chance in the page's CSRF token).
    refused = anonymous.content.decode()
    assert anonymous.status_code in (302, 403)
    assert reverse("customers:deletion_task_confirm", args=[task.pk]) not in refused
    assert svc.deletion_task_token(task) not in refused
    # The auditor reads the list, but neither a confirm form nor a provider's token.
    page = client_for(cast["auditor"]).get(url).content.decode()
    assert svc.deletion_task_token(task) not in page
    assert reverse("customers:deletion_task_confirm", args=[task.pk]) not in page


def test_calls_with_no_reference_at_all_ask_the_provider_nothing(transcriber):
    """A transcribed call with no recording reference gives the provider nothing to find: no task
    is created for it, so nothing can later be confirmed as if it had been deleted."""
    calls = [svc.PurgedCall(call_id=7, recording_ref="", transcribed=True)]
    tasks = svc.deletion_tasks_create(actor=None, calls=calls, cause=DeletionTask.Cause.RETENTION, source_reference="x")
    assert tasks == []
    assert not DeletionTask.objects.exists()


def test_a_task_listing_no_reference_is_never_confirmed_as_a_deletion(client, dpo, transcriber):
    empty = DeletionTask.objects.create(
        store=DeletionTask.Store.RECIPIENT, recipient=transcriber, cause=DeletionTask.Cause.RETENTION,
        source_reference="old run", references=[], call_ids=[7], due_on=timezone.localdate(),
    )  # fmt: skip
    with pytest.raises(svc.ValidationError) as exc:
        svc.deletion_confirm_by_provider(task=empty, deleted=[])
    assert exc.value.messages == [svc.ERR_NOTHING_TO_DELETE]
    upload = SimpleUploadedFile("confirmation.pdf", PDF, content_type="application/pdf")
    with pytest.raises(svc.ValidationError) as exc:
        svc.deletion_confirm_by_person(actor=dpo, task=empty, upload=upload)
    assert exc.value.messages == [svc.ERR_NOTHING_TO_DELETE]
    response = client.post(
        reverse("public:deletion_confirm", args=[empty.pk]),
        data=json.dumps({"deleted": []}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {svc.deletion_task_token(empty)}"},
    )
    assert response.status_code == 400
    empty.refresh_from_db()
    assert empty.confirmed_at is None
