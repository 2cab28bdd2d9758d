"""The ICO report of a breach, ready to file: the answers in the order of the ICO's online
personal data breach report form, as a page and as a PDF (ReportLab, as the complaint bundle).

The ICO asks for no one's personal data, so the report holds counts and categories. The free
text staff typed (what happened, how it was found, consequences, measures) is passed through
`redact_affected`: every value an affected customer has ever had on record (the live row and
its history, the set erasure redacts) is replaced through erasure's own redaction
(requests.services.redaction), whatever its case, spacing or spelling, and so is any customer
reference, so a name typed into "what happened" never reaches the ICO's form.

`ico_report_content` builds the sections once; the page and the PDF render that one structure.
"""

from __future__ import annotations

import io
import re

from django.core.exceptions import ValidationError
from django.db.models import Count, Func, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from customers.models import Customer
from customers.services.normalise import normalise_phone
from customers.subject import Identifiers
from privacy_portal import legal

from ..models import Breach, BreachAffected, BreachNotification
from .bundle import pdf_paragraph, pdf_styles, pdf_table
from .redaction import normalise, redactor

REDACTED = "[personal data removed]"
NOT_KNOWN = "Not yet known"
# A customer reference anywhere in the text (C-000042, c 42): never written into the report.
_REFERENCE = re.compile(r"\bC-?\s?\d{1,12}\b", re.IGNORECASE)
_WORD = re.compile(r"[\w@.+'-]+", re.UNICODE)
MAX_GRAM = 5  # an address line or a full name is at most this many words
# Up to this many affected people, every one's values are read (the redaction then misses
# nothing however a value is spelt); above it, only the people one of whose values (any
# version, lower case, common accents removed) is a run of words of the texts, or whose number
# is one the texts hold: an address typed with "Rd" for "Road" is then found only if something
# else of the same person's is in the text too.
READ_ALL_UP_TO = 1000
# Lower case and without the common accents, as redaction.normalise sees a value.
_ACCENTED = "àáâãäåāçćčèéêëēęìíîïīñńòóôõöøōùúûüūýÿžźż\u2019\u2018"
_PLAIN = "aaaaaaaccceeeeeeiiiiinnooooooouuuuuyyzzz''"


def _grams(text: str) -> set[str]:
    words = [w.strip(".,'-").lower() for w in _WORD.findall(normalise(text)[0])]
    words = [w for w in words if w]
    grams = set()
    for size in range(1, MAX_GRAM + 1):
        for i in range(len(words) - size + 1):
            grams.add(" ".join(words[i : i + size]))
    return grams | {g.replace(" ", "") for g in grams if len(g) <= 9}  # a postcode typed without its space


def _phones(text: str) -> set[str]:
    found = set()
    for match in re.finditer(r"(?:\+|00)?[\d][\d ()/.-]{8,}\d", text):
        try:
            phone = normalise_phone(match.group())
        except ValidationError:  # not a phone number: nothing to redact
            continue
        if phone:
            found.add(phone)
    return found


def _mentioned(affected: list[int], joined: str) -> list[int]:
    """The affected customers that the text may name: any value they have had (live row or
    history) is a run of the text's words, or one of their numbers is in it. Two queries."""
    grams, phones = sorted(_grams(joined)), sorted(_phones(joined))
    fields = ("first_name", "last_name", "email", "postcode", "address_line1", "address_line2", "town", "county")
    annotations = {
        f"_n_{name}": Func(Lower(name), Value(_ACCENTED), Value(_PLAIN), function="translate") for name in fields
    }
    condition = Q(phone__in=phones) if phones else Q(pk__in=[])
    for name in fields:
        condition |= Q(**{f"_n_{name}__in": grams})
    condition |= Q(_n_postcode_compact__in=grams)
    annotations["_n_postcode_compact"] = Func(
        Func(Lower("postcode"), Value(" "), Value(""), function="replace"),
        Value(_ACCENTED),
        Value(_PLAIN),
        function="translate",
    )
    found: set[int] = set()
    live = Customer.objects.filter(pk__in=affected).annotate(**annotations).filter(condition)
    found |= set(live.values_list("pk", flat=True))
    history = Customer.history.filter(id__in=affected).annotate(**annotations).filter(condition)
    found |= set(history.values_list("id", flat=True))
    return sorted(found)


def affected_identifiers(breach: Breach, texts: list[str]) -> Identifiers:
    """Every value the breach's affected customers have ever had on record (the live row and
    every version in its history: the same set erasure redacts), of those the texts may name."""
    affected = list(BreachAffected.objects.filter(breach=breach).values_list("customer_id", flat=True))
    if len(affected) > READ_ALL_UP_TO:
        affected = _mentioned(affected, "\n".join(texts))
    return Identifiers.of_many(affected) if affected else Identifiers()


def redact_affected(breach: Breach, texts: list[str]) -> list[str]:
    """`texts` with every value the breach's affected customers have ever had replaced by
    REDACTED, through the redaction erasure uses (requests.services.redaction: any case,
    spacing, punctuation, accents or spelling of a date; common-word surnames only in name
    context), and any customer reference too."""
    redact = redactor(affected_identifiers(breach, texts), replacement=REDACTED)
    return [_REFERENCE.sub(REDACTED, redact(text)) for text in texts]


def _when(value) -> str:
    return f"{timezone.localtime(value):%-d %B %Y, %H:%M %Z} (UK time)" if value else NOT_KNOWN


def _count(value: int | None) -> str:
    return NOT_KNOWN if value is None else f"{value:,}"


def _labels(labels: list[str]) -> str:
    return "; ".join(labels) if labels else NOT_KNOWN


