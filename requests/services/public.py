"""The public's own door: the complaint form (DPA 2018 s164A(2)), the rights-request form with
its emailed one-time code, and the requester's secure page (status, messages, identity evidence,
the export). Nobody here is a member of staff: steps are recorded with no history user and a
reason saying they came from the public form or the secure page.

Who the requester is, on the secure page: whoever holds the signed link emailed to the address
that was verified by a code. The link names one case and expires (legal.PUBLIC_LINK_DAYS);
editing it breaks its signature. A new one is sent, on request, only to that address.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from customers.services.normalise import email_key, email_mixed_script, normalise_phone
from privacy_portal import legal
from privacy_portal.audit import access_entry
from privacy_portal.models import AccessEvent
from privacy_portal.tracked import save_tracked

from ..models import Case, CaseCorrespondence, CaseDocument, Complaint, PublicSubmission, VerificationCode
from . import messages
from .cases import case_log, clarification_received_record, identity_received_record
from .complaints import case_is_about_same_person, complaint_log
from .documents import document_store
from .links import LINK_SALT, email_tag, link_url
from .locking import lock_row, transition

log = logging.getLogger("portal.public")

Key = messages.Key

ERR_CODE_WRONG = "That code is not right. You have {left} more {tries}."
ERR_CODE_SPENT = "That code can no longer be used: ask for a new code below."
ERR_CODE_EXPIRED = "That code has expired (codes work for {minutes} minutes): ask for a new code below."
ERR_ONE_DETAIL = "Give at least one detail that helps us find your data: your name, phone, postcode or account number."
ERR_MIXED_SCRIPT = (
    "Check the email address: it mixes letters of more than one script (such as a Cyrillic letter that"
    " looks Latin), as a look-alike of another address does."
)
ERR_RELATIONSHIP = "Say how you are related to the person (for example: solicitor, parent, carer)."
ERR_SUBJECT_NAME = "Give the name of the person you are acting for."
ERR_NO_RIGHTS = "Choose at least one right."
ERR_REPLY_EMPTY = "Write your message."
ERR_NOT_AWAITING_IDENTITY = "We are not waiting for identity evidence on this request."
ERR_CLOSED = "This request is closed: you can no longer send messages or files here."
ERR_NO_EXPORT = "There is no copy of your data to download for this request."
ERR_EXPORT_EXPIRED = "The copy of your data is no longer available: it was kept for {days} days after it was made."
ERR_EXPORT_USED = "This copy of your data has been downloaded {n} times, the most we allow. Ask us for a new copy."

SUBMISSION_SALT = "requests.public.submission"
# The actor of the requester's own entries in the access log (AccessEvent.user is null).
REQUESTER_ACTOR = "verified_requester"
UNVERIFIED_KEPT_HOURS = 24
# Codes one request may be sent (the first and the new ones asked for): with 3 tries each, at most
# 15 guesses at a 6-digit code over the request's life, whatever the rate limits allow.
MAX_CODES_PER_SUBMISSION = 5
BY_FORM = "by the requester on the public form"
BY_PAGE = "by the requester on the secure page"


# --- links (made in requests.services.links) ----------------------------------------------


class LinkError(Exception):
    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.message = message
        self.status = status


ERR_LINK_BAD = "This link is not valid. Check that it was copied in full from our email, or ask for a new link."
ERR_LINK_EXPIRED = f"This link has expired (links work for {legal.PUBLIC_LINK_DAYS} days). Ask for a new link below."


def case_from_link(token: str) -> Case:
    """The case a link names, or LinkError: tampered with (another case's number written in
    breaks the signature), expired, or for an address no longer the case's."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=datetime.timedelta(days=legal.PUBLIC_LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkError(ERR_LINK_EXPIRED, 410) from None
    except signing.BadSignature:
        log.warning("secure page refused: bad link signature")
        raise LinkError(ERR_LINK_BAD) from None
    case = Case.objects.filter(pk=data.get("c"), email_verified_at__isnull=False).first()
    if case is None or email_tag(case.requester_email) != data.get("e"):
        raise LinkError(ERR_LINK_BAD)
    return case


