"""One definition of "this person's records": the subject graph.

`subject_records(customer)` answers, once, what the portal holds about a person: every row
of every model that is about them, across both apps, with the history rows of each, the
files in private storage, and every identifying value they have ever had on record. The
access export, erasure and its preview, the complaint bundle, the Art 19 recipients and the
erasure's suppression all read it, so they cannot drift apart.

What belongs to a person:

- the customer record, and every row pointing at it (preferences, correspondence, purchases,
  disclosures, text messages received, rights requests, complaints), whether it points at it
  now or did in any earlier version (a purchase detached, a case moved);
- calls from any number the person has ever had that were never matched to a customer
  (calls are kept six months: an unmatched call from their number is almost surely theirs);
- everything in those requests' and complaints' case files (notes, tasks, clock stops,
  documents, correspondence, reminders, the ICO's case and its deadlines), and the
  complaints linked to those requests;
- the access log's reads of the person (who has seen their data);
- and, only when the DPO (or the handler) chooses to include them, the requests and complaints
  logged without choosing a customer whose requester's details match an identifier the
  person has had (`candidates`): offered, never silently taken.

`COVERAGE` lists the models the graph reads and how; `MENTIONS` the registers about an
incident, not a person, whose free text may name the person (the breach register: erasure
redacts them); `EXCLUDED` the models that relate to a customer, a case or a complaint but hold
nothing about the person, each with its reason. The
introspection test (tests/customers/test_subject_graph.py) walks every installed model and
fails on one related to a customer that is in neither, so a model added later is not forgotten.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Model, Q, QuerySet

from privacy_portal.models import AccessEvent
from privacy_portal.selectors import events_for_customer
from requests.models import Case, Complaint, IcoCase

from .models import Customer
from .services.normalise import address_key, email_key, normalise_phone

# The models a person's records hang from: a path of relations to any of them makes a model
# "related to a customer" for the introspection walk.
ROOTS = ("customers.Customer", "requests.Case", "requests.Complaint")
# Plain integer columns that point at a root without a foreign key (kept unlinked on purpose).
SOFT_LINKS = {"customer_id": "customers.Customer", "case_id": "requests.Case", "complaint_id": "requests.Complaint"}
# With a content type, these make a generic relation (admin's LogEntry, guardian's grants).
GENERIC_OBJECT_FIELDS = {"object_id", "object_pk"}


# --- Identifiers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifiers:
    """Every identifying value the person has had on record: the live row and every version in
    its history (a former surname, email, number or address is still theirs)."""

    titles: frozenset[str] = frozenset()
    first_names: frozenset[str] = frozenset()
    last_names: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    postcodes: frozenset[str] = frozenset()
    address_lines: frozenset[str] = frozenset()
    towns: frozenset[str] = frozenset()
    counties: frozenset[str] = frozenset()
    dates_of_birth: frozenset[datetime.date] = frozenset()
    # (address line 1, postcode) as the suppression list keys a postal address.
    postal_keys: frozenset[str] = frozenset()

    FIELDS = (
        "title",
        "first_name",
        "last_name",
        "email",
        "phone",
        "postcode",
        "address_line1",
        "address_line2",
        "town",
        "county",
        "date_of_birth",
    )

    @classmethod
    def of(cls, customer: Customer, *, keep: Iterable[str] = ()) -> Identifiers:
        """`keep`: values that are not identifiers (the placeholder name of an erased record)."""
        versions = [
            {name: getattr(customer, name) for name in cls.FIELDS},
            *(customer.history.values(*cls.FIELDS) if customer.pk else []),
        ]
        return cls.from_versions(versions, keep=keep)

    @classmethod
    def of_many(cls, customer_ids: Iterable[int]) -> Identifiers:
        """Every value any of the customers has had (live rows and history), as one set: two
        queries, whatever the number (the ICO breach report's redaction of its affected people)."""
        ids = sorted(set(customer_ids))
        versions = [
            *Customer.objects.filter(pk__in=ids).values(*cls.FIELDS),
            *Customer.history.filter(id__in=ids).values(*cls.FIELDS).distinct(),
        ]
        return cls.from_versions(versions)

    @classmethod
    def from_versions(cls, versions: Iterable[dict], *, keep: Iterable[str] = ()) -> Identifiers:
        keep = {k.lower() for k in keep}
        sets: dict[str, set] = {name: set() for name in cls.FIELDS}
        postal: set[str] = set()
        for version in versions:
            for name in cls.FIELDS:
                value = version[name]
                if isinstance(value, str):
                    value = value.strip()
                    if not value or value.lower() in keep:
                        continue
                if value and name == "email":
                    # The form every door compares (email_key) and, for a row stored before staff
                    # entries were NFKC-normalised too, the stored form: older suppression entries
                    # hash it, and free text may spell it so.
                    sets[name].update({email_key(value), value.lower()})
                elif value:
                    sets[name].add(value)
            key = address_key(version["address_line1"], version["postcode"])
            if key:
                postal.add(key)
        return cls(
            titles=frozenset(sets["title"]),
            first_names=frozenset(sets["first_name"]),
            last_names=frozenset(sets["last_name"]),
            emails=frozenset(sets["email"]),
            phones=frozenset(sets["phone"]),
            postcodes=frozenset(sets["postcode"]),
            address_lines=frozenset(sets["address_line1"] | sets["address_line2"]),
            towns=frozenset(sets["town"]),
            counties=frozenset(sets["county"]),
            dates_of_birth=frozenset(sets["date_of_birth"]),
            postal_keys=frozenset(postal),
        )

    def texts(self) -> list[str]:
        """Every value as text (dates of birth in ISO form), e.g. to search a table for them."""
        values = [
            *self.first_names,
            *self.last_names,
            *self.emails,
            *self.phones,
            *self.postcodes,
            *self.address_lines,
            *self.towns,
            *self.counties,
        ]
        return sorted({*values, *(d.isoformat() for d in self.dates_of_birth)})


def _word(value: str) -> re.Pattern:
    return re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])", re.IGNORECASE)


