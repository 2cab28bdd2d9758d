"""The hostile-input walk: every form, POST endpoint, GET filter and CSV import, fed what a hostile
user would send, in the style of test_url_walk.py.

Nothing is listed by hand but how to fill a URL's parameters. For each route of the URLconf, as
a member of staff allowed to use it, the walk:

1. probes it (GET with a query string, POST with a body) and records which request keys the
   view reads (request.GET / request.POST / request.FILES) and which forms it binds to them:
   a form or a raw `request.POST.get(...)` added later is walked without anyone listing it;
2. for every key, sends each hostile value in it (NUL, 10,000 characters, year 0001 and 9999
   dates, a 20-digit number, a negative number, a word where a number belongs, two values,
   a right-to-left override) with valid values in the others (so the request gets past the
   form to the service), and an empty body;
3. asserts: never a server error; where the form refuses the value, the page names the field
   (the error shown with the field's label, or a message carrying the label) and no row of any
   table changed; and that every form field refuses what its type can never hold (a NUL, a
   10,000-character text, a right-to-left override; impossible dates; numbers no column holds).

Every request runs in a savepoint rolled back afterwards, so one request never changes what
the next one sees; "no row changed" is measured inside it (PostgreSQL's per-transaction table
statistics, then exact row counts of the tables they name).

CSV imports (views reading a file whose service declares a `*_HEADER`) get one hostile file
per column and value: refused whole, the column named, nothing stored.
"""

from __future__ import annotations

import inspect
import io
import re
import sys
import types
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.forms.forms import BaseForm
from django.forms.utils import pretty_name
from django.http import HttpResponse
from django.test import override_settings
from django.urls import clear_url_caches, include, path
from django.utils import formats, timezone
from django.utils.datastructures import MultiValueDict
from django.utils.html import escape

from privacy_portal.access import requires
from privacy_portal.middleware import NO_STORE
from privacy_portal.text_rules import clean_field
from privacy_portal.urlwalk import ADMIN_NAMESPACE, Route, walk

# Slow: left out of `make test-fast` (still in `make test`).
pytestmark = pytest.mark.slow

ROUTES = [r for r in walk() if r.namespace != ADMIN_NAMESPACE and r.rule is not None]

NUL = "Walk\x00walk"
LONG = "x" * 10_000
RTL = "invoice\u202efdp.exe"
HOSTILE: dict[str, object] = {
    "NUL byte": NUL,
    "10,000 characters": LONG,
    "year 0001": "01/01/0001",
    "year 9999": "31/12/9999",
    "20-digit integer": "9" * 20,
    "negative number": "-1",
    "a word for a number": "not-a-number",
    "two values": ["1", "2"],
    "right-to-left override": RTL,
    # Digits int() reads although they are not 0-9: "²" (a superscript), "٣" (Arabic-Indic 3),
    # full-width 123: a number field must refuse them, never read them as 2, 3 or 123.
    "superscript digit": "\u00b2",
    "Arabic-Indic digit": "\u0663",
    "full-width digits": "\uff11\uff12\uff13",
    "zero-width characters": "1\u200b2\u200d3\ufeff",
    "combining characters": "1\u03012\u0308",
    # The UTF-8 bytes of a lone surrogate (U+D800) and a byte no UTF-8 holds, sent raw: the
    # percent-encoding of the query string, or the bytes of a multipart part.
    "invalid percent-encoding": b"\xed\xa0\x80\xff",
}
# What no field of any type may accept (booleans and files aside).
NEVER = ("NUL byte", "10,000 characters", "right-to-left override")
# What a number, a date or a choice by id must refuse: digits other than 0-9, invisible or
# combining marks between digits, bytes that are not text.
NOT_A_NUMBER = (
    "superscript digit",
    "Arabic-Indic digit",
    "full-width digits",
    "zero-width characters",
    "combining characters",
    "invalid percent-encoding",
)

# Tables written by reading or by signing in, never by a refused change: the access log (every
# read of personal data is recorded, refused or not), sessions, and the sign-in lockout's record
# of failed attempts.
LOG_TABLES = {
    "privacy_portal_accessevent",
    "django_session",
    "axes_accessattempt",
    "axes_accessfailurelog",
    "axes_accesslog",
}


# --- the world the walk acts in -------------------------------------------------------------------


@dataclass
class World:
    users: dict
    ids: dict = field(default_factory=dict)