def submission_token(submission: PublicSubmission) -> str:
    return signing.dumps(submission.pk, salt=SUBMISSION_SALT)


def submission_from_token(token: str) -> PublicSubmission | None:
    try:
        pk = signing.loads(token, salt=SUBMISSION_SALT, max_age=datetime.timedelta(hours=UNVERIFIED_KEPT_HOURS))
    except signing.BadSignature:
        return None
    return PublicSubmission.objects.filter(pk=pk).first()


def requester_access(*, request, case: Case, action: str, obj=None) -> AccessEvent:
    """The requester's read of their own case, in the access log: no member of staff, the
    verified requester as the actor (ids only, as every entry)."""
    return access_entry(
        user=None,
        action=action,
        customer_id=case.customer_id,
        obj=obj if obj is not None else case,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        details={"actor": REQUESTER_ACTOR, "case_id": case.pk},
    )


# --- the complaint form -----------------------------------------------------------------------


def complaint_file_public(
    *,
    name: str,
    email: str,
    phone: str = "",
    address: str = "",
    on_behalf: bool = False,
    on_behalf_of: str = "",
    relationship: str = "",
    category: str,
    description: str,
    remedy: str = "",
    request_reference: str = "",
) -> Complaint:
    """A complaint from the web form, acknowledged at once by email (s164A(4) met the same day).
    The form's fields are named keyword parameters (never **details), so a caller passing a field
    the service does not take fails at the call, and mypy checks each one.

    The complaint is filed in one transaction; the acknowledgement is sent once it has committed,
    and recorded as the acknowledgement when the mail server took it
    (requests.services.messages.message_deliver). A request reference is linked only when it names
    a request of the same person (the details typed match its requester's); otherwise it is noted
    for the handler. The complainant is told the same either way, so the form never reveals
    whether a reference exists."""
    with transaction.atomic():
        errors = {}
        if on_behalf and not relationship.strip():
            errors["relationship"] = ERR_RELATIONSHIP
        if on_behalf and not on_behalf_of.strip():
            errors["on_behalf_of"] = ERR_SUBJECT_NAME
        if errors:
            raise ValidationError(errors)
        complaint = complaint_log(
            actor=None,
            received_on=timezone.localdate(),
            channel=Case.Channel.WEB_FORM,
            category=category,
            description=description,
            complainant_name=name,
            complainant_email=email,
            complainant_phone=phone,
            complainant_address=address,
        )
        complaint.on_behalf_of = on_behalf_of.strip() if on_behalf else ""
        complaint.complainant_relationship = relationship.strip() if on_behalf else ""
        complaint.remedy_sought = remedy.strip()
        reference = request_reference.strip().upper()
        if reference:
            party = {"name": name, "email": email, "phone": phone, "address": address}
            case = Case.objects.filter(reference=reference).first()
            if case is not None and case_is_about_same_person(None, party, case):
                complaint.cases.add(case)
            else:
                complaint.description += f"\n\n[Request reference given on the form, not matched: {reference}]"
        save_tracked(complaint, actor=None, reason="Filed on the public complaint form")
    messages.message_send(
        key=Key.COMPLAINT_ACK,
        to=complaint.complainant_email,
        context={"reference": complaint.reference, "received_on": f"{complaint.received_on:%-d %B %Y}"},
        complaint=complaint,
    )
    complaint.refresh_from_db()
    return complaint


# --- the rights-request form and its code -----------------------------------------------------