def _same_phone(typed: str, phones: frozenset[str]) -> bool:
    try:
        return bool(typed) and normalise_phone(typed) in phones
    except ValidationError:  # a requester's number as typed may be anything
        return False


def _name_tokens(value: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", (value or "").replace("\u2019", "'"))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return re.findall(r"[^\W_]+", folded.replace("'", ""))


def _compact(value: str) -> str:
    return "".join(_name_tokens(value))


def _same_address(ids: Identifiers, typed: str) -> bool:
    """A postcode the person had and the first line of an address they had, both in the typed
    address, however spaced, punctuated or cased."""
    compact = _compact(typed)
    if not compact:
        return False
    postcodes = [p for p in map(_compact, ids.postcodes) if len(p) > 3]
    lines = [line for line in map(_compact, ids.address_lines) if len(line) >= 5]
    return any(p in compact for p in postcodes) and any(line in compact for line in lines)


def party_matches(ids: Identifiers, *, name: str, email: str, phone: str, address: str) -> list[str]:
    """Which of the person's identifiers the details someone typed for a requester or a
    complainant match: 'email', 'phone', 'address' (a postcode and an address line they had),
    'name' (a surname the person had, with one of their first names, its initial or their
    title). Only a contact identifier (the first three) says it is the same person
    (`same_person`); a name alone is shared by too many people."""
    found = []
    if email and email_key(email) in ids.emails:
        found.append("email")
    if _same_phone(phone, ids.phones):
        found.append("phone")
    if _same_address(ids, address):
        found.append("address")
    surname = any(_word(last).search(name or "") for last in ids.last_names)
    given = [*ids.first_names, *ids.titles, *(f[0] for f in ids.first_names)]
    if surname and any(_word(g).search(name or "") for g in given):
        found.append("name")
    return found


CONTACT = ("email", "phone", "address")
# Words in a typed name that are neither a forename nor a surname.
_TITLE_WORDS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lady", "lord", "prof", "rev", "nee"})


def name_compatible(ids: Identifiers, name: str) -> bool:
    """Whether a typed name can be the person's: blank, or one of their surnames with nothing
    else but their forenames, their initials and titles ("Mrs J Smith" is Jane Smith;
    "Joan Smith" and "K. Smith" are not; "Smithson" is not Smith)."""
    typed = _name_tokens(name)
    if not typed or not ids.last_names:  # nothing typed, or nothing to compare it with
        return True
    surnames = [_name_tokens(last) for last in ids.last_names]
    rest = None
    for surname in surnames:
        n = len(surname)
        for i in range(len(typed) - n + 1):
            if surname and typed[i : i + n] == surname:
                rest = typed[:i] + typed[i + n :]
                break
        if rest is not None:
            break
    if rest is None:
        return False
    forenames = {t for first in ids.first_names for t in _name_tokens(first)}
    initials = {f[0] for f in forenames}
    return all(t in forenames or t in _TITLE_WORDS or (len(t) == 1 and t in initials) for t in rest)


def same_person(ids: Identifiers, *, name: str, email: str, phone: str, address: str) -> bool:
    """Typed details are the person's only with a matching contact identifier (email, phone,
    or postcode and address) and a name that can be theirs: a name alone never suffices."""
    matched = party_matches(ids, name=name, email=email, phone=phone, address=address)
    return bool(set(matched) & set(CONTACT)) and name_compatible(ids, name)


# --- Candidates: records logged without choosing the customer -------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A request or complaint logged with typed details only, which match the person."""

    kind: str  # "case" or "complaint"
    pk: int
    reference: str
    matched: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pk}"