def build_world(cast) -> World:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from customers.models import Recipient
    from customers.services.unsubscribe import unsubscribe_token
    from privacy_portal.models import PrivacyNoticeVersion, ProcessingActivity
    from requests.models import Case, CaseCorrespondence, CaseDocument
    from requests.services.cases import case_assign, case_start
    from requests.services.complaints import complaint_acknowledge, complaint_assign
    from tests.factories import (
        CallFactory,
        CaseFactory,
        ComplaintFactory,
        CorrespondenceFactory,
        CustomerFactory,
        DisclosureFactory,
        PurchaseFactory,
        UserFactory,
    )

    dpo, handler = cast["dpo"], cast["handler"]
    customer = CustomerFactory()
    DisclosureFactory(customer=customer)
    PurchaseFactory(customer=customer)
    call = CallFactory(customer=customer)
    CorrespondenceFactory(customer=customer)
    case = CaseFactory(customer=customer, right=Case.Right.ACCESS)
    case_assign(actor=dpo, case=case, handler=handler)
    case_start(actor=handler, case=case)
    complaint = ComplaintFactory(customer=customer)
    complaint_assign(actor=dpo, complaint=complaint, handler=handler)
    complaint_acknowledge(actor=handler, complaint=complaint, on=timezone.localdate())
    doc = CaseDocument.objects.create(
        case=case,
        kind=CaseDocument.Kind.CORRESPONDENCE,
        path=f"cases/{case.pk}/correspondence/walk-doc.pdf",
        content_type="application/pdf",
        size=1,
    )
    _write_private(doc.path)
    item = CaseCorrespondence.objects.create(
        case=case, direction="outbound", medium="letter", occurred_on=timezone.localdate(), summary="Walk",
        attachment_path=f"cases/{case.pk}/correspondence/walk.pdf", attachment_type="application/pdf",
        attachment_size=5,
    )  # fmt: skip
    _write_private(item.attachment_path)
    complaint_item = CaseCorrespondence.objects.create(
        complaint=complaint, direction="inbound", medium="letter", occurred_on=timezone.localdate(), summary="Walk",
        attachment_path=f"complaints/{complaint.pk}/correspondence/walk.pdf", attachment_type="application/pdf",
        attachment_size=5,
    )  # fmt: skip
    _write_private(complaint_item.attachment_path)
    from privacy_portal.models import AccessEvent
    from requests.services import breaches as breach_svc

    opening = AccessEvent.objects.create(
        user=handler, action=AccessEvent.Action.BREAK_GLASS, customer_id=customer.pk, flagged=True
    )
    breach = breach_svc.breach_report(
        actor=dpo, summary="Walk", what_happened="Walk", aware_at=timezone.now() - timezone.timedelta(hours=1)
    )
    breach_svc.breach_link_customers(actor=dpo, breach=breach, customers=[customer])
    breach_task = breach_svc.breach_task_add(
        actor=dpo, breach=breach, title="Walk", owner=dpo, due_on=timezone.localdate()
    )
    from customers.models import DeletionTask
    from customers.services.legal_holds import legal_hold_place

    hold = legal_hold_place(
        actor=dpo, customer=customer, reason="Walk", ends_on=timezone.localdate() + timezone.timedelta(days=30)
    )
    deletion = DeletionTask.objects.create(
        store=DeletionTask.Store.RECORDING_STORE, cause=DeletionTask.Cause.RETENTION, source_reference="Walk",
        references=["rec://walk"], call_ids=[call.pk], due_on=timezone.localdate(),
    )  # fmt: skip
    newcomer = UserFactory(role="handler")
    # The public door: a request held until its emailed code is entered, and a verified web
    # request awaiting identity (its secure page's reply, upload and export), with an export.
    from requests.models import PublicSubmission, VerificationCode
    from requests.services import links
    from requests.services import public as public_svc
    from requests.services.cases import case_request_identity

    submission = PublicSubmission.objects.create(rights=["access"], email="walk.req@example.org", requester_name="W")
    VerificationCode.objects.create(
        submission=submission, code_hash=public_svc._code_hash(submission.pk, "123456"),
        expires_at=timezone.now() + timezone.timedelta(minutes=15),
    )  # fmt: skip
    web_case = CaseFactory(
        customer=customer, channel=Case.Channel.WEB_FORM, requester_name="Walk Requester",
        requester_email="walk.req@example.org", email_verified_at=timezone.now(),
    )  # fmt: skip
    case_assign(actor=dpo, case=web_case, handler=handler)
    case_request_identity(actor=handler, case=web_case)
    export = CaseDocument.objects.create(
        case=web_case, kind=CaseDocument.Kind.EXPORT, path=f"cases/{web_case.pk}/export/walk.zip",
        content_type="application/zip", size=9,
    )  # fmt: skip
    _write_private(export.path)
    from customers.models_screening import CampaignScreening

    screening = CampaignScreening.objects.create(
        screened_by=dpo, source_name="walk.csv", source_sha256="0" * 64, rows=1, allowed=1, blocked=0,
        status="done", result_path="screening/walk-result.csv",
    )  # fmt: skip
    _write_private(screening.result_path)
    from customers.models import InboundSms

    inbound = InboundSms.objects.create(
        message_id="walk-text", outcome="not_a_stop", sender="+447400123456", text="Call me", customer_id=customer.pk
    )
    from customers.services.dialler import dialler_token_create

    dialler_token, _secret = dialler_token_create(actor=dpo, name="walk-dialler")
    from customers.models import MpsFile, MpsMatch

    mps_file = MpsFile.objects.create(name="walk-mps.txt", sha256="a" * 64, format="fixed", lines=1, removals=0,
                                      deceased=1, matched=1, loaded_by=dpo)  # fmt: skip
    mps_match = MpsMatch.objects.create(customer=customer, mps_file=mps_file, line=1, flag="X",
                                        requested_on=timezone.localdate(), on_former_address=True,
                                        review=MpsMatch.Review.APPLIED)  # fmt: skip
    world = World(users=cast)
    world.ids = {
        "inbound_sms": inbound.pk,
        "dialler_token": dialler_token.pk,
        "mps_match": mps_match.pk,
        "legal_hold": hold.pk,
        "deletion_task": deletion.pk,
        "screening": screening.pk,
        "break_glass": opening.pk,
        "breach": breach.pk,
        "breach_task": breach_task.pk,
        "complaint_item": complaint_item.pk,
        "uidb64": urlsafe_base64_encode(force_bytes(newcomer.pk)),
        "password_token": default_token_generator.make_token(newcomer),
        "unsubscribe_token": unsubscribe_token(customer, "email"),
        "submission_token": public_svc.submission_token(submission),
        "link_token": links.link_token(web_case),
        "customer": customer.pk,
        "case": case.pk,
        "complaint": complaint.pk,
        "call": call.pk,
        "recipient": Recipient.objects.order_by("pk").values_list("pk", flat=True).first(),
        # A recipient holding call audio or transcripts (the seeded transcription provider).
        "call_data_recipient": Recipient.objects.filter(holds_call_data=True).values_list("pk", flat=True).first(),
        "activity": ProcessingActivity.objects.order_by("pk").values_list("pk", flat=True).first(),
        "notice": PrivacyNoticeVersion.objects.order_by("pk").values_list("pk", flat=True).first(),
        "staff": handler.pk,
        "doc": doc.pk,
        "item": item.pk,
    }
    return world