def _code_hash(submission_pk: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{submission_pk}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def request_submit_public(
    *,
    rights: list[str],
    email: str,
    name: str = "",
    phone: str = "",
    postcode: str = "",
    account_reference: str = "",
    acting_for_other: bool = False,
    relationship: str = "",
    subject_name: str = "",
    description: str = "",
) -> PublicSubmission:
    """Hold a request from the public form until its email is verified, and send the code."""
    errors = {}
    if not rights:
        errors["rights"] = ERR_NO_RIGHTS
    if not any(v.strip() for v in (name, phone, postcode, account_reference)):
        errors["name"] = ERR_ONE_DETAIL
    if acting_for_other and not relationship.strip():
        errors["relationship"] = ERR_RELATIONSHIP
    if acting_for_other and not subject_name.strip():
        errors["subject_name"] = ERR_SUBJECT_NAME
    try:  # the one phone rule, as the intake and complaint services apply it
        phone = normalise_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    submission = PublicSubmission.objects.create(
        rights=list(dict.fromkeys(rights)),
        email=email_key(email),
        requester_name=name.strip(),
        phone=phone,
        postcode=postcode.strip(),
        account_reference=account_reference.strip(),
        acting_for_other=acting_for_other,
        representative_relationship=relationship.strip() if acting_for_other else "",
        subject_name=subject_name.strip() if acting_for_other else "",
        description=description.strip(),
    )
    code_send(submission=submission)
    return submission


def code_send(*, submission: PublicSubmission) -> bool:
    """A new code for the submission (any earlier one is spent), emailed; only its hash kept.
    False (nothing sent) once the submission has had MAX_CODES_PER_SUBMISSION codes."""
    now = timezone.now()
    with transaction.atomic():
        lock_row(submission)
        if submission.codes.count() >= MAX_CODES_PER_SUBMISSION:
            log.warning("verification code refused: codes used up submission_id=%s", submission.pk)
            return False
        for old in submission.codes.filter(spent_at__isnull=True):
            old.spent_at = now
            old.save(update_fields=["spent_at"])
        code = "".join(secrets.choice("0123456789") for _ in range(legal.VERIFICATION_CODE_DIGITS))
        VerificationCode.objects.create(
            submission=submission,
            code_hash=_code_hash(submission.pk, code),
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=legal.VERIFICATION_CODE_MINUTES),
        )
    messages.message_send(
        key=Key.VERIFICATION_CODE,
        to=submission.email,
        context={"code": code, "minutes": legal.VERIFICATION_CODE_MINUTES},
        record=False,
    )
    return True


def code_verify(*, submission: PublicSubmission, code: str) -> list[Case]:
    """Check a code. Right: the request becomes its cases (received the day it was submitted),
    flagged "email verified", and the requester is sent the link to the secure page. Wrong:
    one try fewer (a code is spent after VERIFICATION_CODE_ATTEMPTS). A ValidationError on
    "code" says which."""
    code = code.strip()
    with transaction.atomic():
        lock_row(submission)
        live = submission.codes.filter(spent_at__isnull=True).order_by("-created_at").first()
        now = timezone.now()
        if live is None:
            raise ValidationError({"code": ERR_CODE_SPENT})
        if now >= live.expires_at:
            live.spent_at = now
            live.save(update_fields=["spent_at"])
            error = ERR_CODE_EXPIRED.format(minutes=legal.VERIFICATION_CODE_MINUTES)
        elif not hmac.compare_digest(live.code_hash, _code_hash(submission.pk, code)):
            live.attempts += 1
            left = legal.VERIFICATION_CODE_ATTEMPTS - live.attempts
            if left <= 0:
                live.spent_at = now
                error = ERR_CODE_SPENT
            else:
                error = ERR_CODE_WRONG.format(left=left, tries="try" if left == 1 else "tries")
            live.save(update_fields=["attempts", "spent_at"])
            log.warning("verification code refused (wrong) submission_id=%s attempts=%s", submission.pk, live.attempts)
        else:
            error = ""
    if error:
        # Committed above (the try counts); then refused.
        raise ValidationError({"code": error})
    with transaction.atomic():
        lock_row(submission)
        cases = _cases_from(submission)
        submission.delete()
    for case in cases:
        messages.message_send(key=Key.REQUEST_ACK, to=case.requester_email, context=_ack_context(case), case=case)
    return cases


