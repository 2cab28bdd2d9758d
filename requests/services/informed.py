"""The right to be informed (UK GDPR Arts 13-14): send the requester the supplementary information.

The content comes from the register of processing activities, the one source
(privacy_portal.register.supplementary_information), rendered as the same readable HTML an
access export carries. What was sent is kept on the case as a document; that it was sent,
and how, as a note.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Case, CaseDocument, CaseNote
from .cases import _save
from .documents import document_write_after_commit
from .fulfilment import require_fulfilment
from .locking import transition

ERR_CHANNEL = "Say how it was sent: email, post or in person."
SENT_BY = {
    Case.Channel.EMAIL: "by email",
    Case.Channel.POST: "by post",
    Case.Channel.IN_PERSON: "in person",
}


@transition("case")
def case_inform(*, actor, case: Case, sent_by: str) -> CaseDocument:
    """Render the supplementary information as it stands today, attach it to the case (private
    storage, written once the transaction commits) and record that it was sent `sent_by`.
    The requester need not be a customer: anyone may ask how their data would be used."""
    from .export import render_html_value, supplementary

    require_fulfilment(actor, case, Case.Right.INFORMED, needs_customer=False)
    if sent_by not in SENT_BY:
        raise ValidationError({"sent_by": ERR_CHANNEL})
    now = timezone.now()
    data = render_to_string(
        "requests/export/supplementary_information.html",
        {
            "about": {"request_reference": case.reference, "generated_at": timezone.localtime(now).isoformat()},
            "body": render_html_value(supplementary()),
        },
    ).encode()
    relative = f"cases/{case.pk}/{CaseDocument.Kind.CORRESPONDENCE}/{uuid.uuid4().hex}.html"
    doc = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.CORRESPONDENCE,
        path=relative,
        content_type="text/html; charset=utf-8",
        size=len(data),
        uploaded_by=actor,
        uploaded_at=now,
    )
    doc._history_user = actor
    doc._change_reason = "Supplementary information (Arts 13-14)"
    doc.save()
    note = CaseNote(
        case=case,
        author=actor,
        created_at=now,
        text=f"Supplementary information (Arts 13-14) sent {SENT_BY[sent_by]}; the copy sent is document #{doc.pk}.",
    )
    note._history_user = actor
    note.save()
    _save(case, actor, f"Supplementary information sent {SENT_BY[sent_by]}")

    document_write_after_commit(doc, data)
    return doc