def _write_private(relative: str) -> None:
    from privacy_portal.private_storage import private_path

    path = private_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-walk")


# How to fill a route's parameters: (pattern prefix, parameter) -> world id. A route with a
# parameter nobody can fill fails the walk, naming it: add it here.
PARAMS: list[tuple[str, str, str]] = [
    ("cases/complaints/", "item_pk", "complaint_item"),
    ("accounts/set-password/", "uidb64", "uidb64"),
    ("accounts/set-password/", "token", "password_token"),
    ("p/unsubscribe/", "token", "unsubscribe_token"),
    ("p/request/verify/", "token", "submission_token"),
    ("p/case/", "token", "link_token"),
    ("staff/", "pk", "staff"),
    ("register/", "pk", "activity"),
    ("notices/", "pk", "notice"),
    ("customers/calls/", "pk", "call"),
    ("customers/screening/", "pk", "screening"),
    ("customers/inbound-sms/", "pk", "inbound_sms"),
    ("customers/dialler-tokens/", "pk", "dialler_token"),
    ("customers/mps-reviews/", "pk", "mps_match"),
    ("customers/recipients/", "pk", "recipient"),
    ("customers/legal-holds/", "pk", "legal_hold"),
    ("customers/deletion-tasks/", "pk", "deletion_task"),
    ("customers/deletion-tasks/", "recipient_pk", "call_data_recipient"),
    ("p/deletion-tasks/", "pk", "deletion_task"),
    ("customers/", "pk", "customer"),
    ("cases/breaches/tasks/", "pk", "breach_task"),
    ("cases/breaches/", "pk", "breach"),
    ("cases/complaints/", "pk", "complaint"),
    ("cases/", "pk", "case"),
    ("", "customer_id", "customer"),
    ("", "user_id", "staff"),
    ("", "record_id", "customer"),
    ("", "doc_pk", "doc"),
    ("", "item_pk", "item"),
    ("audit/break-glass/", "event_id", "break_glass"),
]
STRING_PARAMS = {"kind": "customers.Customer", "key": "complaint_ack", "secret": "x", "fmt": "json"}


def fill(route: Route, world: World, action: str = "") -> str:
    def value(match: re.Match) -> str:
        name = match.group(2)
        if name == "action":
            return action
        for prefix, param, key in PARAMS:
            if param == name and route.pattern.startswith(prefix):
                return str(world.ids[key])
        if match.group(1) in ("str", "slug") and name in STRING_PARAMS:
            return STRING_PARAMS[name]
        raise AssertionError(f"The walk cannot fill <{name}> in {route.pattern}: add it to PARAMS")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route.pattern)


def actions_of(route: Route) -> list[str]:
    """A route dispatching on <slug:action> takes the keys of its view module's dispatch table."""
    if "<slug:action>" not in route.pattern:
        return [""]
    module = sys.modules[inspect.unwrap(route.callback).__module__]
    return sorted(module.ACTIONS)