def _candidates(ids: Identifiers) -> list[Candidate]:
    found = []
    for kind, model, prefix in (("case", Case, "requester"), ("complaint", Complaint, "complainant")):
        names = [f"{prefix}_{part}" for part in ("name", "email", "phone", "address")]
        rows = model.objects.filter(customer__isnull=True).values_list("pk", "reference", *names).order_by("pk")
        for pk, reference, name, email, phone, address in rows.iterator(chunk_size=2000):
            matched = party_matches(ids, name=name, email=email, phone=phone, address=address)
            if matched:
                found.append(Candidate(kind, pk, reference, tuple(matched)))
    return found


# --- The graph -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectFile:
    """A file in private storage that belongs to the person's records."""

    model: type[models.Model]
    pk: int
    field: str
    path: str
    kind: str


class SubjectRecords:
    """The graph of one person's records. Each part is read when first asked for, so a reader
    that needs only the customer's own rows (Art 19: the disclosures) pays for nothing else."""

    def __init__(
        self,
        customer: Customer | None,
        *,
        include: Iterable[str] = (),
        keep: Iterable[str] = (),
        candidates: bool = True,
        files: tuple[Iterable[int], Iterable[int]] | None = None,
    ) -> None:
        self.customer = customer
        self._include = frozenset(include)
        self._keep = tuple(keep)
        self._offer = candidates and customer is not None
        if files is not None:  # case files with no customer record (case_file_records)
            self._ids = self._case_files(*files)

    @cached_property
    def identifiers(self) -> Identifiers:
        return Identifiers.of(self.customer, keep=self._keep) if self.customer is not None else Identifiers()

    @cached_property
    def _found(self) -> list[Candidate]:
        return _candidates(self.identifiers) if self._offer or self._include else []

    @cached_property
    def included(self) -> list[Candidate]:
        """The candidates chosen to be treated as the person's."""
        return [c for c in self._found if c.key in self._include]

    @cached_property
    def candidates(self) -> list[Candidate]:
        """Requests and complaints logged without choosing the customer that match the person,
        not (yet) included: to offer, never to take."""
        return [c for c in self._found if c.key not in self._include] if self._offer else []

    @cached_property
    def _ids(self) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
        customer = self.customer
        assert customer is not None  # a subject without a customer has no case files of its own
        case_ids = set(Case.objects.filter(customer=customer).values_list("pk", flat=True))
        case_ids |= set(Case.history.filter(customer_id=customer.pk).values_list("id", flat=True))
        case_ids |= {c.pk for c in self.included if c.kind == "case"}
        complaint_ids = set(
            Complaint.objects.filter(Q(customer=customer) | Q(cases__in=case_ids)).values_list("pk", flat=True)
        )
        complaint_ids |= set(Complaint.history.filter(customer_id=customer.pk).values_list("id", flat=True))
        complaint_ids |= {c.pk for c in self.included if c.kind == "complaint"}
        return self._case_files(case_ids, complaint_ids)

    @staticmethod
    def _case_files(case_ids, complaint_ids) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
        case_ids, complaint_ids = set(case_ids), set(complaint_ids)
        # A request linked to one of the person's complaints is about them too.
        through = Complaint.cases.through.objects.filter(complaint_id__in=complaint_ids)
        case_ids |= set(through.values_list("case_id", flat=True))
        ico_ids = set(IcoCase.objects.filter(complaint_id__in=complaint_ids).values_list("pk", flat=True))
        return frozenset(case_ids), frozenset(complaint_ids), frozenset(ico_ids)

    @property
    def case_ids(self) -> frozenset[int]:
        return self._ids[0]

    @property
    def complaint_ids(self) -> frozenset[int]:
        return self._ids[1]

    @property
    def ico_ids(self) -> frozenset[int]:
        return self._ids[2]

    def models(self) -> list[type[models.Model]]:
        return [apps.get_model(label) for label in COVERAGE]

    def scope(self, model: type[Model]) -> Q:
        """The person's rows of `model`. Valid on its history table too (same column names)."""
        return COVERAGE[model._meta.label].scope(self)

    def rows(self, model: type[Model]) -> QuerySet:
        part = COVERAGE[model._meta.label]
        if part.rows is not None:
            return part.rows(self)
        return model._default_manager.filter(self.scope(model)).order_by("pk")

    def history(self, model: type[Model]) -> QuerySet | None:
        """Every history row of the person's rows of `model` (None for an untracked model)."""
        if not hasattr(model, "history"):
            return None
        return model.history.model.objects.filter(self.scope(model)).order_by("history_date", "history_id")

    def ids(self, model: type[Model]) -> set[int]:
        return set(self.rows(model).values_list("pk", flat=True))

    def files(self) -> list[SubjectFile]:
        """The files in private storage held in the person's records (live ones only)."""
        found = []
        for label, (name, kind) in FILE_FIELDS.items():
            model = apps.get_model(label)
            for pk, path, what in self.rows(model).exclude(**{name: ""}).values_list("pk", name, kind):
                found.append(SubjectFile(model, pk, name, path, what))
        return found


