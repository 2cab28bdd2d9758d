"""Rendering an export: its files (JSON, spreadsheet-safe CSV, readable HTML) from the data sets,
and the ZIP that holds them."""

from __future__ import annotations

import datetime
import io
import json
import logging
import zipfile
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from customers.subject import SubjectRecords, subject_records
from privacy_portal import csv_safe, legal
from privacy_portal.private_storage import file_read
from privacy_portal.services.register import supplementary_information

from ...models import Case, CaseCorrespondence
from .datasets import Column, attachment_name, data_sets_for, plain, references_cached

log = logging.getLogger(__name__)


def csv_cell(value) -> str:
    """How one value reads in a spreadsheet: yes/no, lists joined, and nothing a spreadsheet
    would run as a formula (such text gets a leading apostrophe; phone numbers stay as they are)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return csv_safe.safe_cell(str(value))


def _csv(columns: tuple[Column, ...], records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv_safe.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for record in records:
        writer.writerow([csv_cell(record[c.name]) for c in columns])
    return out.getvalue()


def supplementary() -> Any:
    """The Art 15(1)-(2) information, from the register of processing activities (one source)."""
    return supplementary_information()


_ACRONYMS = {"ico": "ICO", "uk": "UK", "dpo": "DPO"}


def _label(key: str) -> str:
    words = key.replace("_", " ").strip().split()
    text = " ".join(_ACRONYMS.get(w.lower(), w) for w in words)
    return text[:1].upper() + text[1:]


def _is_table(value: list) -> bool:
    """A list of mappings with the same keys and plain values reads best as a table."""
    if not value or not all(isinstance(v, dict) for v in value):
        return False
    keys = list(value[0])
    return all(list(v) == keys and not any(isinstance(x, (dict, list)) for x in v.values()) for v in value)


def render_html_sections(value) -> str:
    """The top level of a mapping as headed sections, each rendered by render_html_value."""
    if not isinstance(value, dict):
        return render_html_value(value)
    return format_html_join(
        "",
        "<section><h2>{}</h2>{}</section>",
        ((_label(k), render_html_value(v)) for k, v in value.items()),
    )


def render_html_value(value) -> str:
    """Readable HTML for any JSON-shaped value: mappings as definition lists, lists of
    records as tables, other lists as bullet lists. Everything is escaped."""
    if isinstance(value, dict):
        items = ((_label(k), render_html_value(v)) for k, v in value.items())
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", items))
    if isinstance(value, list):
        if not value:
            return "None."
        if _is_table(value):
            head = format_html_join("", '<th scope="col">{}</th>', ((_label(k),) for k in value[0]))
            cells = (format_html_join("", "<td>{}</td>", ((render_html_value(x),) for x in r.values())) for r in value)
            rows = format_html_join("", "<tr>{}</tr>", ((c,) for c in cells))
            return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((render_html_value(v),) for v in value)))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    return format_html("{}", value)


def export_files(case: Case, *, generated_at: datetime.datetime | None = None) -> dict[str, bytes]:
    """The package's files, by name in the ZIP: the subject graph of the case's customer, and
    nothing else (customers.subject.subject_records)."""
    customer = case.customer
    assert customer is not None  # _check refused a case without one
    graph = subject_records(customer, candidates=False)  # the export offers no candidates
    with references_cached(graph):
        return _files(case, graph, generated_at or timezone.now())


def _files(case: Case, graph: SubjectRecords, generated_at: datetime.datetime) -> dict[str, bytes]:
    customer = graph.customer
    assert customer is not None  # an export is of a customer's records
    kind = Case.Right(case.right)
    sets = [(data_set, data_set.records(graph)) for data_set in data_sets_for(case.right)]
    about = {
        "kind": kind.label,
        "request_reference": case.reference,
        "customer_reference": customer.reference,
        "generated_at": plain(generated_at),
        "deleted_after": plain(generated_at + datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS)),
    }
    personal_data = {
        "package": about,
        "data_sets": {
            d.name: {"title": d.title, "description": d.description, "records": records} for d, records in sets
        },
    }
    files: dict[str, bytes] = {
        "personal_data.json": json.dumps(personal_data, ensure_ascii=False, indent=2).encode(),
    }
    for data_set, records in sets:
        # With a byte-order mark, so that Excel reads the file as UTF-8.
        files[f"csv/{data_set.name}.csv"] = _csv(data_set.columns, records).encode("utf-8-sig")
    info = None
    if case.right == Case.Right.ACCESS:
        info = plain(supplementary())
        files["supplementary_information.json"] = json.dumps(info, ensure_ascii=False, indent=2).encode()
        files["supplementary_information.html"] = render_to_string(
            "requests/export/supplementary_information.html",
            {"about": about, "body": render_html_sections(info)},
        ).encode()
        for item in graph.rows(CaseCorrespondence).exclude(attachment_path=""):
            attachment = file_read(item.attachment_path)
            if attachment is None:
                log.warning("export: attachment of case correspondence %s is missing", item.pk)
            else:
                files[attachment_name(item)] = attachment
    files["index.html"] = render_to_string(
        "requests/export/index.html",
        {
            "about": about,
            "access": case.right == Case.Right.ACCESS,
            "sets": [{"data_set": d, "count": len(records)} for d, records in sets],
            "retention_days": legal.EXPORT_RETENTION_DAYS,
        },
    ).encode()
    return files


def zip_files(files: dict[str, bytes]) -> bytes:
    """The ZIP's bytes (index.html first: the file a person opens). Built in memory, as its
    files are, so the row can say its size and the file is written only after the commit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda n: (n != "index.html", n)):
            archive.writestr(name, files[name])
    return buffer.getvalue()