def actor_for(route: Route, world: World):
    """A member of staff the route's rule lets in (the DPO first: it works every case)."""
    for role in ("dpo", "itadmin", "agent", "handler"):
        user = world.users[role]
        if route.rule.kind in ("public", "signed_in") or user.has_perms(
            [p for p in route.rule.permissions if p.count(".") == 1]
        ):
            return user
    raise AssertionError(f"no one in the cast may use {route.pattern}")


# --- recording what a view reads ---------------------------------------------------------------


@dataclass
class Reads:
    keys: dict[str, set[str]] = field(default_factory=lambda: {"GET": set(), "POST": set(), "FILES": set()})
    forms: list[BaseForm] = field(default_factory=list)


@contextmanager
def recording():
    """Record the request keys read and the forms bound while a request is handled."""
    reads = Reads()
    originals = {name: getattr(MultiValueDict, name) for name in ("__getitem__", "get", "getlist", "__contains__")}
    full_clean = BaseForm.full_clean

    def spy(name):
        def method(self, key, *args, **kwargs):
            role = getattr(self, "_walk_role", None)
            if role:
                reads.keys[role].add(key)
            return originals[name](self, key, *args, **kwargs)

        return method

    def clean(form):
        reads.forms.append(form)
        return full_clean(form)

    for name in originals:
        setattr(MultiValueDict, name, spy(name))
    BaseForm.full_clean = clean
    try:
        yield reads
    finally:
        for name, method in originals.items():
            setattr(MultiValueDict, name, method)
        BaseForm.full_clean = full_clean


class WalkRequestMiddleware:
    """Marks the request's GET, POST and FILES so the spies know which dict is which."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.body  # noqa: B018 (read first, so a view reading the raw body, a webhook, still can)
        for role in ("GET", "POST", "FILES"):
            getattr(request, role)._walk_role = role
        return self.get_response(request)


# --- measuring change --------------------------------------------------------------------------


def _stats() -> dict[str, tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables")
        return {name: (ins, upd, dele) for name, ins, upd, dele in cursor.fetchall()}


def _counts(tables: Iterable[str]) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (names from the catalogue)
            counts[table] = cursor.fetchone()[0]
    return counts


class Rollback(Exception):
    pass


@dataclass
class Outcome:
    response: HttpResponse
    reads: Reads
    changed: dict[str, tuple[int, int]]  # table -> (rows before, rows after)


def send(client, method: str, url: str, data) -> Outcome:
    """One request in a savepoint rolled back afterwards, with the tables whose rows it changed."""
    if isinstance(data, dict):  # raw bytes go as one value (the client would iterate them)
        data = {k: [v] if isinstance(v, bytes) else v for k, v in data.items()}
    result = {}
    try:
        with transaction.atomic():
            before = _stats()
            with recording() as reads:
                response = client.get(url, data) if method == "GET" else client.post(url, data)
            after = _stats()
            touched = [t for t, counts in after.items() if before.get(t) != counts and t not in LOG_TABLES]
            result.update(response=response, reads=reads, during=_counts(touched), touched=touched)
            raise Rollback
    except Rollback:
        pass
    undone = _counts(result["touched"])
    changed = {t: (undone[t], n) for t, n in result["during"].items() if n != undone[t]}
    # Updates leave counts alone but write a history row (every domain model keeps history).
    return Outcome(result["response"], result["reads"], changed)


# --- valid and hostile values ------------------------------------------------------------------


def _first_choice(choice_field) -> str:
    for value, label in choice_field.choices:
        if isinstance(label, (list, tuple)):
            for sub, _ in label:
                if sub not in ("", None):
                    return str(getattr(sub, "value", sub))
        elif value not in ("", None):
            return str(getattr(value, "value", value))
    return ""


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def valid_value(f: forms.Field):
    """A value of the right kind for `f`, so a request gets past its form to the service."""
    today = timezone.localdate()
    if isinstance(f, forms.BooleanField):
        return "on"
    if isinstance(f, forms.FileField):
        return SimpleUploadedFile("walk.png", PNG, content_type="image/png")
    if isinstance(f, forms.ModelMultipleChoiceField):
        return [str(pk) for pk in f.queryset.values_list("pk", flat=True)[:1]]
    if isinstance(f, forms.ModelChoiceField):
        return str(f.queryset.values_list("pk", flat=True).first() or "")
    if isinstance(f, forms.MultipleChoiceField):
        return [_first_choice(f)]
    if isinstance(f, forms.ChoiceField):
        return _first_choice(f)
    if isinstance(f, forms.DateTimeField):
        return timezone.localtime().strftime(formats.get_format("DATETIME_INPUT_FORMATS")[0])
    if isinstance(f, forms.DateField):
        return today.strftime(next(iter(f.input_formats)) if f.input_formats else "%Y-%m-%d")
    if isinstance(f, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
        return str(max(f.min_value or 1, 1))
    if isinstance(f, forms.EmailField):
        return "walk@example.org"
    return "Walk" + "k" * max((getattr(f, "min_length", None) or 0) - 4, 0)


def must_refuse(f: forms.Field) -> list[str]:
    """The hostile values `f`'s type can never hold."""
    if isinstance(f, (forms.BooleanField, forms.FileField)):
        return []
    kinds = list(NEVER)
    if isinstance(f, forms.CharField) and (f.max_length or 0) >= len(LONG):
        kinds.remove("10,000 characters")  # declared on purpose (the full text of a notice)
    if isinstance(f, (forms.DateField, forms.DateTimeField)):
        kinds += ["year 0001", "year 9999", "20-digit integer", "a word for a number", *NOT_A_NUMBER]
    if isinstance(f, (forms.IntegerField, forms.ModelChoiceField)):
        kinds += ["20-digit integer", "a word for a number", *NOT_A_NUMBER]
    return kinds


