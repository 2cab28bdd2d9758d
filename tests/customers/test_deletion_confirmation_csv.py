"""A provider's deletion confirmation uploaded as a CSV (reference, deleted_at, confirmation_id)
confirms the matching references of the store's open deletion tasks, and each task once all its
references are; bad rows are named by line and column and nothing is recorded."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import DeletionTask, Recipient
from customers.services.external_deletion import ERR_CSV_UNKNOWN_REFERENCE
from customers.services.imports import ERR_HEADER
from privacy_portal.private_storage import private_path
from tests.fixtures.retention import purge_two_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


@pytest.fixture
def transcriber():
    return Recipient.objects.get(code="verbatim-ai", holds_call_data=True)


HEADER = "reference,deleted_at,confirmation_id\r\n"
A, B = "rec://calls/2026/01/a.wav", "rec://calls/2026/01/b.wav"


def _csv(*rows: str, name: str = "confirmations.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + "".join(r + "\r\n" for r in rows)).encode(), content_type="text/csv")


def _upload(client, rows, url=None, name="confirmations.csv"):
    url = url or reverse("customers:deletion_confirmation_file")
    return client.post(url, {"file": _csv(*rows, name=name)})


def _recording_task():
    return DeletionTask.objects.get(store=DeletionTask.Store.RECORDING_STORE)


def _history(task):
    return list(task.history.order_by("history_id").values_list("history_change_reason", flat=True))


def test_a_confirmation_file_confirms_every_reference_and_the_task(
    client_for, dpo, transcriber, django_capture_on_commit_callbacks
):
    purge_two_calls()
    client = client_for(dpo)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, [f"{A},2026-11-20T10:00,VX-1001", f"{B},2026-11-20,VX-1002"])
    assert response.status_code == 302
    task = _recording_task()
    assert task.confirmed_at is not None and task.confirmed_via == DeletionTask.Via.CSV and task.confirmed_by == dpo
    assert task.confirmed_references[A]["confirmation_id"] == "VX-1001"
    assert task.confirmed_references[B]["deleted_at"].startswith("2026-11-20T00:00:00")
    assert private_path(task.confirmation_path).read_bytes().startswith(HEADER.encode())
    assert _history(task)[-1] == "Deletion confirmed by the provider's confirmation file"
    # The transcription provider's task is another store's: untouched.
    assert DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT).confirmed_at is None
    # The dashboard list no longer shows it waiting.
    page = client.get(reverse("customers:deletion_tasks")).content.decode()
    assert "Confirmed by the provider&#x27;s confirmation file" in page


def test_a_file_with_some_references_leaves_the_task_open_and_a_second_file_completes_it(client_for, dpo, transcriber):
    purge_two_calls()
    client = client_for(dpo)
    assert _upload(client, [f"{A},2026-11-20,VX-1"]).status_code == 302
    task = _recording_task()
    assert task.confirmed_at is None and set(task.confirmed_references) == {A}
    assert "(1 confirmed)" in client.get(reverse("customers:deletion_tasks")).content.decode()
    # Confirming A again is refused (named), nothing recorded.
    response = _upload(client, [f"{B},2026-11-21,VX-2", f"{A},2026-11-21,VX-3"])
    assert response.status_code == 200
    assert [(e.line, e.column) for e in response.context["errors"]] == [(3, "reference")]
    assert _recording_task().confirmed_references.keys() == {A}
    assert _upload(client, [f"{B},2026-11-21,VX-2"]).status_code == 302
    assert _recording_task().confirmed_via == DeletionTask.Via.CSV


def test_the_recipients_file_confirms_the_recipients_task(client_for, dpo, transcriber):
    purge_two_calls()
    client = client_for(dpo)
    url = reverse("customers:deletion_confirmation_file_recipient", args=[transcriber.pk])
    provider_task = DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT)
    rows = [f"{ref},2026-11-20,T-{i}" for i, ref in enumerate(provider_task.references)]
    assert _upload(client, rows, url=url).status_code == 302
    provider_task.refresh_from_db()
    assert provider_task.confirmed_at is not None
    assert _recording_task().confirmed_at is None


def test_bad_rows_are_named_and_nothing_is_confirmed(client_for, dpo, transcriber):
    purge_two_calls()
    client = client_for(dpo)
    response = _upload(
        client,
        [
            f"{A},2026-11-20,VX-1",  # good, yet not recorded: another row is bad
            "rec://unknown.wav,2026-11-20,VX-2",  # in no open task of this store
            f"{A},2026-11-20,VX-3",  # the same reference twice
            f"{B},next tuesday,VX-4",  # not a time
            f"{B},2999-01-01,",  # far future, and no confirmation id
            f"{B},2026-11-20,VX 5 \u202e",  # a confirmation id with a space and an RTL override
        ],
    )
    assert response.status_code == 200
    errors = [(e.line, e.column) for e in response.context["errors"]]
    assert errors == [
        (3, "reference"),
        (4, "reference"),
        (5, "deleted_at"),
        (6, "reference"),  # B again (line 5)
        (6, "deleted_at"),
        (6, "confirmation_id"),
        (7, "reference"),
        (7, "confirmation_id"),
    ]
    page = response.content.decode()
    assert "Nothing was confirmed" in page and ERR_CSV_UNKNOWN_REFERENCE in page
    task = _recording_task()
    assert task.confirmed_references == {} and task.confirmed_at is None
    assert len(_history(task)) == 1  # created, nothing since


def test_a_file_that_is_not_a_csv_or_has_the_wrong_header_is_refused_whole(client_for, dpo, transcriber):
    purge_two_calls()
    client = client_for(dpo)
    response = _upload(client, [f"{A},2026-11-20,VX-1"], name="confirmations.xlsx")
    assert response.status_code == 200 and response.context["errors"][0].line is None
    wrong = SimpleUploadedFile("c.csv", f"ref,when,id\r\n{A},2026-11-20,VX-1\r\n".encode(), content_type="text/csv")
    response = client.post(reverse("customers:deletion_confirmation_file"), {"file": wrong})
    assert ERR_HEADER.format(expected="reference,deleted_at,confirmation_id") in response.content.decode()
    assert _recording_task().confirmed_references == {}


def test_only_the_dpo_uploads_a_confirmation_file(client_for, handler, transcriber):
    client = client_for(handler)
    assert client.get(reverse("customers:deletion_confirmation_file")).status_code == 403


def test_a_file_with_a_bom_a_formula_and_another_stores_reference_is_refused_by_line(client_for, dpo, transcriber):
    """Excel's BOM and CRLF are read; a formula as a confirmation id, and a reference only the
    other store's task lists (B, a call never transcribed, is the recording store's alone), are
    refused on the recipient's file and nothing is confirmed."""
    purge_two_calls()
    recipients = DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT)
    assert A in recipients.references and B not in recipients.references
    client = client_for(dpo)
    url = reverse("customers:deletion_confirmation_file_recipient", args=[transcriber.pk])
    body = "\ufeff" + HEADER + f'{A},2026-11-20,=HYPERLINK("x")\r\n' + f"{B},2026-11-20,VX-1\r\n"
    response = client.post(url, {"file": SimpleUploadedFile("c.csv", body.encode(), content_type="text/csv")})
    html = response.content.decode()
    assert response.status_code == 200
    assert ERR_CSV_UNKNOWN_REFERENCE in html
    assert "letters, digits and" in html
    assert not DeletionTask.objects.exclude(confirmed_references={}).exists()
    # The recording store's file, BOM and all, confirms the recording store's task only.
    good = "\ufeff" + HEADER + f"{A},2026-11-20,VX-1\r\n{B},2026-11-20,VX-2\r\n"
    response = client.post(
        reverse("customers:deletion_confirmation_file"),
        {"file": SimpleUploadedFile("c.csv", good.encode(), content_type="text/csv")},
    )
    assert response.status_code == 302
    assert _recording_task().confirmed_at is not None
    assert DeletionTask.objects.get(store=DeletionTask.Store.RECIPIENT).confirmed_at is None