def _ack_context(case: Case) -> dict[str, object]:
    return {
        "reference": case.reference,
        "rights": case.get_right_display(),
        "received_on": f"{case.received_on:%-d %B %Y}",
        "due_on": f"{case.due_on:%-d %B %Y}" if case.due_on else "(once your identity is confirmed)",
        "link": link_url(case),
        "link_days": legal.PUBLIC_LINK_DAYS,
        "resend_url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("public_requests:resend"),
    }


def _cases_from(submission: PublicSubmission) -> list[Case]:
    received = timezone.localtime(submission.submitted_at).date()
    details = [
        ERR_MIXED_SCRIPT if email_mixed_script(submission.email) else "",
        f"Account reference given: {submission.account_reference}" if submission.account_reference else "",
        f"Postcode given: {submission.postcode}" if submission.postcode else "",
        f"Acting for: {submission.subject_name}" if submission.acting_for_other else "",
        submission.description,
    ]
    cases = case_log(
        actor=None,
        rights=submission.rights,
        channel=Case.Channel.WEB_FORM,
        received_on=received,
        requester_name=submission.requester_name or submission.email,
        requester_email=submission.email,
        requester_phone=submission.phone,
        requester_address=submission.postcode,
        acting_for_other=submission.acting_for_other,
        representative_relationship=submission.representative_relationship,
        description="\n".join(d for d in details if d)[:5000],
    )
    now = timezone.now()
    since = received - relativedelta(months=legal.DUPLICATE_LOOKBACK_MONTHS)
    for case in cases:
        case.email_verified_at = now
        case.possible_repeat_of = (
            Case.objects.filter(requester_email=case.requester_email, right=case.right, email_verified_at__isnull=False)
            .exclude(pk=case.pk)
            .filter(Q_open_or_since(since))
            .order_by("-received_on", "-pk")
            .first()
        )
        save_tracked(case, actor=None, reason="Email verified by a one-time code " + BY_FORM)
    return cases


def Q_open_or_since(since: datetime.date):
    return Q(closed_on__isnull=True) | Q(received_on__gte=since)


def link_resend(*, reference: str, email: str) -> bool:
    """Send a new link to the verified address of request `reference`, if `email` is it.
    The page says the same whether or not it matched."""
    case = Case.objects.filter(
        reference=reference.strip().upper(), requester_email=email_key(email), email_verified_at__isnull=False
    ).first()
    if case is None:
        return False
    messages.message_send(
        key=Key.SECURE_LINK,
        to=case.requester_email,
        context={"reference": case.reference, "link": link_url(case), "link_days": legal.PUBLIC_LINK_DAYS},
        case=case,
    )
    return True