def _as_read(value):
    """What a view reads for `value` sent: raw bytes arrive decoded, undecodable bytes replaced."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [_as_read(v) for v in value]
    return value


def _refuses(f: forms.Field, value) -> bool:
    value = _as_read(value)
    if isinstance(value, list) and not isinstance(f, forms.MultipleChoiceField):
        value = value[-1]  # what the widget reads from a key sent twice
    elif isinstance(f, forms.MultipleChoiceField) and not isinstance(value, list):
        value = [value]
    try:
        clean_field(f, value)  # as the field's form (a PortalForm) cleans it
    except forms.ValidationError:
        return True
    return False


# --- the walk --------------------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str
    url: str
    fields: dict[str, forms.Field | None]  # request key -> the form field reading it (None: a raw read)
    forms: list[BaseForm]


class Unprobed(AssertionError):
    """A route the walk could not reach past its URL: its hostile input would go unwalked."""


# Statuses that, answered before the view read anything from the request, mean the request never
# reached the view's form: an object of the URL that does not exist (404), a link token or a
# signature the walk did not make (400, 403), a page gone (410).
UNREACHED = (400, 401, 403, 404, 410)


def probe(client, method: str, url: str) -> Endpoint | None:
    """What the view at `url` reads when sent something (None: it answers nothing to `method`,
    or it is a page with no filters). Raises Unprobed when the request was turned away before
    the view read it: the walk fails loudly rather than skip the route."""
    outcome = send(client, method, url, {"_walk": "1"})
    status = outcome.response.status_code
    if status == 405:
        return None
    role = "GET" if method == "GET" else "POST"
    fields: dict[str, forms.Field | None] = {}
    bound = [form for form in outcome.reads.forms if form.is_bound]
    read = {k for k in outcome.reads.keys[role] | outcome.reads.keys["FILES"] if not k.startswith("_walk")}
    if status in UNREACHED and not bound and not read:
        raise Unprobed(
            f"{method} {url} cannot be probed: answered {status} before reading the request "
            "(give its URL parameters test data in build_world/PARAMS)"
        )
    for key in sorted(outcome.reads.keys[role] | outcome.reads.keys["FILES"]):
        if key.startswith("_walk") or key in ("csrfmiddlewaretoken", "next"):
            continue
        keys = [form.add_prefix(n) for form in bound for n in form.fields]
        if any(key.startswith((k + "-", k + "_")) for k in keys):
            continue  # a widget's own part of a field ("file-clear", "when_0"): walked with the field
        fields[key] = next((form.fields[n] for form in bound for n in form.fields if form.add_prefix(n) == key), None)
    if not fields and method == "GET":
        return None  # a page with no filters
    return Endpoint(method, url, fields, bound)


def _label(endpoint: Endpoint, key: str) -> str:
    for form in endpoint.forms:
        for name, f in form.fields.items():
            if form.add_prefix(name) == key:
                return str(f.label or pretty_name(name))
    return key


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _named(outcome: Outcome, key: str, label: str) -> bool:
    """The response shows the field's error with its label (re-rendered form) or flashes a
    message carrying the label (action forms that redirect back to their page)."""
    errors = [
        str(e)
        for form in outcome.reads.forms
        for name, errs in form.errors.items()
        if form.add_prefix(name) == key
        for e in errs
    ]
    body = outcome.response.content.decode(errors="replace") if outcome.response.status_code != 302 else ""
    if body and errors and any(escape(e) in body for e in errors) and escape(label) in body:
        return True
    return any(label in m for m in _messages(outcome.response))


def walk_endpoint(client, endpoint: Endpoint) -> list[str]:
    """Every hostile value in every field of `endpoint`, and an empty body. Returns the problems."""
    problems = []
    # The least a valid request holds: the required fields, rightly filled.
    baseline = {key: valid_value(f) for key, f in endpoint.fields.items() if f is not None and f.required}

    for key, f in endpoint.fields.items():
        label = _label(endpoint, key)
        if isinstance(f, forms.CharField) and not isinstance(f, forms.JSONField) and f.max_length is None:
            problems.append(f"{endpoint.url} field “{key}” declares no length limit (max_length)")
        if f is not None:
            for kind in must_refuse(f):
                if not _refuses(f, HOSTILE[kind]):
                    problems.append(f"{endpoint.url} field “{key}” accepts {kind}")
        if isinstance(f, forms.FileField):
            problems += _walk_file(client, endpoint, baseline, key, label)
            continue
        hidden = f is None or f.widget.is_hidden
        # Values the field refuses take the same path through the view: one of them is sent (the
        # rest are checked on the field above); every value it accepts goes on to the service.
        refused = [kind for kind, value in HOSTILE.items() if f is not None and _refuses(f, value)]
        for kind, value in HOSTILE.items():
            if kind in refused[1:]:
                continue
            data = {**{k: _fresh(v) for k, v in baseline.items()}, key: value}
            outcome = send(client, endpoint.method, endpoint.url, data)
            status = outcome.response.status_code
            where = f"{endpoint.method} {endpoint.url} “{key}” = {kind}"
            if status >= 500:
                problems.append(f"{where}: server error {status}")
                continue
            if kind in refused or f is None:
                if outcome.changed:
                    problems.append(f"{where}: refused, yet rows changed {outcome.changed}")
                # A tampered hidden field or raw parameter may be answered 404 or 400, or ignored.
                if not hidden and not _named(outcome, key, label):
                    problems.append(f"{where}: refused without a message naming “{label}”")
    if endpoint.method == "POST":
        outcome = send(client, "POST", endpoint.url, {})
        required = [k for k, f in endpoint.fields.items() if f is not None and f.required]
        if outcome.response.status_code >= 500:
            problems.append(f"POST {endpoint.url} empty body: server error")
        elif required and outcome.changed:
            problems.append(f"POST {endpoint.url} empty body: rows changed {outcome.changed}")
    return problems


# Over-long uploads: one byte past the largest file any upload accepts, and a name no file
# system holds. Either must be refused with the field named, never a server error.
def _hostile_files():
    from privacy_portal.legal import IDENTITY_DOCUMENT_MAX_BYTES

    big = PNG + b"\x00" * (IDENTITY_DOCUMENT_MAX_BYTES + 1 - len(PNG))
    return {
        "a file one byte over the limit": lambda: SimpleUploadedFile("walk.png", big, content_type="image/png"),
        "a 1,000-character file name": lambda: SimpleUploadedFile("w" * 996 + ".png", PNG, content_type="image/png"),
        "an empty file": lambda: SimpleUploadedFile("walk.png", b"", content_type="image/png"),
    }


def _walk_file(client, endpoint: Endpoint, baseline: dict, key: str, label: str) -> list[str]:
    problems = []
    for kind, make in _hostile_files().items():
        data = {**{k: _fresh(v) for k, v in baseline.items()}, key: make()}
        outcome = send(client, endpoint.method, endpoint.url, data)
        where = f"{endpoint.method} {endpoint.url} “{key}” = {kind}"
        status = outcome.response.status_code
        if status >= 500:
            problems.append(f"{where}: server error {status}")
            continue
        accepted = outcome.changed and not _named(outcome, key, label)
        if kind != "a 1,000-character file name" and accepted:
            problems.append(f"{where}: accepted, rows changed {outcome.changed}")
        elif not accepted and outcome.changed:
            problems.append(f"{where}: refused, yet rows changed {outcome.changed}")
    return problems


def _fresh(value):
    if isinstance(value, SimpleUploadedFile):
        return SimpleUploadedFile(value.name, PNG, content_type=value.content_type)
    return value


def walk_route(client_for, route: Route, world: World, actions: list[str] | None = None) -> list[str]:
    client = client_for(actor_for(route, world))
    problems = []
    for action in actions if actions is not None else actions_of(route):
        if route.name in SIGNED_ELSEWHERE:
            continue
        url = fill(route, world, action)
        if route.name in JSON_WEBHOOKS:
            problems += walk_json_webhook(client, url, *JSON_WEBHOOKS[route.name])
            continue
        # A page's own first-view set-up (an authenticator to enrol) is not the walk's.
        first = client.get(url)
        if first.status_code == 200 and first.get("Cache-Control") != NO_STORE:
            problems.append(f"GET {url} shows a page without Cache-Control: {NO_STORE}")
        for method in ("GET", "POST"):
            try:
                endpoint = probe(client, method, url)
            except Unprobed as exc:
                problems.append(str(exc))
                continue
            if endpoint is not None:
                problems += walk_endpoint(client, endpoint)
    return problems


# --- JSON webhooks: signed bodies, one hostile value per key ---------------------------------------


def _sms_signed(settings_, body: bytes) -> dict:
    import hashlib
    import hmac

    return {"X-Signature": hmac.new(settings_.SMS_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()}


# Routes that read a signed JSON body, not a form: route name -> (a valid payload, its signer).
# Every other route must be probed as a form.
JSON_WEBHOOKS = {
    "sms_inbound": ({"message_id": "walk-1", "from": "+447400123456", "body": "STOP"}, _sms_signed),
}


# Gateways whose requests carry their own signature scheme (Twilio's URL-and-parameters HMAC,
# Vonage's signed JWT, Esendex's secret in the URL): the walk cannot sign them yet, so they are
# listed here, each with the tests that feed them hostile input, rather than skipped in silence.
SIGNED_ELSEWHERE = {
    "sms_twilio": "tests/customers/test_sms_gateways.py",
    "sms_vonage": "tests/customers/test_sms_gateways.py",
    "sms_esendex": "tests/customers/test_sms_gateways.py",
    "deletion_confirm": "tests/customers/test_deletion_tasks.py",  # the provider's authenticated confirmation
    "dialler_screen": "tests/customers/test_tps_screening.py",  # the dialler's bearer token
    "email_sendgrid_events": "tests/customers/test_email_events.py",  # SendGrid's signed event webhook
}


def test_every_route_the_walk_cannot_sign_is_tested_elsewhere():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    names = {r.name for r in ROUTES}
    assert set(SIGNED_ELSEWHERE) <= names, "a listed gateway is gone: remove it"
    assert all((root / path).exists() for path in SIGNED_ELSEWHERE.values())


def walk_json_webhook(client, url: str, payload: dict, signer) -> list[str]:
    import json

    from django.conf import settings as live

    problems = []
    with override_settings(SMS_WEBHOOK_SECRET="walk-secret-of-a-decent-length-0123456789"):
        for key in payload:
            for kind, value in [*HOSTILE.items(), ("a number for a text", 12), ("null", None)]:
                if isinstance(value, bytes):  # undecodable bytes inside the JSON string
                    body = json.dumps({**payload, key: "\x01"}).encode().replace(b"\\u0001", value)
                else:
                    body = json.dumps({**payload, key: value}).encode()
                outcome = _send_raw(client, url, body, signer(live, body))
                where = f"POST {url} JSON “{key}” = {kind}"
                status = outcome.response.status_code
                if status >= 500:
                    problems.append(f"{where}: server error {status}")
                elif status == 400:
                    if outcome.changed:
                        problems.append(f"{where}: refused, yet rows changed {outcome.changed}")
                    # Bytes that are not UTF-8 make the whole body not JSON: refused whole.
                    named = key in outcome.response.content.decode(errors="replace")
                    if not named and not isinstance(value, bytes):
                        problems.append(f"{where}: refused without naming “{key}”")
        outcome = _send_raw(client, url, b"", signer(live, b""))
        if outcome.response.status_code != 400 or outcome.changed:
            problems.append(f"POST {url} empty body: {outcome.response.status_code}, rows changed {outcome.changed}")
    return problems


def _send_raw(client, url: str, body: bytes, headers: dict) -> Outcome:
    class RawClient:
        def post(self, url, data):
            return client.post(url, data=body, content_type="application/json", headers=headers)

    return send(RawClient(), "POST", url, None)


CAST_ROLES = {
    "agent": "agent", "handler": "handler", "other_handler": "handler", "dpo": "dpo", "auditor": "auditor",
    "itadmin": "itadmin", "nobody": "",
}  # fmt: skip


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once per module (per xdist worker) instead of once per test (0.4 CPU-s and
    ~60 statements each, 157 times): inside a transaction held open for the module, which each test
    then runs in as a savepoint that pytest-django rolls back after it, exactly as it rolls back a
    world built in the test itself. Every test starts from the same rows; the transaction is rolled
    back when the module ends, so nothing of the world outlives it."""
    from tests.factories import UserFactory

    storage = tmp_path_factory.mktemp("walk") / "private"
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PRIVATE_STORAGE_ROOT=str(storage), PASSWORD_HASHERS=fast):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            cast = {name: UserFactory(username=f"walk_{name}", role=role) for name, role in CAST_ROLES.items()}
            yield build_world(cast), storage
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def world(module_world, db, settings):
    world, storage = module_world
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.WalkRequestMiddleware"]
    settings.AXES_ENABLED = False  # hostile sign-ins would lock the cast out between requests
    settings.PRIVATE_STORAGE_ROOT = str(storage)
    return world


