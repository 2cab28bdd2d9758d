"""Building an export: the request (an outbox sent to the broker on commit), the background
build, the sweep that sends again what was not started, and the expiry of old exports."""

from __future__ import annotations

import datetime
import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from privacy_portal import legal
from privacy_portal.models import User
from privacy_portal.private_storage import temporary_files_delete_stale
from privacy_portal.tracked import save_tracked

from ...access import may_work_case
from ...models import Case, CaseDocument, ExportRequest
from ...tasks import run_export_request
from ..documents import document_create, document_delete
from ..locking import transition
from . import render

log = logging.getLogger(__name__)


ERR_RIGHT = "Only access and portability requests have an export."
ERR_STATUS = "Build the export while the case is in progress."
ERR_NO_CUSTOMER = "This case is not linked to a customer record, so there is nothing to export from the portal."
ERR_ERASED = "This customer has been erased: there is no personal data left to export."
ERR_NOT_WORKER = "Only the assigned handler or the DPO can build the export."
ERR_GAVE_UP = (
    "The export could not be built (it was started {n} times and never finished). "
    "Build it again; if it fails again, tell IT."
)

# A build started this many times without finishing (killed, timed out) is given up, and the
# case page says so: retrying for ever would hide a real fault behind a spinner.
EXPORT_MAX_ATTEMPTS = 3
# Requests the sweep handles per run (it runs every minute).
SWEEP_BATCH = 500

EXPORT_RIGHTS = (Case.Right.ACCESS, Case.Right.PORTABILITY)
CONTENT_TYPE = "application/zip"
REPLACED_REASON = "Replaced by a newer export"
EXPIRED_REASON = f"Export kept {legal.EXPORT_RETENTION_DAYS} days (retention policy), then deleted"


def _check(case: Case) -> None:
    if case.right not in EXPORT_RIGHTS:
        raise ValidationError(ERR_RIGHT)
    if case.customer is None:
        raise ValidationError(ERR_NO_CUSTOMER)
    if case.customer.is_erased:
        raise ValidationError(ERR_ERASED)


def _live_exports(case: Case) -> list[CaseDocument]:
    return list(case.documents.filter(kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True).order_by("uploaded_at"))


def _send(export_request_id: int) -> None:
    """Hand a request to the broker. An unreachable broker is logged, not raised: the request
    row is the record of the work, and the sweep sends it again."""
    try:
        run_export_request.apply_async(args=[export_request_id])
    except OperationalError:
        log.warning("export request %s not sent (broker unreachable); the sweep sends it again", export_request_id)


@transition("case")
def export_request(*, actor: User, case: Case) -> ExportRequest:
    """Ask for the case's export to be built in the background.

    The request is recorded here, in the caller's transaction (the outbox), and sent to the
    broker once that commits; if the broker cannot be reached it stays queued and the sweep
    sends it again. A request already queued for the case (a second click) is returned as it
    is: it reads the data when it starts, so it serves both.
    """
    if not may_work_case(actor, case):
        raise ValidationError(ERR_NOT_WORKER)
    _check(case)
    if case.status != Case.Status.IN_PROGRESS:
        raise ValidationError(ERR_STATUS)
    # Two clicks at once: the case's row lock (@transition) orders them, and the second is served
    # by the first's request whether it is still queued or already being built.
    pending = ExportRequest.objects.filter(case=case, status__in=ExportRequest.PENDING_STATUSES).first()
    if pending is not None:
        return pending
    request = ExportRequest(case=case, requested_by=actor)
    try:
        save_tracked(request, actor=actor, reason="Export requested", savepoint=True)
    except IntegrityError:  # a concurrent click queued one first (exportrequest_one_queued_per_case)
        return ExportRequest.objects.filter(case=case, status=ExportRequest.Status.QUEUED).first() or request
    transaction.on_commit(partial(_send, request.pk))
    return request


def _mark(request: ExportRequest, reason: str, **changes) -> None:
    for name, value in changes.items():
        setattr(request, name, value)
    save_tracked(request, actor=None, reason=reason)  # the background worker or the sweep, not a member of staff


def export_request_run(*, export_request_id: int) -> CaseDocument | None:
    """Build the export a request asked for, once. Returns the document, or None when there
    is nothing to do (unknown, already built or given up, or being built right now by another
    delivery of the same request) or the case no longer qualifies (recorded as not built).

    Two transactions: the first records that a build started (so the sweep counts attempts
    and the case page says "being built"); the second holds the request's row lock for the
    whole build and commits the document and "built" together. A worker killed mid-build
    therefore commits nothing of the build, and its lock ends with its connection: the sweep
    then sees the request not started in time and sends it again.
    """
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=export_request_id, status__in=ExportRequest.PENDING_STATUSES)
            .first()
        )
        if request is None:
            return None
        _mark(
            request,
            "Export build started",
            status=ExportRequest.Status.RUNNING,
            attempts=request.attempts + 1,
            started_at=timezone.now(),
        )
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .select_related("case", "requested_by")
            .filter(pk=export_request_id, status=ExportRequest.Status.RUNNING)
            .first()
        )
        if request is None:  # another delivery took it over meanwhile
            return None
        try:
            doc = export_build(actor=request.requested_by, case=request.case, requested_at=request.requested_at)
        except ValidationError as exc:
            # The case changed since the request (e.g. the customer was erased): nothing to retry.
            _mark(
                request,
                "Export not built",
                status=ExportRequest.Status.FAILED,
                failure="; ".join(exc.messages)[:300],
                finished_at=timezone.now(),
            )
            return None
        _mark(request, "Export built", status=ExportRequest.Status.DONE, document=doc, finished_at=timezone.now())
        return doc


