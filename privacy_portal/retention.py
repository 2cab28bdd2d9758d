"""The retention schedule: every kind of record the portal holds, how long it is kept, what
starts the period, what happens at its end, and the source of the rule. One place, beside the
legal figures (privacy_portal.legal) it takes its numbers from.

`SCHEDULE` is read by the DPO's retention page, by the register of processing activities and by
the one nightly job (`retention_apply`), which applies every rule through the service named in
it (each kind's own service, in its own app). `NOT_SCHEDULED` lists the models that are not
records about people, each with its reason. The walk test (tests/privacy_portal/test_retention_
schedule.py) fails on any installed model in neither, so a model added later is not forgotten.

The nightly job skips what a legal hold covers (customers.services.legal_holds) and reports it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string

from customers.services import legal_holds

from . import legal
from .audit import audit_scrub
from .services.replay import collecting_purge

DELETE, ANONYMISE, DETACH, KEEP = "delete", "anonymise", "detach", "keep"
ACTION_LABELS = {
    DELETE: "Deleted, with its history",
    ANONYMISE: "Anonymised",
    DETACH: "Detached from the person",
    KEEP: "Kept (no end)",
}
NOTICE, STATUTE, POLICY = "Privacy notice", "Statute", "Company policy"


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str
    models: tuple[str, ...]
    period: str
    trigger: str
    action: str
    source_kind: str
    source: str
    # Dotted path of the service that applies the rule: `service(now=..., held=...)` returning
    # counts only. Empty for a rule with nothing to apply (kept, or removed with its parent).
    service: str = ""

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[self.action]


CASE_FILE_SOURCE = (
    f"Limitation Act 1980 ss2, 5 (claims barred after {legal.LIMITATION_PERIOD_YEARS} years; UK GDPR Art 82 / "
    "DPA 2018 s168 alike); Art 17(3)(e)"
)

SCHEDULE: tuple[Rule, ...] = (
    Rule(
        "mps_bereavements",
        "MPS matches and bereavements",
        ("customers.MpsMatch", "customers.Bereavement"),
        "While the customer record lasts",
        "The MPS file that matched, or the day the family told us",
        KEEP,
        POLICY,
        "A deceased person's record must never be marketed to again (DMA Code; PECR reg 21-22): kept with the "
        "customer record and removed with it by erasure",
    ),
    Rule(
        "campaign_screenings",
        "Call-list screenings (TPS/CTPS)",
        ("customers.CampaignScreening",),
        f"The result file (every number screened) {legal.CALL_LIST_RESULT_RETENTION_MONTHS} months; the record "
        "(which files, the counts, the list's digest) kept",
        "The screening",
        ANONYMISE,
        POLICY,
        "The evidence the ICO asks for that each campaign was screened (PECR reg 21): the record, which holds no "
        "number, is kept; the result file long enough to answer a complaint about the campaign. An erased "
        "person's numbers are replaced in every result file still kept",
        "customers.services.campaign.screening_results_purge_expired",
    ),
    Rule(
        "customers",
        "Customer records",
        ("customers.Customer",),
        "While the customer relationship lasts",
        "The account's opening; ended by erasure on request (Art 17), which anonymises it",
        KEEP,
        POLICY,
        "The anchor every other kind hangs from; each kind below ends on its own schedule",
    ),
    Rule(
        "calls",
        "Call recordings and transcripts",
        ("customers.Call",),
        f"{legal.CALL_RETENTION_MONTHS} months",
        "The call's start",
        DELETE,
        NOTICE,
        "“call recordings and transcriptions are kept for 6 months and then securely deleted”; the recording "
        "store and the transcription provider are asked to delete their copies",
        "customers.services.retention.calls_purge_expired",
    ),
    Rule(
        "correspondence",
        "Correspondence with customers",
        ("customers.Correspondence",),
        f"{legal.CORRESPONDENCE_RETENTION_MONTHS} months",
        "The letter, email or call it records",
        DELETE,
        NOTICE,
        "“a brief record of any correspondence or telephone calls ... for up to six months”",
        "customers.services.retention.correspondence_purge_expired",
    ),
    Rule(
        "purchases",
        "Purchases and instalment plans",
        ("customers.Purchase",),
        f"{legal.PURCHASE_RETENTION_YEARS} years",
        "The order, or the end of its instalment plan or guarantee if later",
        DELETE,
        STATUTE,
        f"Companies Act 2006 s388(4)(b); VAT Act 1994 Sch 11 para 6 (accounting and VAT records "
        f"{legal.PURCHASE_RETENTION_YEARS} years)",
        "customers.services.retention.purchases_purge_expired",
    ),
    Rule(
        "disclosures",
        "Disclosures to recipients",
        ("customers.Disclosure",),
        f"{legal.DISCLOSURE_RETENTION_YEARS} years",
        "The disclosure",
        DELETE,
        STATUTE,
        "Art 5(2) accountability for the limitation period (Limitation Act 1980 ss2, 5)",
        "customers.services.retention.disclosures_purge_expired",
    ),
    Rule(
        "preferences",
        "Marketing preference changes",
        ("customers.PreferenceChange",),
        f"{legal.PREFERENCE_RECORD_RETENTION_YEARS} years",
        "A later change for the same purpose and channel (the current one is kept while the customer is)",
        DELETE,
        STATUTE,
        "Proof of consent and opt-outs (UK GDPR Art 7(1), PECR reg 22) for the limitation period",
        "customers.services.retention.preference_changes_purge_superseded",
    ),
    Rule(
        "suppression",
        "Suppression list entries and ad-audience removal hashes",
        ("customers.SuppressionEntry", "customers.AdRemovalEntry"),
        "Indefinitely",
        "The opt-out or erasure",
        KEEP,
        STATUTE,
        "Art 21(3) and PECR: the person must never be marketed to again; a keyed hash shows no personal value",
    ),
    Rule(
        "rights_requests",
        "Rights-request files",
        (
            "requests.Case",
            "requests.ClockStop",
            "requests.CaseDocument",
            "requests.CaseTask",
            "requests.CaseNote",
            "requests.ReminderKey",  # a request's reminders (its case); those of complaints and breaches are
            # ids, thresholds and dates only, kept so none is sent twice
            "requests.ExportRequest",
            "requests.CaseUserObjectPermission",
            "requests.CaseGroupObjectPermission",
        ),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The request's closing",
        DELETE,
        STATUTE,
        CASE_FILE_SOURCE,
        "requests.services.retention.cases_delete_expired",
    ),
    Rule(
        "complaints",
        "Complaint files",
        ("requests.Complaint", "requests.ComplaintUserObjectPermission", "requests.ComplaintGroupObjectPermission"),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The complaint's closing",
        DELETE,
        STATUTE,
        CASE_FILE_SOURCE,
        "requests.services.retention.complaints_delete_expired",
    ),
    Rule(
        "case_correspondence",
        "Case-file correspondence (letters, emails, attachments)",
        ("requests.CaseCorrespondence",),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The request's or complaint's closing",
        DELETE,
        STATUTE,
        CASE_FILE_SOURCE,
        "requests.services.retention.case_correspondence_purge_expired",
    ),
    Rule(
        "ico_cases",
        "ICO cases and their deadlines",
        ("requests.IcoCase", "requests.IcoDeadline"),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The complaint's closing (deleted with the complaint)",
        DELETE,
        STATUTE,
        CASE_FILE_SOURCE,
    ),
    Rule(
        "breaches",
        "Breach records",
        ("requests.Breach", "requests.BreachNotification", "requests.BreachTask"),
        "Indefinitely",
        "The breach",
        KEEP,
        STATUTE,
        "Art 33(5): the controller documents every breach, its effects and the remedial action (no customer named)",
    ),
    Rule(
        "breach_affected",
        "People affected by a breach",
        ("requests.BreachAffected",),
        f"{legal.BREACH_AFFECTED_RETENTION_YEARS} years",
        "The breach's closing",
        DETACH,
        POLICY,
        "Art 34 evidence of who was told, for the limitation period; the breach record stays (Art 33(5))",
        "requests.services.retention.breach_affected_detach_expired",
    ),
    Rule(
        "public_submissions",
        "Rights requests sent on the public form, awaiting email verification, and their codes",
        ("requests.PublicSubmission", "requests.VerificationCode"),
        "One day if never verified",
        "The submission (verified: it becomes the request at once and is deleted)",
        DELETE,
        POLICY,
        "Transient by design: not a request until verified; no history kept",
        "requests.services.public.unverified_submissions_delete",
    ),
    Rule(
        "identity_documents",
        "Identity documents",
        ("requests.CaseDocument",),
        "Until verification is decided",
        "The identity decision (any left over: the request's closing)",
        DELETE,
        STATUTE,
        "Art 5(1)(c) data minimisation; ICO right of access guidance (do not keep ID once checked)",
        "requests.services.retention.identity_documents_delete_closed",
    ),
    Rule(
        "exports",
        "Access and portability exports",
        ("requests.CaseDocument",),
        f"{legal.EXPORT_RETENTION_DAYS} days",
        "The export's building",
        DELETE,
        POLICY,
        "Long enough for the requester to receive it, short enough not to be a second copy of everything",
        "requests.services.retention.exports_delete_expired",
    ),
    Rule(
        "inbound_sms",
        "Text messages received",
        ("customers.InboundSms",),
        f"{legal.INBOUND_SMS_RETENTION_MONTHS} months",
        "The message's arrival",
        DELETE,
        POLICY,
        "The gateway's id and outcome, so a replayed message changes nothing; a message that is not a stop keeps "
        "its text and number for an agent to answer, as long as a call or a letter is kept",
        "customers.services.retention.inbound_sms_purge_expired",
    ),
    Rule(
        "email_events",
        "Email provider events (unsubscribes, spam complaints, hard bounces)",
        ("customers.EmailEvent",),
        f"{legal.EMAIL_EVENT_RETENTION_MONTHS} months",
        "The event's arrival",
        DELETE,
        POLICY,
        "Only the provider's event id and outcome, kept so a redelivered event changes nothing",
        "customers.services.retention.email_events_purge_expired",
    ),
    Rule(
        "access_log",
        "The access log (who read whose data)",
        ("privacy_portal.AccessEvent", "privacy_portal.AccessEventText"),
        f"{legal.ACCESS_LOG_RETENTION_YEARS} years",
        "The read",
        DELETE,
        STATUTE,
        "Evidence for a complaint or claim about access (Limitation Act 1980 s2, DPA 2018 s168); the oldest "
        "segment is deleted behind a signed segment checkpoint so the chain still verifies. Held: an entry about "
        "a customer under a legal hold (open request, complaint, ICO case, breach, or the DPO's hold) ends the "
        "segment, so it and everything after it is kept until the hold ends (only a prefix of a chain can go)",
        "privacy_portal.services.staff.access_log_trim_expired",
    ),
    Rule(
        "sign_in_attempts",
        "Sign-in attempts and the admin site change log",
        (
            "axes.AccessAttempt",
            "axes.AccessAttemptExpiration",
            "axes.AccessFailureLog",
            "axes.AccessLog",
            "admin.LogEntry",
        ),
        f"{legal.SIGN_IN_ATTEMPT_RETENTION_MONTHS} months",
        "The attempt",
        DELETE,
        POLICY,
        "Security logs kept long enough to investigate an incident (NCSC logging guidance: 6-12 months)",
        "privacy_portal.services.staff.sign_in_records_purge_expired",
    ),
    Rule(
        "legal_holds",
        "Legal holds placed by the DPO",
        ("customers.LegalHold",),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The hold's release or end",
        DELETE,
        STATUTE,
        "Shows why records outlived their period, for as long as a claim about them could be brought "
        "(Limitation Act 1980 ss2, 5)",
        "customers.services.retention.legal_holds_purge_ended",
    ),
    Rule(
        "deletion_tasks",
        "Deletion tasks sent to other stores, with their confirmations",
        ("customers.DeletionTask",),
        f"{legal.CASE_FILE_RETENTION_YEARS} years",
        "The confirmation",
        DELETE,
        STATUTE,
        "Proof that copies outside the portal were deleted (Art 5(2)) for the limitation period",
        "customers.services.retention.deletion_tasks_purge_confirmed",
    ),
    Rule(
        "sessions",
        "Sessions",
        ("sessions.Session",),
        "Until the session expires",
        "The sign-in",
        DELETE,
        POLICY,
        "Security: an expired session is of no use (settings.SESSION_COOKIE_AGE)",
        "privacy_portal.services.staff.sessions_purge_expired",
    ),
    Rule(
        "job_runs",
        "Scheduled job runs",
        ("privacy_portal.JobRun",),
        f"{legal.JOB_RUN_RETENTION_YEARS} years",
        "The run",
        DELETE,
        POLICY,
        "Operational evidence that the nightly work happened (counts only)",
        "privacy_portal.services.staff.job_runs_purge_expired",
    ),
)

# Models that are not records about people, or that live and die with another record.
NOT_SCHEDULED: dict[str, str] = {
    "auth.Permission": "Django's permission codes: configuration, no personal data.",
    "auth.Group": "The roles' groups: configuration, no personal data.",
    "contenttypes.ContentType": "Django's table of models: configuration, no personal data.",
    "otp_totp.TOTPDevice": "A staff member's second factor: lives and goes with the staff account.",
    "guardian.UserObjectPermission": "A staff member's grant on one object (ids only): revoked with the grant.",
    "guardian.GroupObjectPermission": "A role's grant on one object (ids only): configuration.",
    "privacy_portal.User": "Staff accounts: deactivated, never deleted, so that history and the access log "
    "keep naming who did what (employment records, not customers' data).",
    "privacy_portal.BreakGlassReview": "The DPO's review of a break-glass access-log entry (ids and an outcome "
    "code): lives and goes with its entry, under the access log's rule.",
    "privacy_portal.ProcessingActivity": "The register of processing activities itself (Art 30): no personal data.",
    "privacy_portal.PrivacyNoticeVersion": "The archive of published privacy notices: no personal data, kept "
    "to show what each person was told (Art 13).",
    "customers.Recipient": "The recipient register: organisations, not people.",
    "requests.MessageTemplate": "The words of the messages the portal sends, edited by the DPO: no personal data.",
    "requests.ReferenceCounter": "The last reference number issued per year: no personal data.",
    "customers.TpsFile": "Which TPS/CTPS file was loaded when (dates, counts, a digest): no personal data; the "
    "numbers themselves are replaced by each full file.",
    "customers.DiallerToken": "A dialler's token (its hash, a name): configuration, no personal data.",
    "customers.MpsFile": "Which MPS file was loaded when (counts and a digest only); its matches are scheduled.",
}


def rule(key: str) -> Rule:
    return next(r for r in SCHEDULE if r.key == key)


def scheduled_models() -> set[str]:
    return {label for r in SCHEDULE for label in r.models}


def unaccounted(models_: Iterable[type[models.Model]] | None = None) -> list[str]:
    """Installed models neither in the schedule nor excluded with a reason. A history model
    (simple-history's) goes with the model it records."""
    known = scheduled_models() | set(NOT_SCHEDULED)
    missing = []
    for model in models_ if models_ is not None else apps.get_models():
        meta = model._meta
        if meta.auto_created or getattr(model, "instance_type", None) is not None:
            continue
        if meta.label not in known:
            missing.append(meta.label)
    return sorted(missing)


# --- Applying it -------------------------------------------------------------------------------


def retention_apply(*, now: datetime.datetime | None = None) -> dict:
    """The nightly job: apply every rule of the schedule through its own service, skipping what
    a legal hold covers, and write one chained scrub entry (counts only, never values).

    Returns the report: per rule, the service's counts (including `held`: what a hold kept).
    """
    day = timezone.localdate(now or timezone.now())
    held = frozenset(legal_holds.held_customer_ids(day))
    report: dict[str, dict] = {}
    # Every id deleted goes to the replay ledger, so a restored backup can be purged again.
    # Each batch checks the holds again before it deletes (a matter opened during the run).
    with collecting_purge(), legal_holds.holds_judged_on(day):
        for r in SCHEDULE:
            if r.service:
                service: Callable[..., dict] = import_string(r.service)
                report[r.key] = service(now=now, held=held)
    if any(v for counts in report.values() for v in counts.values()):
        audit_scrub(actor=None, what="retention schedule", details=report)
    return report