# One test per route, and per action of a route that dispatches on one, so xdist spreads them.
WALKS = [(route, action) for route in ROUTES for action in actions_of(route)]


@pytest.mark.django_db
@pytest.mark.parametrize("route, action", WALKS, ids=[f"{r.name or r.pattern}{'-' + a if a else ''}" for r, a in WALKS])
def test_hostile_input_is_refused_field_by_field_and_changes_nothing(client, client_for, world, route, action):
    client.raise_request_exception = False  # a server error is reported, with the rest of the walk
    problems = walk_route(client_for, route, world, [action])
    assert not problems, "\n".join(problems)


# --- CSV imports: one hostile file per column ---------------------------------------------------


def import_routes() -> list[tuple[Route, str, tuple[str, ...]]]:
    """Upload pages: views that read an uploaded file and name the header it must have (`*_HEADER`)."""
    found = []
    for route in ROUTES:
        module = sys.modules[inspect.unwrap(route.callback).__module__]
        view_names = set(inspect.unwrap(route.callback).__code__.co_names)
        if "FILES" not in view_names:
            continue  # a CSV download names its header too
        for name, value in vars(module).items():
            if name.endswith("_HEADER") and name in view_names and isinstance(value, tuple):
                found.append((route, name, value))
    return found


IMPORTS = import_routes()
# What a cell must refuse whatever its column (the file holds text: numbers and dates are the
# columns' own business, each answered with a message rather than stored).
CELL_HOSTILE = {kind: value for kind, value in HOSTILE.items() if isinstance(value, str) and kind not in NOT_A_NUMBER}
# Text in a name column, wrong in a number or date column: never a server error, and refused
# (if it is) with nothing stored.
CELL_ODD = {kind: value for kind, value in HOSTILE.items() if isinstance(value, str) and kind in NOT_A_NUMBER}