def ico_report_content(breach: Breach, *, phase: str | None = None) -> dict:
    """The answers, section by section, in the order of the ICO's breach report form."""
    notifications = list(breach.notifications.order_by("sent_at", "pk"))
    initial = next((n for n in notifications if n.phase == BreachNotification.Phase.INITIAL), None)
    if phase is None:
        phase = BreachNotification.Phase.FOLLOW_UP if initial else BreachNotification.Phase.INITIAL
    ico_reference = next((n.ico_reference for n in reversed(notifications) if n.ico_reference), "")
    free = [
        breach.what_happened,
        breach.how_discovered,
        breach.consequences,
        breach.containment,
        breach.staff_training,
        breach.others_told,
        breach.late_reason,
        breach.summary,
        breach.discovered_by,
        breach.tell_people_reason,
    ]
    (what, how, consequences, containment, training, others, late, summary, discovered_by, tell_reason) = (
        redact_affected(breach, free)
    )
    progress = dict.fromkeys(BreachAffected.Told.values, 0)
    for told, n in breach.affected.values_list("told").order_by().annotate(n=_count_rows()).values_list("told", "n"):
        progress[told] = n
    linked = sum(progress.values())
    late_report = initial is not None and initial.sent_at > breach.due_at
    sections = [
        (
            "Report type",
            [
                ("Initial report or follow-up", BreachNotification.Phase(phase).label),
                ("Our reference", breach.reference),
                ("ICO case reference", ico_reference or "Not yet given"),
                (
                    f"Reported within {legal.BREACH_REPORT_HOURS} hours?",
                    "No" if late_report else ("Yes" if initial else "Not yet reported"),
                ),
                ("Reasons for the delay", late or ("—" if not late_report else NOT_KNOWN)),
            ],
        ),
        (
            "About the breach",
            [
                ("What happened", f"{summary}\n{what}"),
                (
                    "Was it a cyber incident?",
                    NOT_KNOWN
                    if breach.cause == Breach.Cause.NOT_YET_KNOWN
                    else ("Yes" if breach.cause == Breach.Cause.CYBER else "No"),
                ),
                ("Cause", breach.get_cause_display()),
                ("How did you find out about the breach?", how or NOT_KNOWN),
                ("Who discovered it", discovered_by or NOT_KNOWN),
                ("When did you discover the breach?", _when(breach.aware_at)),
                ("When did the breach happen?", _when(breach.happened_at)),
                (
                    "Reported to us by a processor",
                    f"{breach.processor.name}, at {_when(breach.processor_told_at)}" if breach.processor else "No",
                ),
            ],
        ),
        (
            "The personal data",
            [
                ("Categories of personal data", _labels(breach.data_category_labels())),
                ("Approximate number of personal data records", _count(breach.records_count)),
                ("Approximate number of people affected", _count(breach.people_count)),
                ("Categories of people affected", _labels(breach.people_category_labels())),
                ("Customers identified so far", f"{linked:,}"),
            ],
        ),
        (
            "Potential consequences",
            [
                ("Potential consequences for the people affected", consequences or NOT_KNOWN),
                ("Likelihood", breach.get_likelihood_display() or "Not yet assessed"),
                ("Severity", breach.get_severity_display() or "Not yet assessed"),
                ("Risk to people", breach.get_risk_display() or "Not yet assessed"),
            ],
        ),
        (
            "Taking action",
            [
                ("Containment and preventative measures", containment or NOT_KNOWN),
                (
                    "Remedial actions",
                    "\n".join(
                        f"{t.title} (due {t.due_on:%-d %b %Y}{', done' if t.done_at else ''})"
                        for t in breach.tasks.order_by("due_on", "pk")
                    )
                    or "None recorded",
                ),
                ("Staff training", training or NOT_KNOWN),
                ("Other organisations told", others or "None"),
            ],
        ),
        (
            "Telling the people affected",
            [
                ("Have you told the people affected?", _told_answer(breach, progress)),
                ("Decision and reasons", f"{breach.get_tell_people_display() or 'Not yet decided'}. {tell_reason}"),
                ("Told", f"{progress['told']:,}"),
                ("Not yet told", f"{progress['not_yet']:,}"),
                ("Undeliverable", f"{progress['undeliverable']:,}"),
            ],
        ),
    ]
    return {
        "reference": breach.reference,
        "title": f"Personal data breach report: {breach.reference}",
        "generated_at": timezone.localtime(),
        "sections": sections,
    }


def _count_rows():
    return Count("id")


def _told_answer(breach: Breach, progress: dict[str, int]) -> str:
    if breach.tell_people != Breach.TellPeople.YES:
        return "No" if breach.tell_people else "Not yet decided"
    total = sum(progress.values())
    if total and progress["not_yet"] == 0:
        return "Yes"
    return "In progress" if progress["told"] else "Not yet, but we will"


def ico_report_pdf(content: dict) -> bytes:
    """The report as an A4 PDF, rendered from `ico_report_content`."""
    # reportlab takes ~0.1 s to import and only the PDF needs it: imported on that path.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    styles = pdf_styles()
    width = A4[0] - 30 * mm
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=content["title"],
        author="Privacy Portal",
    )
    story = [
        pdf_paragraph(content["title"], styles["Title"]),
        pdf_paragraph(
            f"Prepared {content['generated_at']:%-d %B %Y, %H:%M} (UK time), in the order of the ICO's form.",
            styles["Normal"],
        ),
    ]
    for title, rows in content["sections"]:
        story += [Spacer(1, 4 * mm), pdf_paragraph(title, styles["Heading2"])]
        story.append(pdf_table([list(row) for row in rows], [60 * mm, width - 60 * mm], styles, header=False))
    doc.build(story)
    return buffer.getvalue()
