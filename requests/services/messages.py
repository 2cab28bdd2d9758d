"""Outbound messages to requesters and complainants: the DPO's templates, and sending them.

Each message comes from a template the DPO can edit (`MessageTemplate`, versioned, with history),
is sent through Django's email (SMTP in production, EMAIL_* settings), and is recorded in the
case's or complaint's correspondence with the time it was handed to the mail server, the
template's version and the delivery status: "sent", "bounced" (the server refused the address)
or "not sent" (the server could not be reached). A message that cannot be sent never undoes
the step that sent it: the record says so, and the handler sees it on the case.

Templates are plain text with `${name}` placeholders (string.Template), never a template
language: an edited template cannot reach code or data it was not given, and text typed by the
public is inserted as text (emails are text/plain, so HTML in it stays inert).
"""

from __future__ import annotations

import datetime
import json
import logging
import smtplib
import string
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.tracked import get_or_create_tracked, save_tracked

from ..access import may_edit_message_templates
from ..models import CaseCorrespondence, MessageTemplate
from ..tasks import send_case_message
from .complaints import (  # noqa: F401  (ACK_BOUNCED_REASON re-exported: what a bounce records)
    ACK_BOUNCED_REASON,
    complaint_acknowledged_by_email,
    complaint_acknowledgement_bounced,
)

log = logging.getLogger(__name__)

Key = MessageTemplate.Key

ERR_SUBJECT = "Write the subject line."
ERR_BODY = "Write the message."
ERR_PLACEHOLDER = "Unknown placeholder ${{{name}}}: use only {allowed}."
ERR_REASON = "Say why the wording changes (kept in the template's history)."

_COMPLAIN = (
    "If you are unhappy with how we have handled this, you have the right to complain to us first (reply to this "
    "email, or use the complaint form at ${complaint_url}; Data Protection Act 2018 s164A, inserted by the Data "
    "(Use and Access) Act 2025). You also have the right to complain to the Information Commissioner's Office "
    "(ico.org.uk, 0303 123 1113), and the right to go to court to enforce your rights."
)

# The wording each template starts with; the DPO edits it from there.
DEFAULTS: dict[str, tuple[str, str]] = {
    Key.COMPLAINT_ACK: (
        "We have received your complaint ${reference}",
        "Thank you for telling us about your concern. Your complaint has been received on ${received_on} and its "
        "reference is ${reference}.\n\nWhat happens next: a member of our privacy team will look into it and reply "
        "to you without undue delay. If we need more information we will contact you at this address.\n\n"
        "You also have the right to complain to the Information Commissioner's Office (ico.org.uk, 0303 123 1113).",
    ),
    Key.VERIFICATION_CODE: (
        "Your code: ${code}",
        "Your code to confirm this email address is ${code}. It works for ${minutes} minutes. If you did not ask "
        "us for anything, ignore this email: nothing is sent without the code.",
    ),
    Key.REQUEST_ACK: (
        "We have received your request ${reference}",
        "Your request (${rights}) was received on ${received_on}; its reference is ${reference}. We must answer "
        "by ${due_on}, unless we need to check your identity first, in which case the time starts when we have "
        "what we need.\n\nFollow your request, read our messages, answer them and upload documents on your secure "
        "page: ${link}\nThe link works for ${link_days} days; you can ask for a new one at ${resend_url}.",
    ),
    Key.SECURE_LINK: (
        "Your link to request ${reference}",
        "Here is a new link to the secure page of your request ${reference}: ${link}\nIt works for ${link_days} days.",
    ),
    Key.IDENTITY_REQUEST: (
        "We need to confirm your identity for request ${reference}",
        "Before we can answer request ${reference}, we need to be sure you are the person the data is about. "
        "Please upload a copy of a photo identity document or a recent bill showing your name and address on your "
        "secure page: ${link}\nWe delete it as soon as we have checked it.",
    ),
    Key.CLARIFICATION_REQUEST: (
        "A question about your request ${reference}",
        "To find the information you asked for in request ${reference}, we need to know more:\n\n${question}\n\n"
        "Please answer on your secure page: ${link}\nThe time we have to answer is paused until we hear from you "
        "(UK GDPR Art 12A(5)).",
    ),
    Key.EXTENSION: (
        "More time is needed for your request ${reference}",
        "We need more time to answer request ${reference}: ${reason}\nThe law allows us up to two further months "
        "for a complex request. We will answer by ${due_on}.\n\n" + _COMPLAIN,
    ),
    Key.REFUSAL: (
        "Our answer to your request ${reference}",
        "We cannot do what you asked in request ${reference}: ${reason}\n\n" + _COMPLAIN,
    ),
    Key.COMPLETION: (
        "Your request ${reference} is complete",
        "We have completed request ${reference}: ${outcome}\n${download}\n\n" + _COMPLAIN,
    ),
    Key.NEW_MESSAGE: (
        "A new message about your request ${reference}",
        "There is a new message about request ${reference} on your secure page: ${link}",
    ),
}