def export_requests_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Every minute (beat): send again every export request not started in time, give up on
    those that have started EXPORT_MAX_ATTEMPTS times without finishing, and delete temporary
    files left by writers killed mid-write.

    "Not started in time": still pending OUTBOX_REQUEUE_AFTER_SECONDS after it was last sent,
    and not locked. A build in progress holds its request's row lock, so it is skipped however
    long it runs; a worker that died released the lock with its connection. A request sent
    twice is harmless: export_request_run does the work once.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    sent = failed = 0
    with transaction.atomic():
        stale = (
            ExportRequest.objects.select_for_update(skip_locked=True)
            .filter(status__in=ExportRequest.PENDING_STATUSES, sent_at__lte=cutoff)
            .order_by("sent_at", "pk")[:SWEEP_BATCH]
        )
        for request in stale:
            if request.attempts >= EXPORT_MAX_ATTEMPTS:
                failure = ERR_GAVE_UP.format(n=EXPORT_MAX_ATTEMPTS)
                _mark(request, "Export given up", status=ExportRequest.Status.FAILED, failure=failure, finished_at=now)
                failed += 1
                continue
            _mark(request, "Export request sent again (not started in time)", sent_at=now)
            transaction.on_commit(partial(_send, request.pk))
            sent += 1
    parts = temporary_files_delete_stale(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT)
    if sent or failed or parts:
        log.warning("export sweep: %s sent again, %s given up, %s temporary files deleted", sent, failed, parts)
    return {"sent_again": sent, "given_up": failed, "temporary_files_deleted": parts}


@transaction.atomic
def export_build_queued(*, case_id: int, actor_id: int, requested_at: str | None = None) -> int | None:
    """export_build for a message queued before requests had an outbox row (the build_export
    task, kept so those still in a queue at upgrade are built): loads the case and the actor by
    id; a case or actor gone, or a case no longer exportable, is logged and builds nothing
    (nothing to retry). The document's id otherwise."""
    case = Case.objects.filter(pk=case_id).first()
    actor = User.objects.filter(pk=actor_id).first()
    if case is None or actor is None:
        log.warning("build_export: case %s or actor %s no longer exists", case_id, actor_id)
        return None
    when = datetime.datetime.fromisoformat(requested_at) if requested_at else None
    try:
        return export_build(actor=actor, case=case, requested_at=when).pk
    except ValidationError as exc:
        # The case changed since the request (e.g. the customer was erased): nothing to retry.
        log.warning("build_export: case %s not exported: %s", case_id, "; ".join(exc.messages))
        return None


@transaction.atomic
def export_build(*, actor: User, case: Case, requested_at: datetime.datetime | None = None) -> CaseDocument:
    """Build the ZIP for an access or portability case and store it privately as a document.

    Idempotent per request: if an export was already built at or after `requested_at`, that
    one is returned and nothing is built. Concurrent deliveries queue on the case's row lock.
    """
    # NO KEY: concurrent builds still queue, but rows referring to the case (notes, new export
    # requests) can be written while this one builds.
    case = Case.objects.select_for_update(of=("self",), no_key=True).select_related("customer").get(pk=case.pk)
    existing = _live_exports(case)
    if requested_at is not None:
        done = [doc for doc in existing if doc.uploaded_at >= requested_at]
        if done:
            return done[-1]
    _check(case)
    files = render.export_files(case)
    doc = document_create(  # no file without its committed row
        actor=actor, case=case, kind=CaseDocument.Kind.EXPORT, data=render.zip_files(files), content_type=CONTENT_TYPE,
        ext="zip", reason=f"{Case.Right(case.right).label} export built",
    )  # fmt: skip
    for old in existing:
        document_delete(actor=actor, doc=old, reason=REPLACED_REASON)
    return doc


def exports_delete_expired(*, now: datetime.datetime | None = None) -> dict:
    """Nightly: delete every export older than legal.EXPORT_RETENTION_DAYS, recording each deletion."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=legal.EXPORT_RETENTION_DAYS)
    expired = CaseDocument.objects.filter(
        kind=CaseDocument.Kind.EXPORT, deleted_at__isnull=True, uploaded_at__lte=cutoff
    ).order_by("pk")
    deleted = 0
    for doc in expired.iterator(chunk_size=500):
        document_delete(actor=None, doc=doc, reason=EXPIRED_REASON)
        deleted += 1
    return {"deleted": deleted}