def _csv(header: tuple[str, ...], column: str, value: str) -> SimpleUploadedFile:
    out = io.StringIO()
    out.write(",".join(header) + "\r\n")
    out.write(",".join(f'"{value}"' if name == column else "" for name in header) + "\r\n")
    return SimpleUploadedFile("walk.csv", out.getvalue().encode(), content_type="text/csv")


def _row_errors(response) -> list:
    context = response.context or {}
    rejected = context.get("rejected")
    return list(getattr(rejected, "errors", []) or context.get("errors") or [])


@pytest.mark.django_db
@pytest.mark.parametrize("route, header_name, header", IMPORTS, ids=lambda v: getattr(v, "name", None) or "")
def test_every_csv_import_refuses_a_hostile_file_per_column_whole_and_names_the_column(
    client_for, world, route, header_name, header
):
    assert header, header_name
    client = client_for(actor_for(route, world))
    url = fill(route, world)
    key = next(iter(probe(client, "POST", url).fields))
    problems = []
    for column in header:
        for kind, value in CELL_HOSTILE.items():
            outcome = send(client, "POST", url, {key: _csv(header, column, value)})
            where = f"{url} column “{column}” = {kind}"
            if outcome.response.status_code >= 500:
                problems.append(f"{where}: server error")
                continue
            if outcome.changed:
                problems.append(f"{where}: rows changed {outcome.changed}")
            errors = _row_errors(outcome.response)
            if not errors:
                problems.append(f"{where}: not refused")
            elif kind == "NUL byte" and not any(getattr(e, "column", "") in (column, "") for e in errors):
                # A NUL refuses the file as a whole ("not a CSV file": binary files hold them).
                problems.append(f"{where}: refused without naming the column")
        for kind, value in CELL_ODD.items():
            outcome = send(client, "POST", url, {key: _csv(header, column, value)})
            where = f"{url} column “{column}” = {kind}"
            if outcome.response.status_code >= 500:
                problems.append(f"{where}: server error")
            elif _row_errors(outcome.response) and outcome.changed:
                problems.append(f"{where}: refused, yet rows changed {outcome.changed}")
    assert not problems, "\n".join(problems)