# The placeholders each template may use (shown on the editing page).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    Key.COMPLAINT_ACK: ("reference", "received_on", "company"),
    Key.VERIFICATION_CODE: ("code", "minutes", "company"),
    Key.REQUEST_ACK: ("reference", "rights", "received_on", "due_on", "link", "link_days", "resend_url", "company"),
    Key.SECURE_LINK: ("reference", "link", "link_days", "company"),
    Key.IDENTITY_REQUEST: ("reference", "link", "company"),
    Key.CLARIFICATION_REQUEST: ("reference", "question", "link", "company"),
    Key.EXTENSION: ("reference", "reason", "due_on", "complaint_url", "company"),
    Key.REFUSAL: ("reference", "reason", "complaint_url", "company"),
    Key.COMPLETION: ("reference", "outcome", "download", "complaint_url", "company"),
    Key.NEW_MESSAGE: ("reference", "link", "company"),
}

SIGNATURE = "\n\n-- \nData Protection Officer, ${company}"
REASON_DEFAULT_WORDING = "Created from its default wording on first use"


def template_for(key: str) -> MessageTemplate:
    """The template's current version, created from its default wording on first use."""
    template = MessageTemplate.objects.filter(key=key).first()
    if template is None:
        subject, body = DEFAULTS[key]
        # actor None: the default wording is the portal's, not whoever's page asked for it first.
        template, _ = get_or_create_tracked(
            MessageTemplate.objects.all(),
            actor=None,
            reason=REASON_DEFAULT_WORDING,
            key=key,
            defaults={"subject": subject, "body": body},
        )
    return template


def templates_all() -> list[MessageTemplate]:
    return [template_for(key) for key in Key.values]


def _placeholders(text: str) -> set[str]:
    names = set()
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


@transaction.atomic
def message_template_update(*, actor: User, key: str, subject: str, body: str, reason: str) -> MessageTemplate:
    """The DPO changes a template's words: a new version, the old one kept in its history."""
    if not may_edit_message_templates(actor):
        raise ValidationError("Only the DPO can change the messages we send.")
    errors = {}
    if not subject.strip():
        errors["subject"] = ERR_SUBJECT
    if not body.strip():
        errors["body"] = ERR_BODY
    if not reason.strip():
        errors["reason"] = ERR_REASON
    allowed = PLACEHOLDERS[key]
    for field, text in (("subject", subject), ("body", body)):
        unknown = sorted(_placeholders(text) - set(allowed))
        if unknown:
            names = ", ".join(f"${{{n}}}" for n in allowed)
            errors.setdefault(field, ERR_PLACEHOLDER.format(name=unknown[0], allowed=names))
    if errors:
        raise ValidationError(errors)
    template = template_for(key)
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    template.subject = subject.strip()
    template.body = body.strip()
    template.version += 1
    template.updated_by = actor
    template.updated_at = timezone.now()
    save_tracked(template, actor=actor, reason=reason.strip())
    return template


def render(key: str, context: dict[str, object]) -> tuple[MessageTemplate, str, str]:
    template = template_for(key)
    values = {"company": settings.COMPANY_NAME, **{k: str(v) for k, v in context.items()}}
    subject = string.Template(template.subject).safe_substitute(values)
    body = string.Template(template.body + SIGNATURE).safe_substitute(values)
    # A subject is one line: a newline typed into a value cannot add a mail header.
    subject = " ".join(subject.split())[:200]
    return template, subject, body


# SendGrid copies an SMTP message's unique args into every event about it (its "X-SMTPAPI"
# header); the event webhook finds our record by this one.
CUSTOM_ARG = "pp_message_id"
# A queued message not sent within this long (broker down at commit, worker killed) is sent by
# the sweep (requests.tasks.sweep_case_messages, every minute).
QUEUED_SWEEP_AFTER = datetime.timedelta(minutes=2)


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<pp-{uuid.uuid4().hex}@{domain}>"


def deliver(*, to: str, subject: str, body: str, message_id: str = "") -> str:
    """Hand one message to the mail server; the delivery status to record."""
    headers = {}
    if message_id:
        headers = {"Message-ID": message_id, "X-SMTPAPI": json.dumps({"unique_args": {CUSTOM_ARG: message_id}})}
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to], headers=headers).send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused):
        log.warning("message bounced by the mail server")  # no address: it is personal data
        return CaseCorrespondence.Delivery.BOUNCED
    except (smtplib.SMTPException, OSError):
        log.exception("message not sent: mail server unreachable or refused")
        return CaseCorrespondence.Delivery.FAILED
    return CaseCorrespondence.Delivery.SENT


def _recipient(item: CaseCorrespondence) -> str:
    if item.case is not None:
        return item.case.requester_email
    assert item.complaint is not None  # an item is on a case or on a complaint
    return item.complaint.complainant_email


