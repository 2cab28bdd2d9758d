"""The case bundle: everything about one complaint, in one download for the ICO.

A ZIP holding a PDF report, the same content as JSON, and the correspondence attachments:

- the summary (who complained, about what, the s164A dates and whether they were kept);
- the ICO's case, its deadlines and whether each was answered in time;
- the timeline: every status change, with who and when, from the complaint's history;
- the linked rights requests, each with its deadline met or missed;
- the correspondence list (the complaint's and its linked requests');
- the complete change history of everything in the subject graph (customers.subject) of the
  complaint's customer and its linked requests: who changed which field from what to what,
  and when.

`bundle_content` gathers it once; the PDF (ReportLab) and the JSON are two renderings of
that one dict, so they cannot disagree. Reading it is a read of personal data: the view
records it in the access log.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from customers.models import REFERENCE_PREFIX
from customers.subject import case_file_records, subject_records
from privacy_portal.history import TimelineRow, history_model, timeline
from privacy_portal.history_labels import history_type_label, record_kind
from privacy_portal.models import User
from privacy_portal.private_storage import file_read

from ..models import Case, CaseCorrespondence, Complaint, IcoCase, IcoDeadline

NONE = "(none)"


# --- gathering -------------------------------------------------------------------------


def _day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def deadline_state(due: datetime.date | None, done: datetime.date | None, today: datetime.date) -> str:
    """'met', 'missed', 'open' (still in time), 'overdue' (open and late) or 'no deadline'."""
    if due is None:
        return "no deadline"
    if done is not None:
        return "met" if done <= due else "missed"
    return "overdue" if today > due else "open"


class _Names:
    """Usernames by id, looked up once (history rows and foreign keys carry ids)."""

    def __init__(self) -> None:
        self.cache: dict[int, str] = {}

    def __call__(self, user_id: int | None) -> str:
        if user_id is None:
            return "the system"
        if user_id not in self.cache:
            user = get_user_model().objects.filter(pk=user_id).only("username").first()
            self.cache[user_id] = user.username if user else f"staff #{user_id}"
        return self.cache[user_id]


def _value(field: models.Field | None, value, names: _Names, refs: dict) -> str:
    """A field value as text: users by username, requests and customers by reference, other
    records as "ico case #3"."""
    if value is None or value == "":
        return NONE
    if isinstance(value, list):  # a many-to-many field: the through rows
        ids = sorted(row["case"] for row in value if isinstance(row, dict))
        return ", ".join(refs.get(pk, f"request #{pk}") for pk in ids) or NONE
    related = field.related_model if field is not None and field.is_relation else None
    if related is not None and related != "self":
        if related is get_user_model():
            return names(value)
        label = related._meta.label_lower
        return refs.get((label, value)) or f"{record_kind(related)} #{value}"
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _history_entry(row: TimelineRow, label, names: _Names, refs: dict, *, fields: dict[str, models.Field]) -> dict:
    """One row of the change history as who / when / what changed: a first version lists what
    it held, a later one what it changed."""
    record = row.record
    if record.history_type == "+" or row.first:
        changes = []
        for name, field in fields.items():
            value = getattr(record, field.attname, None)
            if value not in (None, "") and not field.primary_key:
                changes.append({"field": name, "from": NONE, "to": _value(field, value, names, refs)})
    elif record.history_type == "-":
        changes = []
    else:
        changes = [
            {
                "field": change.field,
                "from": _value(fields.get(change.field), change.old, names, refs),
                "to": _value(fields.get(change.field), change.new, names, refs),
            }
            for change in row.changes()
        ]
    return {
        "at": timezone.localtime(record.history_date).isoformat(timespec="microseconds"),
        "who": names(record.history_user_id),
        "record": label(record),
        "action": history_type_label(record.history_type),
        "reason": record.history_change_reason or "",
        "changes": changes,
    }


def bundle_history_rows(complaint: Complaint, cases: list[Case]) -> dict[type[models.Model], list]:
    """The history rows the bundle's change history covers: everything in the subject graph
    (customers.subject) of the complaint's customer and of its linked requests' customers
    (preference changes, disclosures, calls, correspondence, purchases, notes, tasks, clock
    stops, documents, case correspondence, the ICO case and its deadlines...), and the case
    files of the complaint and of linked requests that have no customer record."""
    customers = {c for c in [complaint.customer, *(case.customer for case in cases)] if c is not None}
    graphs = [subject_records(customer, candidates=False) for customer in sorted(customers, key=lambda c: c.pk)]
    graphs.append(case_file_records(case_ids=[case.pk for case in cases], complaint_ids=[complaint.pk]))
    found: dict[type[models.Model], dict[int, object]] = {}
    for graph in graphs:
        for model in graph.models():
            history = graph.history(model)
            if history is None:
                continue
            rows = found.setdefault(model, {})
            for row in history:
                rows.setdefault(row.history_id, row)
    return {model: list(rows.values()) for model, rows in found.items() if rows}


# The records the change history names by their reference ("requests.case", id): its requests and complaints.
REFERENCED = {Case._meta.label, Complaint._meta.label}


def _labeller(model: type[models.Model], refs: dict):
    """How a history row names its record: "Request R-2026-00001", "Customer C-000042",
    "ICO case IC-123", "Case note #7 on R-2026-00001" (the kind in words: history_labels)."""
    name = record_kind(model, capital=True)
    if model is Case:
        # Named by its reference, a case is the request the reference names (R-…).
        return lambda r: f"Request {r.reference}"
    if model is Complaint:
        return lambda r: f"{name} {r.reference}"
    if model is IcoCase:
        return lambda r: f"{name} {r.ico_reference}"
    if model is IcoDeadline:
        return lambda r: f"{name} {r.due_on.isoformat()}"
    if model._meta.label == "customers.Customer":
        return lambda r: f"{name} {REFERENCE_PREFIX}{r.id:06d}"

    def label(r) -> str:
        case_id = getattr(r, "case_id", None)
        on = f" on {refs.get(('requests.case', case_id), f'request #{case_id}')}" if case_id else ""
        return f"{name} #{r.id}{on}"

    return label


def _tracked(model: type[models.Model]) -> dict[str, models.Field]:
    return {field.name: field for field in history_model(model).tracked_fields}


def bundle_content(complaint: Complaint, *, actor: User | None = None, today: datetime.date | None = None) -> dict:
    """Everything the bundle holds, as plain data (dates as ISO strings)."""
    today = today or timezone.localdate()
    names = _Names()
    customer = complaint.customer
    cases = list(complaint.cases.order_by("received_on", "pk"))
    refs: dict = {case.pk: case.reference for case in cases}
    refs.update({("requests.case", case.pk): case.reference for case in cases})
    refs[("requests.complaint", complaint.pk)] = complaint.reference
    if customer is not None:
        refs[("customers.customer", customer.pk)] = customer.reference
    ico = IcoCase.objects.filter(complaint=complaint).first()
    deadlines = list(ico.deadlines.order_by("due_on", "pk")) if ico else []

    summary = {
        "reference": complaint.reference,
        "status": complaint.get_status_display(),
        "category": complaint.get_category_display(),
        "channel": complaint.get_channel_display(),
        "received_on": _day(complaint.received_on),
        "description": complaint.description,
        "customer": f"{customer.reference} {customer.full_name}" if customer else None,
        "complainant": {
            "name": complaint.complainant_name or (customer.full_name if customer else ""),
            "email": complaint.complainant_email or (customer.email if customer else ""),
            "phone": complaint.complainant_phone,
            "address": complaint.complainant_address,
        },
        "handler": complaint.handler.username if complaint.handler else None,
        "logged_by": complaint.logged_by.username if complaint.logged_by else None,
        "acknowledge_by": _day(complaint.acknowledge_by),
        "acknowledged_on": _day(complaint.acknowledged_on),
        "acknowledgement": deadline_state(complaint.acknowledge_by, complaint.acknowledged_on, today),
        "response_due_on": _day(complaint.response_due_on),
        "responded_on": _day(complaint.responded_on),
        "response": deadline_state(complaint.response_due_on, complaint.responded_on, today),
        "response_summary": complaint.response_summary,
        "review_requested_on": _day(complaint.review_requested_on),
        "review_concluded_on": _day(complaint.review_concluded_on),
        "review_outcome": complaint.review_outcome,
        "closed_on": _day(complaint.closed_on),
        "outcome": complaint.outcome,
    }

    status_changes = [
        {
            "at": timezone.localtime(row.record.history_date).isoformat(timespec="seconds"),
            "who": names(row.record.history_user_id),
            "status": Complaint.Status(row.record.status).label,
            "note": row.record.history_change_reason or "",
        }
        for row in timeline({Complaint._meta.label: complaint.history.all()})
        if row.first or row.record.status != row.previous.status
    ]

    linked = [
        {
            "reference": case.reference,
            "right": case.get_right_display(),
            "status": case.get_status_display(),
            "received_on": _day(case.received_on),
            "due_on": _day(case.due_on),
            "closed_on": _day(case.closed_on),
            "deadline": deadline_state(case.due_on, case.closed_on, today),
            "extended": case.extended,
            "description": case.description,
            "outcome": case.outcome,
        }
        for case in cases
    ]

    letters = CaseCorrespondence.objects.filter(complaint=complaint) | CaseCorrespondence.objects.filter(case__in=cases)
    correspondence = [
        {
            "on": refs.get(item.case_id) or complaint.reference,
            "occurred_on": _day(item.occurred_on),
            "direction": item.get_direction_display(),
            "medium": item.get_medium_display(),
            "summary": item.summary,
            "recorded_by": names(item.recorded_by_id),
            "attachment": attachment_name(item) if item.attachment_path else None,
        }
        for item in letters.order_by("occurred_on", "pk")
    ]

    rows_by_model = bundle_history_rows(complaint, cases)
    changes = timeline({model._meta.label: rows for model, rows in rows_by_model.items()})
    refs.update({(row.kind.lower(), row.record.id): row.record.reference for row in changes if row.kind in REFERENCED})
    labels = {model._meta.label: _labeller(model, refs) for model in rows_by_model}
    fields = {model._meta.label: _tracked(model) for model in rows_by_model}
    history = [_history_entry(row, labels[row.kind], names, refs, fields=fields[row.kind]) for row in changes]

    return {
        "bundle": {
            "title": f"Complaint {complaint.reference}: case bundle",
            "generated_at": timezone.localtime().isoformat(timespec="seconds"),
            "generated_by": actor.username if actor is not None else None,
        },
        "summary": summary,
        "ico_case": (
            {
                "ico_reference": ico.ico_reference,
                "contacted_on": _day(ico.contacted_on),
                "contact_method": ico.get_contact_method_display(),
                "caseworker": ico.caseworker,
                "requested": ico.requested,
                "deadlines": [
                    {
                        "what": d.what,
                        "due_on": _day(d.due_on),
                        "answered_on": _day(d.answered_on),
                        "state": deadline_state(d.due_on, d.answered_on, today),
                    }
                    for d in deadlines
                ],
                "outcome": ico.get_outcome_display() if ico.outcome else None,
                "outcome_on": _day(ico.outcome_on),
                "outcome_notes": ico.outcome_notes,
            }
            if ico
            else None
        ),
        "timeline": status_changes,
        "linked_requests": linked,
        "correspondence": correspondence,
        "history": history,
    }


def attachment_name(item: CaseCorrespondence) -> str:
    return f"attachments/{item.occurred_on.isoformat()}-{item.pk}{Path(item.attachment_path).suffix}"


# --- the PDF ---------------------------------------------------------------------------


def pdf_styles():
    # reportlab takes ~0.1 s to import and only the PDF needs it: imported on that path.
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Bitstream Vera ships with ReportLab: unlike the built-in Helvetica it holds the accented
    # letters of customers' names (and embeds, so the text can be read back from the PDF).
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    styles = getSampleStyleSheet()
    for name in ("Normal", "BodyText", "Title", "Heading1", "Heading2", "Heading3"):
        styles[name].fontName = "VeraBd" if name.startswith(("Title", "Heading")) else "Vera"
    styles["Normal"].fontSize = 8
    styles["Normal"].leading = 10
    return styles


def _when(iso: str) -> str:
    """An ISO timestamp as '2026-11-25 10:02' (local time, as stored), to fit a table cell."""
    return iso[:16].replace("T", " ")


def pdf_paragraph(text, style):
    # reportlab takes ~0.1 s to import and only the PDF needs it: imported on that path.
    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(text if text not in (None, "") else NONE)).replace("\n", "<br/>"), style)


def pdf_table(rows: list[list], widths: list[float], styles, *, header: bool = True):
    # reportlab takes ~0.1 s to import and only the PDF needs it: imported on that path.
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    data = [[pdf_paragraph(cell, styles["Normal"]) for cell in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    table.setStyle(TableStyle(commands))
    return table


def bundle_pdf(content: dict) -> bytes:
    """The report as a PDF (A4), rendered from `bundle_content`."""
    # reportlab takes ~0.1 s to import and only the PDF needs it: imported on that path.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    styles = pdf_styles()
    normal, h2 = styles["Normal"], styles["Heading2"]
    width = A4[0] - 30 * mm
    buffer = io.BytesIO()
    meta = content["bundle"]
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=meta["title"],
        author="Privacy Portal",
    )
    story = [
        pdf_paragraph(meta["title"], styles["Title"]),
        pdf_paragraph(f"Generated {_when(meta['generated_at'])} by {meta['generated_by'] or 'the system'}.", normal),
        Spacer(1, 4 * mm),
        pdf_paragraph("Summary", h2),
    ]
    s = content["summary"]
    complainant = s["complainant"]
    facts = [
        ("Reference", s["reference"]),
        ("Status", s["status"]),
        ("Category", s["category"]),
        ("Received", f"{s['received_on']} by {s['channel'].lower()}"),
        ("Customer", s["customer"]),
        (
            "Complainant",
            ", ".join(v for v in (complainant["name"], complainant["email"], complainant["phone"]) if v),
        ),
        ("What it is about", s["description"]),
        ("Handler", s["handler"]),
        ("Logged by", s["logged_by"]),
        ("Acknowledge by", s["acknowledge_by"]),
        ("Acknowledged", f"{s['acknowledged_on'] or 'not yet'} ({s['acknowledgement']})"),
        ("Response target", s["response_due_on"] or "not set"),
        ("Responded", f"{s['responded_on'] or 'not yet'} ({s['response']})"),
        ("Response", s["response_summary"]),
        ("Review requested", s["review_requested_on"]),
        ("Review concluded", s["review_concluded_on"]),
        ("Review outcome", s["review_outcome"]),
        ("Closed", s["closed_on"]),
        ("Outcome", s["outcome"]),
    ]
    story.append(pdf_table([list(row) for row in facts], [40 * mm, width - 40 * mm], styles, header=False))

    ico = content["ico_case"]
    story += [Spacer(1, 4 * mm), pdf_paragraph("The ICO's case", h2)]
    if ico is None:
        story.append(pdf_paragraph("Not escalated to the ICO.", normal))
    else:
        ico_facts = [
            ("ICO reference", ico["ico_reference"]),
            ("Contacted us", f"{ico['contacted_on']} by {ico['contact_method'].lower()}"),
            ("Caseworker", ico["caseworker"]),
            ("Asked for", ico["requested"]),
            ("Outcome", f"{ico['outcome']} on {ico['outcome_on']}" if ico["outcome"] else "Awaited"),
            ("Outcome notes", ico["outcome_notes"]),
        ]
        story.append(pdf_table([list(row) for row in ico_facts], [40 * mm, width - 40 * mm], styles, header=False))
        story.append(Spacer(1, 2 * mm))
        rows = [["What the ICO wants", "Due", "Answered", "Kept"]]
        rows += [[d["what"], d["due_on"], d["answered_on"] or "not yet", d["state"]] for d in ico["deadlines"]]
        story.append(pdf_table(rows, [width - 75 * mm, 25 * mm, 25 * mm, 25 * mm], styles))

    story += [Spacer(1, 4 * mm), pdf_paragraph("Timeline (status changes)", h2)]
    rows = [["When (local time)", "Who", "Status", "Note"]]
    rows += [[_when(t["at"]), t["who"], t["status"], t["note"]] for t in content["timeline"]]
    story.append(pdf_table(rows, [38 * mm, 30 * mm, 40 * mm, width - 108 * mm], styles))

    story += [Spacer(1, 4 * mm), pdf_paragraph("Linked rights requests", h2)]
    if not content["linked_requests"]:
        story.append(pdf_paragraph("No rights requests are linked to this complaint.", normal))
    else:
        rows = [["Request", "Right", "Status", "Received", "Due", "Closed", "Deadline"]]
        rows += [
            [r["reference"], r["right"], r["status"], r["received_on"], r["due_on"], r["closed_on"], r["deadline"]]
            for r in content["linked_requests"]
        ]
        story.append(pdf_table(rows, [26 * mm, 30 * mm, 26 * mm, 22 * mm, 22 * mm, 22 * mm, width - 148 * mm], styles))
        for r in content["linked_requests"]:
            if r["description"] or r["outcome"]:
                story.append(
                    pdf_paragraph(
                        f"{r['reference']}: asked for: {r['description'] or NONE}. Outcome: {r['outcome'] or NONE}",
                        normal,
                    )
                )

    story += [Spacer(1, 4 * mm), pdf_paragraph("Correspondence", h2)]
    if not content["correspondence"]:
        story.append(pdf_paragraph("No correspondence recorded.", normal))
    else:
        rows = [["Date", "On", "In/out", "How", "Summary", "Attachment"]]
        rows += [
            [c["occurred_on"], c["on"], c["direction"], c["medium"], c["summary"], c["attachment"] or "-"]
            for c in content["correspondence"]
        ]
        story.append(pdf_table(rows, [22 * mm, 30 * mm, 14 * mm, 20 * mm, width - 130 * mm, 44 * mm], styles))

    story += [Spacer(1, 4 * mm), pdf_paragraph("Change history", h2)]
    story.append(
        pdf_paragraph(
            "Every change to every record held about the person: the complaint, its ICO case, its linked requests "
            "and their case files, and the customer's records (preferences, disclosures, calls, correspondence, "
            "purchases).",
            normal,
        )
    )
    rows = [["When", "Who", "Record", "Change"]]
    for entry in content["history"]:
        lines = [f"{entry['action']}" + (f": {entry['reason']}" if entry["reason"] else "")]
        lines += [f"{c['field']}: {c['from']} -> {c['to']}" for c in entry["changes"]]
        rows.append([_when(entry["at"]), entry["who"], entry["record"], "\n".join(lines)])
    story.append(pdf_table(rows, [38 * mm, 26 * mm, 40 * mm, width - 104 * mm], styles))
    doc.build(story)
    return buffer.getvalue()


# --- the ZIP ---------------------------------------------------------------------------


def bundle_zip(complaint: Complaint, *, actor: User | None = None) -> tuple[str, bytes]:
    """The download: (file name, ZIP bytes) with the PDF, the JSON and the attachments."""
    content = bundle_content(complaint, actor=actor)
    reference = complaint.reference
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{reference}-report.pdf", bundle_pdf(content))
        archive.writestr(f"{reference}.json", json.dumps(content, indent=2, ensure_ascii=False))
        items = CaseCorrespondence.objects.filter(complaint=complaint) | CaseCorrespondence.objects.filter(
            case__in=complaint.cases.all()
        )
        for item in items.exclude(attachment_path=""):
            attachment = file_read(item.attachment_path)
            if attachment is not None:
                archive.writestr(attachment_name(item), attachment)
    return f"{reference}-bundle.zip", buffer.getvalue()