def test_the_walk_finds_the_csv_imports():
    assert {route.name for route, _, _ in IMPORTS} >= {"import_preferences", "import_disclosures"}


# --- the walk catches what it is for ------------------------------------------------------------


class PlantedForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")
    notes = forms.CharField(label="Notes", required=False)  # planted: no length limit


@requires("privacy_portal.use_portal")
def planted_view(request):
    """Unguarded on purpose: stores before validating, and trusts a raw number."""
    from django.contrib.auth.models import Group

    form = PlantedForm(request.POST or None)
    if request.method == "POST":
        Group.objects.get_or_create(name="planted")  # written whatever the form says
        int(request.POST.get("count") or 0)  # a word here is a server error
        age = request.POST.get("age", "")
        if age.isdigit():  # true for "²", which int() refuses: a server error
            int(age)
        form.is_valid()
    return HttpResponse(str(form.errors))


@pytest.mark.django_db
def test_the_walk_catches_an_unguarded_form_field_and_view(client, client_for, world):
    module = types.ModuleType("tests._planted_urls")
    module.urlpatterns = [path("planted/", planted_view, name="planted"), path("", include("privacy_portal.urls"))]
    sys.modules[module.__name__] = module
    try:
        with override_settings(ROOT_URLCONF=module.__name__):
            clear_url_caches()
            (route,) = [r for r in walk(module.__name__) if r.name == "planted"]
            client.raise_request_exception = False
            problems = walk_route(client_for, route, world)
    finally:
        del sys.modules[module.__name__]
        clear_url_caches()
    text = "\n".join(problems)
    assert "field “notes” declares no length limit" in text
    assert "field “notes” accepts 10,000 characters" in text
    assert "“count” = a word for a number: server error 500" in text
    assert "“age” = superscript digit: server error 500" in text
    assert "“name” = NUL byte: refused, yet rows changed" in text
    assert "“name” = NUL byte: refused without a message naming “Name”" in text