@dataclass(frozen=True)
class Part:
    """How the graph finds one model's rows about the person."""

    scope: Callable[[SubjectRecords], Q]
    # A model read another way (the access log: searches that returned the person).
    rows: Callable[[SubjectRecords], QuerySet] | None = None
    what: str = ""


NOTHING = Q(pk__in=[])


def _customer(g: SubjectRecords) -> Q:
    return Q(customer_id=g.customer.pk) if g.customer is not None else NOTHING


def _calls(g: SubjectRecords) -> Q:
    if g.customer is None:
        return NOTHING
    return _customer(g) | Q(customer__isnull=True, customer_number__in=sorted(g.identifiers.phones))


def _inbound_sms(g: SubjectRecords) -> Q:
    """Texts linked to the person, and those from a number they held that no single customer
    was linked to (the text is kept for an agent: from their number, almost surely theirs)."""
    if g.customer is None:
        return NOTHING
    return _customer(g) | Q(customer_id__isnull=True, sender__in=sorted(g.identifiers.phones))


def _case_file(g: SubjectRecords) -> Q:
    return Q(case_id__in=sorted(g.case_ids))


def _access_events(g: SubjectRecords) -> QuerySet:
    if g.customer is None:
        return AccessEvent.objects.none()
    return events_for_customer(g.customer.pk).order_by("at", "pk")


