"""Forms for complaints, the ICO panel and case-file correspondence (input only; the rules
are in requests.services.complaints and requests.services.correspondence)."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from customers.forms import PhoneField
from privacy_portal import bounds
from privacy_portal.text_rules import LONG_TEXT_MAX_LENGTH, PortalForm

from ..models import Case, CaseCorrespondence, Complaint, IcoCase
from .cases import DATE_HELP, AssignForm

__all__ = ["AssignForm"]


class ComplaintForm(PortalForm):
    customer_id = bounds.IntegerField(required=False, widget=forms.HiddenInput)
    received_on = bounds.DateField(label="Date received", help_text=DATE_HELP, initial=timezone.localdate)
    channel = forms.ChoiceField(choices=Case.Channel.choices, label="How the complaint arrived")
    category = forms.ChoiceField(choices=Complaint.Category.choices, label="What it is about")
    description = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="The complaint, in the caller's words"
    )
    complainant_name = forms.CharField(
        max_length=200,
        required=False,
        label="Complainant's name",
        help_text="Needed when no customer record matches, or when someone complains for the customer.",
    )
    complainant_email = forms.EmailField(required=False, label="Complainant's email")
    complainant_phone = PhoneField(required=False, label="Complainant's phone")
    complainant_address = forms.CharField(max_length=400, required=False, label="Complainant's postal address")
    case_references = forms.CharField(
        max_length=200,
        required=False,
        label="Rights requests it is about",
        help_text="References such as R-2026-00042, separated by commas.",
    )

    def clean_case_references(self) -> list[str]:
        text = self.cleaned_data.get("case_references", "")
        return [ref.strip().upper() for ref in text.replace(";", ",").split(",") if ref.strip()]


class ComplaintFilterForm(PortalForm):
    status = forms.ChoiceField(
        choices=[("", "Open (all)"), ("all", "Any status"), *Complaint.Status.choices], required=False
    )
    category = forms.ChoiceField(choices=[("", "Any category"), *Complaint.Category.choices], required=False)
    ack_overdue = forms.BooleanField(required=False, label="Acknowledgement overdue")
    ico = forms.BooleanField(required=False, label="ICO cases")
    mine = forms.BooleanField(required=False, label="Only mine")


class TargetForm(PortalForm):
    due_on = bounds.DateField(label="Respond by", help_text=DATE_HELP)


class AcknowledgeForm(PortalForm):
    on = bounds.DateField(label="Date acknowledged", help_text=DATE_HELP, initial=timezone.localdate)


class RespondForm(PortalForm):
    on = bounds.DateField(label="Date of our response", help_text=DATE_HELP, initial=timezone.localdate)
    summary = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="What we told the complainant"
    )


class ReviewRequestForm(PortalForm):
    on = bounds.DateField(label="Date the review was asked for", help_text=DATE_HELP, initial=timezone.localdate)


class ReviewConcludeForm(PortalForm):
    on = bounds.DateField(label="Date concluded", help_text=DATE_HELP, initial=timezone.localdate)
    outcome = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Outcome of the review")


class CloseForm(PortalForm):
    outcome = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Outcome")


class LinkCaseForm(PortalForm):
    reference = forms.CharField(max_length=16, label="Request reference", help_text="For example R-2026-00042.")

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper()


class EscalateForm(PortalForm):
    ico_reference = forms.CharField(max_length=40, label="ICO case reference")
    contacted_on = bounds.DateField(label="The ICO contacted us on", help_text=DATE_HELP, initial=timezone.localdate)
    contact_method = forms.ChoiceField(choices=IcoCase.Method.choices, label="How")
    caseworker = forms.CharField(max_length=200, required=False, label="ICO caseworker")
    requested = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="What the ICO asked for")
    deadline_what = forms.CharField(max_length=500, required=False, label="First deadline: what is due")
    deadline_due_on = bounds.DateField(required=False, label="First deadline: due by", help_text=DATE_HELP)

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if bool(data.get("deadline_what")) != bool(data.get("deadline_due_on")):
            raise forms.ValidationError("Give both what the ICO wants and by when, or neither.")
        return data


class IcoDeadlineForm(PortalForm):
    what = forms.CharField(max_length=500, label="What the ICO wants")
    due_on = bounds.DateField(label="By", help_text=DATE_HELP)


class IcoAnswerForm(PortalForm):
    deadline = bounds.IntegerField(widget=forms.HiddenInput)
    on = bounds.DateField(label="Answered on", help_text=DATE_HELP, initial=timezone.localdate)


class IcoOutcomeForm(PortalForm):
    outcome = forms.ChoiceField(choices=IcoCase.Outcome.choices, label="The ICO's outcome")
    on = bounds.DateField(label="Date of the outcome", help_text=DATE_HELP, initial=timezone.localdate)
    notes = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="Notes")


class IcoOutcomeCorrectForm(IcoOutcomeForm):
    reason = forms.CharField(
        max_length=500, label="Why the recorded outcome is wrong", help_text="Kept in the complaint's history."
    )


class CorrespondenceForm(PortalForm):
    occurred_on = bounds.DateField(label="Date", help_text=DATE_HELP, initial=timezone.localdate)
    direction = forms.ChoiceField(
        choices=[("inbound", "In (to us)"), ("outbound", "Out (from us)")], widget=forms.RadioSelect, label="Direction"
    )
    medium = forms.ChoiceField(choices=CaseCorrespondence.Medium.choices, label="Letter, email or call")
    summary = forms.CharField(widget=forms.Textarea, max_length=2000, label="Summary")
    attachment = forms.FileField(required=False, label="Attachment", help_text="PDF, JPEG or PNG, at most 10 MB.")