def message_queue(
    *, key: str, to: str, context: dict[str, object], case=None, complaint=None, actor: User | None = None
) -> CaseCorrespondence:
    """Render template `key` and record it in the case's (or complaint's) correspondence as
    waiting to be sent, in the caller's transaction. Nothing leaves before that transaction
    commits: `message_deliver` sends it, from the `send_case_message` task enqueued on commit
    (a step rolled back leaves no record and sends nothing)."""
    template, subject, body = render(key, context)
    item = CaseCorrespondence(
        case=case,
        complaint=complaint,
        occurred_on=timezone.localdate(),
        direction=CaseCorrespondence.Direction.OUTBOUND,
        medium=CaseCorrespondence.Medium.EMAIL,
        summary=f"{subject}\n\n{body}"[: CaseCorrespondence._meta.get_field("summary").max_length],
        recorded_by=actor,
        delivery=CaseCorrespondence.Delivery.QUEUED,
        template_key=key,
        template_version=template.version,
        message_id=new_message_id(),
        queued_at=timezone.now(),
    )
    save_tracked(item, actor=actor, reason=f"{template.get_key_display()} queued to be emailed")
    send_case_message.delay_on_commit(item.pk)
    return item


def message_deliver(*, correspondence_id: int) -> CaseCorrespondence | None:
    """Send one queued message and record what the mail server said. Once: the row is locked and
    only a message still queued is sent, so a task delivered twice, or retried after it sent,
    sends nothing more. A complaint's acknowledgement that was sent is its acknowledgement
    (s164A(4)): recorded on the complaint the same day."""
    with transaction.atomic():
        item = (
            CaseCorrespondence.objects.select_for_update(of=("self",))
            .select_related("case", "complaint")
            .filter(pk=correspondence_id)
            .first()
        )
        if item is None or item.delivery != CaseCorrespondence.Delivery.QUEUED:
            return item
        subject, _, body = item.summary.partition("\n\n")
        to = _recipient(item)
        status = (
            deliver(to=to, subject=subject, body=body, message_id=item.message_id)
            if to
            else CaseCorrespondence.Delivery.FAILED
        )
        item.delivery = status
        item.sent_at = timezone.now()
        save_tracked(
            item,
            actor=item.recorded_by,
            reason=f"{Key(item.template_key).label} emailed ({CaseCorrespondence.Delivery(status).label})",
            update_fields=["delivery", "sent_at"],
        )
        if item.template_key == Key.COMPLAINT_ACK and status == CaseCorrespondence.Delivery.SENT and item.complaint:
            complaint_acknowledged_by_email(complaint=item.complaint)
    return item


def message_bounced(*, message_id: str) -> bool:
    """The email provider reports that one of our messages bounced or was dropped (SendGrid's
    event webhook, customers.services.email_events): its correspondence is marked "bounced",
    with history, and the handler sees it on the case. False when no message has that id."""
    with transaction.atomic():
        item = CaseCorrespondence.objects.select_for_update().filter(message_id=message_id).first()
        if item is None:
            return False
        if item.delivery != CaseCorrespondence.Delivery.BOUNCED:
            item.delivery = CaseCorrespondence.Delivery.BOUNCED
            save_tracked(item, actor=None, reason="Reported bounced by the email provider", update_fields=["delivery"])
            log.warning("case message bounced (provider report) correspondence_id=%s", item.pk)
            withdrawn = (
                item.template_key == Key.COMPLAINT_ACK
                and item.complaint is not None
                and complaint_acknowledgement_bounced(complaint=item.complaint)
            )
            if withdrawn:
                log.warning("complaint acknowledgement bounced complaint_id=%s", item.complaint_id)
    return True


def messages_sweep(*, now: datetime.datetime | None = None) -> int:
    """Send the messages still queued a while after they were recorded (their task was lost:
    broker down at commit, worker killed). Each goes through message_deliver, so once."""
    cutoff = (now or timezone.now()) - QUEUED_SWEEP_AFTER
    ids = list(
        CaseCorrespondence.objects.filter(delivery=CaseCorrespondence.Delivery.QUEUED)
        .filter(queued_at__lt=cutoff)
        .values_list("pk", flat=True)
        .order_by("pk")[:500]
    )
    for pk in ids:
        message_deliver(correspondence_id=pk)
    return len(ids)


def message_send(
    *,
    key: str,
    to: str,
    context: dict[str, object],
    case=None,
    complaint=None,
    actor: User | None = None,
    record: bool = True,
) -> CaseCorrespondence | None:
    """Send template `key` to `to` now, for a step that has already committed (the public forms
    call it after their own transaction). Recorded (case or complaint given): queued in the
    correspondence, then delivered at once by message_deliver (the task queued on commit finds
    it sent and sends nothing). Not recorded (the verification code, which belongs to no case
    yet): handed to the mail server."""
    if record and (case is not None or complaint is not None):
        item = message_queue(key=key, to=to, context=context, case=case, complaint=complaint, actor=actor)
        return message_deliver(correspondence_id=item.pk)
    _, subject, body = render(key, context)
    deliver(to=to, subject=subject, body=body)
    return None


def link_days() -> int:
    return legal.PUBLIC_LINK_DAYS