def unverified_submissions_delete(*, now: datetime.datetime | None = None, held: frozenset[int] = frozenset()) -> dict:
    """Delete submissions whose email was never verified, a day after they were sent: they are
    not requests. Run nightly by the retention schedule (rule "public_submissions"). No legal
    hold can cover one: a submission names no customer (`held` is accepted and unused)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=UNVERIFIED_KEPT_HOURS)
    _, per_model = PublicSubmission.objects.filter(submitted_at__lt=cutoff).delete()
    return {
        "publicsubmission": per_model.get(PublicSubmission._meta.label, 0),
        "verificationcode": per_model.get(VerificationCode._meta.label, 0),
        "held": 0,
    }


# --- the secure page ------------------------------------------------------------------------------


STATUS_WORDS = {
    Case.Status.RECEIVED: "We have your request and will start on it shortly.",
    Case.Status.AWAITING_IDENTITY: "We need to confirm who you are: please upload identity evidence below.",
    Case.Status.IN_PROGRESS: "We are working on your request.",
    Case.Status.AWAITING_CLARIFICATION: (
        "We have asked you a question (below): the time limit is paused until you answer."
    ),
    Case.Status.AWAITING_SIGNOFF: "We are working on your request: a senior member of our team is reviewing it.",
    Case.Status.COMPLETED: "Your request is complete.",
    Case.Status.REFUSED: "We could not do what you asked: our message below explains why and what you can do.",
    Case.Status.WITHDRAWN: "This request was withdrawn.",
}


def status_words(case: Case) -> str:
    return STATUS_WORDS[Case.Status(case.status)]


def export_available(case: Case) -> CaseDocument | None:
    """The newest export of the case the requester may download, if any."""
    return (
        case.documents.filter(kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True)
        .exclude(path="")
        .order_by("-uploaded_at")
        .first()
    )


def export_refusal(doc: CaseDocument | None, *, now: datetime.datetime | None = None) -> str:
    """Why the requester may not download `doc` now, or "" if they may."""
    now = now or timezone.now()
    if doc is None:
        return ERR_NO_EXPORT
    if now - doc.uploaded_at > datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS):
        return ERR_EXPORT_EXPIRED.format(days=legal.EXPORT_RETENTION_DAYS)
    if doc.public_downloads >= legal.EXPORT_PUBLIC_DOWNLOADS:
        return ERR_EXPORT_USED.format(n=legal.EXPORT_PUBLIC_DOWNLOADS)
    return ""


@transition("case")
def requester_export_download(*, case: Case, request) -> CaseDocument:
    """Count one download of the case's export by the verified requester (refused once spent or
    expired) and record it in the access log, the requester as the actor."""
    doc = export_available(case)
    if doc is not None:
        lock_row(doc)
    refusal = export_refusal(doc)
    if refusal:
        log.warning("export download refused case_id=%s", case.pk)
        raise ValidationError(refusal)
    assert doc is not None  # export_refusal refuses a missing export
    doc.public_downloads += 1
    save_tracked(
        doc, actor=None, reason=f"Downloaded {BY_PAGE} ({doc.public_downloads} of {legal.EXPORT_PUBLIC_DOWNLOADS})"
    )
    requester_access(request=request, case=case, action=AccessEvent.Action.REQUESTER_DOWNLOAD, obj=doc)
    return doc


@transition("case")
def requester_reply(*, case: Case, text: str) -> CaseCorrespondence:
    """A message from the requester. If we were waiting for their answer to a clarification,
    it is the answer: the clock resumes today (requests.services.cases, Art 12A(5))."""
    if not case.is_open:
        raise ValidationError(ERR_CLOSED)
    if not text.strip():
        raise ValidationError({"text": ERR_REPLY_EMPTY})
    item = CaseCorrespondence(
        case=case,
        occurred_on=timezone.localdate(),
        direction=CaseCorrespondence.Direction.INBOUND,
        medium=CaseCorrespondence.Medium.SECURE_PAGE,
        summary=text.strip(),
        from_requester=True,
    )
    save_tracked(item, actor=None, reason="Message " + BY_PAGE)
    if case.status == Case.Status.AWAITING_CLARIFICATION:
        clarification_received_record(actor=None, case=case, on=timezone.localdate(), by="answered " + BY_PAGE)
    return item


@transition("case")
def requester_identity_upload(*, case: Case, upload) -> CaseDocument:
    """Identity evidence uploaded by the requester: the same checks as the staff upload
    (requests.services.documents), stored privately, deleted once the handler decides."""
    if not case.is_open:
        raise ValidationError(ERR_CLOSED)
    if case.status != Case.Status.AWAITING_IDENTITY:
        raise ValidationError(ERR_NOT_AWAITING_IDENTITY)
    identity_received_record(
        actor=None, case=case, on=timezone.localdate(), reason="Identity evidence uploaded " + BY_PAGE
    )
    return document_store(actor=None, case=case, upload=upload, kind=CaseDocument.Kind.IDENTITY)


def requester_messages(case: Case):
    """What the requester sees of the correspondence: messages sent to them and their own."""
    return case.correspondence.filter(medium__in=["email", "web"]).order_by("-pk")[:50]
