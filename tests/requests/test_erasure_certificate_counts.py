"""The certificate's figures are what the erasure did in the database: per table, the rows
removed or changed, the history rows removed or scrubbed, the rows kept unchanged; and the
files deleted. Counted by comparing every row of the person's graph before and after."""

from __future__ import annotations

import pytest
from django.apps import apps

from customers.subject import subject_records
from requests.models import CaseDocument
from requests.services import erasure
from requests.services.erasure import ERASED_NAME, PLAN, customer_erase

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def _values(row) -> tuple:
    return tuple(getattr(row, f.attname) for f in row._meta.concrete_fields)


def _snapshot(graph) -> dict[str, tuple[dict, dict]]:
    found = {}
    for label in PLAN:
        model = apps.get_model(label)
        live = {row.pk: _values(row) for row in graph.rows(model)}
        history = graph.history(model)
        past = {row.history_id: _values(row) for row in history} if history is not None else None
        found[label] = (live, past)
    return found


def _changed(before: dict, model, key: str) -> int:
    now = {getattr(row, key): _values(row) for row in model.objects.filter(**{f"{key}__in": list(before)})}
    return sum(1 for k, values in before.items() if now.get(k) != values)


def test_the_certificates_figures_are_the_rows_the_erasure_changed_or_deleted(
    rich,
    dpo,
    django_capture_on_commit_callbacks,
):
    from privacy_portal.private_storage import private_path
    from requests.services import cases as svc

    customer = rich["customer"]
    for n, kind in enumerate([CaseDocument.Kind.IDENTITY, CaseDocument.Kind.EXPORT, CaseDocument.Kind.IDENTITY]):
        relative = f"cases/{rich['access'].pk}/{kind}/{n}.bin"
        private_path(relative).parent.mkdir(parents=True, exist_ok=True)
        if n < 2:  # the third is a record whose file is already gone: not counted as deleted
            private_path(relative).write_bytes(b"personal data")
        CaseDocument.objects.create(case=rich["access"], kind=kind, path=relative, content_type="x/y", size=13)
    graph = subject_records(customer, keep=[ERASED_NAME])
    before = _snapshot(graph)
    files = {f.path for f in graph.files() if f.kind in erasure.FILE_KINDS_DELETED}
    with django_capture_on_commit_callbacks(execute=True):
        svc.case_signoff(actor=dpo, case=rich["case"], approve=True)
    certificate = rich["case"].documents.get(kind=CaseDocument.Kind.CERTIFICATE)
    # The figures as the certificate states them, from its table rows.
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell, self.current = [], None, []

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.current = []
            if tag == "td":
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag == "td":
                self.current.append(self.cell.strip())
                self.cell = None
            if tag == "tr" and self.current:
                self.rows.append(self.current)

    parser = Rows()
    parser.feed(private_path(certificate.path).read_text())
    table = {row[0]: row for row in parser.rows if len(row) == 5}
    checked = 0
    for label, treatment in PLAN.items():
        model = apps.get_model(label)
        live, past = before[label]
        row = table[treatment.what]
        changed = _changed(live, model, "pk")
        if treatment.action == erasure.KEPT:
            assert changed == 0, label
        assert int(row[1]) == changed, (label, row, changed)
        assert int(row[3]) == len(live) - changed, (label, row)
        if past is not None:
            assert int(row[2]) == _changed(past, model.history.model, "history_id"), (label, row)
        checked += 1
    assert checked == len(PLAN)
    removed = [row for row in parser.rows if len(row) == 4 and row[2] == "Deleted"]
    assert sum(int(row[1]) for row in removed) == 2 and len(files) == 3
    assert not any(private_path(p).exists() for p in files)


def test_a_row_with_nothing_of_the_person_is_counted_as_kept_unchanged_not_redacted(
    rich,
    dpo,
    django_capture_on_commit_callbacks,
):
    from requests.models import CaseNote
    from requests.services import cases as svc

    svc.case_add_note(actor=dpo, case=rich["case"], text="Chased the warehouse for the return label")
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_erase(actor=dpo, case=rich["case"])
    line = next(line for line in result.ledger.tables if line.model == "requests.CaseNote")
    notes = CaseNote.objects.filter(case__in=[rich["case"], rich["access"]])
    assert line.rows + line.unchanged == notes.count()
    assert line.unchanged >= 1 and line.rows == 2  # the two notes naming the person
