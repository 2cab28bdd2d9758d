"""Forms for personal-data breaches (input only; the rules are in requests.services.breaches)."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Correspondence, Customer, Purchase, Recipient
from privacy_portal import bounds, legal
from privacy_portal.text_rules import LONG_TEXT_MAX_LENGTH, PortalForm

from ..models import Breach, BreachAffected, BreachDataCategory, BreachNotification, BreachPeopleCategory
from ..selectors.breaches import DUE_SOON_HOURS
from ..services.breach_query import SOURCES, AffectedQuery
from .cases import DATE_HELP

TASK_OWNER_ROLES = ("agent", "handler", "dpo")
TIME_HELP = "UK time, dd/mm/yyyy hh:mm (add BST or GMT in the hour the clocks go back)"
TIME_FORMATS = [
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y",
]
UK = ZoneInfo(settings.TIME_ZONE)
ZONE_SUFFIX = re.compile(r"\s+(BST|GMT)\s*$", re.IGNORECASE)
ZONE_OFFSETS = {"GMT": datetime.timedelta(0), "BST": datetime.timedelta(hours=1)}
ERR_TIME_TWICE = (
    "{text} happened twice in UK time (the clocks went back that night): add BST for the first "
    "or GMT for the second, e.g. {text} BST."
)
ERR_TIME_NEVER = "{text} did not exist in UK time (the clocks went forward from 01:00 to 02:00 that night)."
ERR_TIME_WRONG_ZONE = "{text} was {zone} in the UK, not {given}."


def _uk_text(moment: datetime.datetime) -> str:
    """A time as the forms take it back: BST or GMT added when the wall clock read it twice."""
    local = moment.astimezone(UK)
    text = local.strftime("%d/%m/%Y %H:%M:%S" if local.second else "%d/%m/%Y %H:%M")
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset():
        text += f" {local.tzname()}"
    return text


def _now_text() -> str:
    return _uk_text(timezone.now().replace(second=0, microsecond=0))


class UKDateTimeField(bounds.DateTimeField):
    """A wall-clock time in the UK. Across the clock changes one wall-clock reading can be two
    instants (October: BST or GMT says which) or none (March): each said plainly, never guessed."""

    def prepare_value(self, value):
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            return _uk_text(value)
        return value

    def to_python(self, value):
        if isinstance(value, datetime.datetime) or value in self.empty_values:
            return super().to_python(value)
        text = str(value).strip()
        match = ZONE_SUFFIX.search(text)
        given = match.group(1).upper() if match else None
        wall_text = text[: match.start()].strip() if match else text
        naive = None
        # Never None once the field exists (Django keeps the class default unless given formats); django-stubs
        # types the attribute like the optional __init__ argument.
        for fmt in self.input_formats:  # type: ignore[union-attr]
            try:
                naive = datetime.datetime.strptime(wall_text, fmt)
            except (ValueError, OverflowError):
                continue
            break
        if naive is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            first, second = naive.replace(tzinfo=UK, fold=0), naive.replace(tzinfo=UK, fold=1)
            back = first.astimezone(datetime.UTC).astimezone(UK).replace(tzinfo=None)
        except (ValueError, OverflowError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        shown = naive.strftime("%d/%m/%Y %H:%M")
        if back != naive:
            raise ValidationError(ERR_TIME_NEVER.format(text=shown), code="nonexistent")
        if first.utcoffset() != second.utcoffset():
            if given is None:
                raise ValidationError(ERR_TIME_TWICE.format(text=shown), code="ambiguous")
            chosen = first if first.utcoffset() == ZONE_OFFSETS[given] else second
            return chosen.astimezone(datetime.UTC)
        if given is not None and first.utcoffset() != ZONE_OFFSETS[given]:
            zone = first.tzname()
            raise ValidationError(ERR_TIME_WRONG_ZONE.format(text=shown, zone=zone, given=given), code="zone")
        return first.astimezone(datetime.UTC)


def when(label: str, *, required: bool = True, initial=None, help_text: str = TIME_HELP) -> UKDateTimeField:
    return UKDateTimeField(
        label=label, required=required, help_text=help_text, initial=initial, input_formats=TIME_FORMATS
    )


def count(label: str) -> bounds.IntegerField:
    return bounds.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=bounds.INTEGER_MAX,
        help_text="Leave blank if not yet known.",
    )


class BreachReportForm(PortalForm):
    """The short form anyone may use: it starts the clock and tells the DPO."""

    summary = forms.CharField(max_length=200, label="What happened, in a few words", help_text="No customer's name.")
    what_happened = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="What happened")
    aware_at = when("When we became aware", initial=_now_text)
    happened_at = when("When it happened", required=False, help_text=f"{TIME_HELP}; leave blank if not known.")
    how_discovered = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="How it was found"
    )


class ProcessorReportForm(BreachReportForm):
    """A processor tells us of an incident (Art 33(2)): who, and when it told us."""

    processor = forms.ModelChoiceField(
        queryset=Recipient.objects.filter(role=Recipient.Role.PROCESSOR).order_by("name"), label="Processor"
    )
    processor_told_at = when("When the processor told us")


class BreachDetailsForm(PortalForm):
    summary = forms.CharField(max_length=200, label="Summary", help_text="No customer's name.")
    what_happened = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="What happened")
    how_discovered = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="How it was discovered"
    )
    discovered_by = forms.CharField(max_length=200, required=False, label="Discovered by (role or team)")
    aware_at = when("When we became aware")
    happened_at = when("When it happened", required=False)
    cause = forms.ChoiceField(choices=Breach.Cause.choices, label="Cause")
    data_categories = forms.MultipleChoiceField(
        choices=BreachDataCategory.choices, widget=forms.CheckboxSelectMultiple, required=False,
        label="Categories of personal data",
    )  # fmt: skip
    people_categories = forms.MultipleChoiceField(
        choices=BreachPeopleCategory.choices, widget=forms.CheckboxSelectMultiple, required=False,
        label="Categories of people",
    )  # fmt: skip
    people_count = count("Approximate number of people")
    records_count = count("Approximate number of records")
    processor = forms.ModelChoiceField(
        queryset=Recipient.objects.filter(role=Recipient.Role.PROCESSOR).order_by("name"),
        required=False,
        label="Processor that reported it",
    )
    processor_told_at = when("When the processor told us", required=False)
    containment = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea,
        required=False,
        label="Containment and preventative measures",
    )
    staff_training = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="Staff training"
    )
    others_told = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="Other organisations told"
    )
    letter = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea,
        required=False,
        label="Letter or email to the people affected",
        help_text="In clear language: what happened, the DPO's contact, the likely consequences, what we have "
        "done and what they can do.",
    )


class AssessForm(PortalForm):
    consequences = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Potential consequences for the people affected"
    )
    likelihood = forms.ChoiceField(
        choices=Breach.LIKELIHOOD_CHOICES, label="Likelihood", help_text="How likely the consequences are."
    )
    severity = forms.ChoiceField(
        choices=Breach.SEVERITY_CHOICES, label="Severity", help_text="How severe they would be for the people."
    )
    report_to_ico = forms.TypedChoiceField(
        choices=[("", "Choose"), ("yes", "Yes: report to the ICO"), ("no", "No: not reportable")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
        label="Report to the ICO?",
    )
    ico_decision_reason = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="Reasons for the decision"
    )
    tell_people = forms.ChoiceField(
        choices=[("", "Choose"), *Breach.TellPeople.choices], required=False, label="Tell the people affected?"
    )
    tell_people_reason = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea,
        required=False,
        label="Reasons (or the exception's facts)",
    )


class NotifyForm(PortalForm):
    phase = forms.ChoiceField(choices=BreachNotification.Phase.choices, label="Report")
    sent_at = when("Sent to the ICO at", initial=_now_text)
    ico_reference = forms.CharField(max_length=40, required=False, label="ICO case reference")
    notes = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="Notes")
    late_reason = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea,
        required=False,
        label=f"Reasons for the delay (after {legal.BREACH_REPORT_HOURS} hours)",
    )


class TaskForm(PortalForm):
    title = forms.CharField(max_length=300, label="Action")
    owner = forms.ModelChoiceField(
        # Those who may mark a task done (roles with change_breachtask): auditors change nothing
        # and the IT administrator holds no case or breach permission.
        queryset=get_user_model().objects.filter(is_active=True, role__in=TASK_OWNER_ROLES).order_by("username"),
        label="Owner",
    )
    due_on = bounds.DateField(label="Due on", help_text=DATE_HELP)


class LinkRecordsForm(PortalForm):
    case_references = forms.CharField(max_length=400, required=False, label="Rights requests (R-2026-00042, …)")
    complaint_references = forms.CharField(max_length=400, required=False, label="Complaints (CP-2026-00007, …)")
    recipients = forms.ModelMultipleChoiceField(
        queryset=Recipient.objects.order_by("name"), required=False, label="Recipients or processors involved"
    )

    def _refs(self, name: str) -> list[str]:
        return [r.strip().upper() for r in self.cleaned_data.get(name, "").replace(";", ",").split(",") if r.strip()]

    def clean_case_references(self) -> list[str]:
        return self._refs("case_references")

    def clean_complaint_references(self) -> list[str]:
        return self._refs("complaint_references")


class LinkCustomersForm(PortalForm):
    references = forms.CharField(
        max_length=2000, label="Customer references", help_text="C-000123, separated by commas or spaces."
    )

    def clean_references(self) -> list[Customer]:
        text = self.cleaned_data["references"].replace(",", " ").replace(";", " ")
        refs = [r for r in text.split() if r]
        pks, bad = [], []
        for ref in refs:
            pk = Customer.pk_from_reference(ref)
            (pks.append(pk) if pk is not None else bad.append(ref))
        found = {c.pk: c for c in Customer.objects.filter(pk__in=pks)}
        bad += [Customer(pk=pk).reference for pk in pks if pk not in found]
        if bad:
            raise forms.ValidationError(f"No customer has the reference {', '.join(bad)}.")
        return [found[pk] for pk in dict.fromkeys(pks)]


class AffectedCsvForm(PortalForm):
    file = forms.FileField(label="CSV of customer references", help_text="One column headed customer_reference.")


class ToldForm(PortalForm):
    told = forms.ChoiceField(choices=BreachAffected.Told.choices, initial="told", label="They were")
    method = forms.ChoiceField(choices=[("", "—"), *BreachAffected.Method.choices], required=False, label="How")
    told_at = when("When", initial=_now_text)
    references = forms.CharField(
        max_length=2000,
        required=False,
        label="Only these customers",
        help_text="Blank: everyone not yet told. Otherwise C-000123, separated by commas or spaces.",
    )

    def clean_references(self) -> list[Customer] | None:
        text = self.cleaned_data.get("references", "").strip()
        if not text:
            return None
        sub = LinkCustomersForm({"references": text})
        if not sub.is_valid():
            raise forms.ValidationError(list(sub.errors["references"]))
        return sub.cleaned_data["references"]


class CloseForm(PortalForm):
    lessons_learned = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Lessons learned")


class FromAccessForm(PortalForm):
    event_ids = forms.CharField(max_length=2000, label="Access-log entries", widget=forms.HiddenInput)
    summary = forms.CharField(max_length=200, label="Summary", initial="Access to customer records without a reason")

    def clean_event_ids(self) -> list[int]:
        ids = []
        for part in self.cleaned_data["event_ids"].replace(",", " ").split():
            entry_id = bounds.parse_id(part)
            if entry_id is None:
                raise forms.ValidationError("Access-log entries are given by their ids.")
            ids.append(entry_id)
        return ids


class RegisterFilterForm(PortalForm):
    show = forms.ChoiceField(
        choices=[
            ("open", "Open"),
            ("due24", f"Due within {DUE_SOON_HOURS} hours"),
            ("overdue", "Overdue"),
            ("all", "All"),
        ],
        required=False,
        label="Show",
    )


class AffectedQueryForm(PortalForm):
    """Who was affected, as a query: a source of records and what they have in common."""

    source = forms.ChoiceField(choices=[("", "Choose"), *SOURCES.items()], label="Customers with")
    recipient = forms.ModelChoiceField(
        queryset=Recipient.objects.order_by("name"), required=False, label="Disclosed to",
        help_text="For disclosures: the recipient (e.g. the logistics partner).",
    )  # fmt: skip
    transcribed = forms.BooleanField(
        required=False, label="Only calls sent for transcription", help_text="For recorded calls."
    )
    medium = forms.ChoiceField(
        choices=[("", "Any channel"), *Correspondence.Medium.choices], required=False, label="Channel",
        help_text="For correspondence.",
    )  # fmt: skip
    payment_method = forms.ChoiceField(
        choices=[("", "Any"), *Purchase.PaymentMethod.choices], required=False, label="Paid by",
        help_text="For purchases.",
    )  # fmt: skip
    description = forms.CharField(
        max_length=100, required=False, label="Item bought contains", help_text="For purchases, e.g. Britannia."
    )
    date_from = bounds.DateField(required=False, label="From", help_text=DATE_HELP)
    date_to = bounds.DateField(required=False, label="To (inclusive)", help_text=DATE_HELP)

    def query(self) -> AffectedQuery:
        return query_from(self.cleaned_data)


def query_from(data: dict) -> AffectedQuery:
    """The query a valid AffectedQueryForm (or LinkQueryForm) describes."""
    return AffectedQuery(
        source=data["source"],
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        recipient=data.get("recipient"),
        transcribed=bool(data.get("transcribed")),
        medium=data.get("medium") or "",
        payment_method=data.get("payment_method") or "",
        description=(data.get("description") or "").strip(),
    )


class LinkQueryForm(AffectedQueryForm):
    expected = bounds.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=bounds.INTEGER_MAX)