COVERAGE: dict[str, Part] = {
    "customers.Customer": Part(lambda g: Q(id=g.customer.pk) if g.customer else NOTHING, what="The customer record"),
    "customers.PreferenceChange": Part(_customer, what="Marketing preference changes"),
    "customers.Call": Part(_calls, what="Recorded calls, matched or from a number the person had"),
    "customers.Correspondence": Part(_customer, what="Correspondence records"),
    "customers.Purchase": Part(_customer, what="Purchases"),
    "customers.Disclosure": Part(_customer, what="Disclosures to third parties"),
    "customers.InboundSms": Part(_inbound_sms, what="Text messages received, linked or from a number the person had"),
    "customers.EmailEvent": Part(_customer, what="Email provider events (unsubscribes, complaints, bounces)"),
    "requests.Case": Part(lambda g: Q(id__in=sorted(g.case_ids)), what="Rights requests"),
    "requests.ClockStop": Part(_case_file, what="Clock stops on those requests"),
    "requests.CaseDocument": Part(_case_file, what="Documents on those requests"),
    "requests.CaseTask": Part(_case_file, what="Tasks on those requests"),
    "requests.CaseNote": Part(_case_file, what="Notes on those requests"),
    "requests.ReminderKey": Part(_case_file, what="Reminders sent to staff about those requests"),
    "requests.Complaint": Part(lambda g: Q(id__in=sorted(g.complaint_ids)), what="Complaints"),
    "requests.IcoCase": Part(lambda g: Q(complaint_id__in=sorted(g.complaint_ids)), what="The ICO's cases"),
    "requests.IcoDeadline": Part(lambda g: Q(ico_case_id__in=sorted(g.ico_ids)), what="The ICO's deadlines"),
    "requests.CaseCorrespondence": Part(
        lambda g: Q(case_id__in=sorted(g.case_ids)) | Q(complaint_id__in=sorted(g.complaint_ids)),
        what="Correspondence on those requests and complaints",
    ),
    "privacy_portal.AccessEvent": Part(_customer, rows=_access_events, what="Reads of the person's data"),
    "customers.MpsMatch": Part(_customer, what="Matches with the Mailing Preference Service's file"),
    "customers.Bereavement": Part(_customer, what="The record of the person's death (all marketing stopped)"),
    "requests.BreachAffected": Part(
        _customer, what="Personal-data breaches that affected the person, and telling them"
    ),
}

# Models with a relation path to a customer, a case or a complaint that hold nothing about the
# person, and why. Adding a model that relates to one means adding it above or here, on purpose.
EXCLUDED: dict[str, str] = {
    "requests.CaseUserObjectPermission": "A member of staff's grant on a case: staff and record ids only.",
    "requests.CaseGroupObjectPermission": "A group's grant on a case: group and record ids only.",
    "requests.ComplaintUserObjectPermission": "A member of staff's grant on a complaint: staff and record ids only.",
    "requests.ComplaintGroupObjectPermission": "A group's grant on a complaint: group and record ids only.",
    "guardian.UserObjectPermission": "A member of staff's grant on any record (e.g. a customer's disclosures): "
    "staff and record ids only.",
    "guardian.GroupObjectPermission": "A group's grant on any record: group and record ids only.",
    "requests.ExportRequest": "The outbox row of an export asked for: staff and record ids, times, a status and a "
    "fixed failure message; the export itself is a CaseDocument, covered above.",
    "admin.LogEntry": "Django admin's log of staff accounts' changes; customer data is not editable there, and a "
    "record's text is its reference (C-000042), never a name.",
    "customers.LegalHold": "The DPO's legal hold on the person's records: the DPO's reason (a claim, an "
    "investigation; the form asks for no customer details), an end date and staff ids. A record about the "
    "records, not about the person.",
    "privacy_portal.BreakGlassReview": "The DPO's review of a break-glass access-log entry: the entry's id, an "
    "outcome code, the reviewer and the time; nothing about the person.",
    "privacy_portal.AccessEventText": "The free text beside an access-log entry (a break-glass reason): read, "
    "exported and erased with its entry (the AccessEvent's reason; erasure redacts it through "
    "privacy_portal.audit.redact_free_text), so not a data set of its own.",
}

