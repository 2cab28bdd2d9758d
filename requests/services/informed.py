"""The right to be informed (UK GDPR Arts 13-14): send the requester the supplementary information.

The content comes from the register of processing activities, the one source
(privacy_portal.services.register.supplementary_information), rendered as the same readable HTML an
access export carries. What was sent is kept on the case as a document; that it was sent,
and how, as a note.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from privacy_portal.models import User
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseDocument, CaseNote
from .documents import HTML, document_create
from .export import render_html_value, supplementary
from .fulfilment import require_fulfilment
from .locking import transition

ERR_CHANNEL = "Say how it was sent: email, post or in person."
SENT_BY = {
    Case.Channel.EMAIL: "by email",
    Case.Channel.POST: "by post",
    Case.Channel.IN_PERSON: "in person",
}


@transition("case")
def case_inform(*, actor: User, case: Case, sent_by: str) -> CaseDocument:
    """Render the supplementary information as it stands today, attach it to the case (private
    storage, written once the transaction commits) and record that it was sent `sent_by`.
    The requester need not be a customer: anyone may ask how their data would be used."""
    require_fulfilment(actor, case, Case.Right.INFORMED, needs_customer=False)
    if sent_by not in SENT_BY:
        raise ValidationError({"sent_by": ERR_CHANNEL})
    sent = SENT_BY[Case.Channel(sent_by)]
    now = timezone.now()
    data = render_to_string(
        "requests/export/supplementary_information.html",
        {
            "about": {"request_reference": case.reference, "generated_at": timezone.localtime(now).isoformat()},
            "body": render_html_value(supplementary()),
        },
    ).encode()
    doc = document_create(
        actor=actor,
        case=case,
        kind=CaseDocument.Kind.CORRESPONDENCE,
        data=data,
        content_type=HTML,
        ext="html",
        reason="Supplementary information (Arts 13-14)",
        uploaded_at=now,
    )
    note = CaseNote(
        case=case,
        author=actor,
        created_at=now,
        text=f"Supplementary information (Arts 13-14) sent {sent}; the copy sent is document #{doc.pk}.",
    )
    save_tracked(note, actor=actor, reason=None)
    save_tracked(case, actor=actor, reason=f"Supplementary information sent {sent}")
    return doc