# Registers about an incident rather than a person, whose free text may still name one (an
# affected customer's name typed into "what happened", a task "Ring Mrs X back"): the graph
# covers them by *mention*. Their rows belong to no one person, so neither the export nor the
# bundle lists them (the person's part of a breach is requests.BreachAffected, covered above,
# and exported); but erasure redacts every value the person ever had out of every row and every
# history row of them, through the same redaction as everything else, and the ICO breach report
# redacts the affected people's values from them.
MENTIONS: dict[str, str] = {
    "requests.Breach": "The incident's record (Art 33(5)): what happened, how it was found, its assessment.",
    "requests.BreachNotification": "A report to the ICO about an incident: its notes.",
    "requests.BreachTask": "A containment or remedial action on an incident: its title.",
    # Not about a person either (a campaign's call list), but its result file holds every number
    # screened: erasure replaces the person's numbers in every file still kept
    # (customers.services.campaign.results_redacted) and redacts the record's own text.
    "customers.CampaignScreening": "A call list screened: its file name, and its result file's numbers.",
}

# Fields naming a file in private storage: model -> (path field, kind field).
FILE_FIELDS: dict[str, tuple[str, str]] = {
    "requests.CaseDocument": ("path", "kind"),
    "requests.CaseCorrespondence": ("attachment_path", "medium"),
}


def subject_records(
    customer: Customer, *, include: Iterable[str] = (), keep: Iterable[str] = (), candidates: bool = True
) -> SubjectRecords:
    """Every row the portal holds about `customer` (see the module's docstring).

    `include`: keys ("case:12", "complaint:5") of candidates, requests and complaints logged
    without choosing a customer that match the person, which the DPO or handler has chosen to
    treat as theirs. `keep`: values that are not identifiers (an erased record's placeholder).
    `candidates=False` skips looking for candidates (a reader that never offers them).
    """
    return SubjectRecords(customer, include=include, keep=keep, candidates=candidates)


def case_file_records(*, case_ids: Iterable[int], complaint_ids: Iterable[int]) -> SubjectRecords:
    """The records of requests and complaints that have no customer record (logged with the
    requester's details only): their case files, as the subject graph holds a customer's."""
    return SubjectRecords(None, candidates=False, files=(case_ids, complaint_ids))


# --- The introspection walk ------------------------------------------------------------------------


def related_to_a_subject(all_models: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """The models with a relation path (foreign keys, one-to-one, many-to-many, a plain
    `customer_id`-style column, or a generic relation through a content type) to a customer,
    a case or a complaint. History models and auto-created many-to-many tables are left out:
    they follow the model they belong to."""
    all_models = [m for m in all_models if not _follows_another(m)]
    related: set[str] = set(ROOTS)
    changed = True
    while changed:
        changed = False
        for model in all_models:
            label = model._meta.label
            if label in related:
                continue
            if any(target in related for target in _targets(model)):
                related.add(label)
                changed = True
    return [m for m in all_models if m._meta.label in related]


def _follows_another(model) -> bool:
    return model._meta.auto_created is not False or hasattr(model, "instance_type")


def _targets(model) -> set[str]:
    targets = set()
    names = {f.name for f in model._meta.get_fields()}
    generic = bool(names & GENERIC_OBJECT_FIELDS)
    for f in model._meta.get_fields():
        if f.is_relation and f.concrete and f.related_model is not None:
            related = f.related_model
            if related._meta.label == "contenttypes.ContentType":
                if generic:  # a content type and an object id: a generic relation, to anything
                    targets |= set(ROOTS)
            else:
                targets.add(related._meta.label)
        elif f.concrete and not f.is_relation and f.name in SOFT_LINKS:
            targets.add(SOFT_LINKS[f.name])
    return targets


def unaccounted(all_models: Iterable[type[models.Model]] | None = None) -> list[str]:
    """Models related to a customer, a case or a complaint that are neither covered by the
    subject graph nor excluded with a reason (the test wants none)."""
    all_models = apps.get_models() if all_models is None else all_models
    return sorted(
        m._meta.label
        for m in related_to_a_subject(all_models)
        if m._meta.label not in COVERAGE and m._meta.label not in EXCLUDED and m._meta.label not in MENTIONS
    )
