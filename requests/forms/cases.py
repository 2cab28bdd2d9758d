from __future__ import annotations

import re

from django import forms
from django.utils import timezone

from customers.forms import ContactForm, PhoneField
from customers.services.customers import CONTACT_FIELDS
from privacy_portal import bounds
from privacy_portal.text_rules import LONG_TEXT_MAX_LENGTH, PortalForm

from ..access import staff_who_may_be_given_cases
from ..models import Case
from ..selectors.cases import DUE_SOON_DAYS
from ..services.fulfilment import REASON_MAX_LENGTH
from ..services.informed import SENT_BY

DATE_HELP = "dd/mm/yyyy"


class IntakeForm(PortalForm):
    customer_id = bounds.IntegerField(required=False, widget=forms.HiddenInput)
    rights = forms.MultipleChoiceField(
        choices=Case.Right.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Rights asked for",
        help_text="One case is opened per right; a letter asking for several makes linked cases.",
    )
    channel = forms.ChoiceField(choices=Case.Channel.choices, label="How the request arrived")
    received_on = bounds.DateField(label="Date received", help_text=DATE_HELP, initial=timezone.localdate)
    requester_name = forms.CharField(
        max_length=200,
        required=False,
        label="Requester's name",
        help_text="Needed when no customer record matches, or for a representative.",
    )
    requester_email = forms.EmailField(required=False, label="Requester's email")
    requester_phone = PhoneField(required=False, label="Requester's phone")
    requester_address = forms.CharField(max_length=400, required=False, label="Requester's postal address")
    acting_for_other = forms.BooleanField(required=False, label="The requester acts for the customer")
    representative_relationship = forms.CharField(
        max_length=100, required=False, label="Relationship", help_text="Solicitor, relative, attorney…"
    )
    authority_note = forms.CharField(max_length=500, required=False, label="Evidence of authority")
    description = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, required=False, label="What they asked for"
    )


class LinkCustomerForm(PortalForm):
    customer_id = bounds.IntegerField(label="Customer", widget=forms.HiddenInput)


class QueueFilterForm(PortalForm):
    status = forms.ChoiceField(choices=[("", "Open (all)"), ("closed", "Closed"), *Case.Status.choices], required=False)
    right = forms.ChoiceField(choices=[("", "Any right"), *Case.Right.choices], required=False)
    window = forms.ChoiceField(
        choices=[
            ("", "Any time"),
            ("overdue", "Overdue"),
            ("week", f"Due within {DUE_SOON_DAYS} days"),
            ("refused_late", "Refused after the time limit"),
        ],
        required=False,
        label="Due",
    )
    mine = forms.BooleanField(required=False, label="Only mine")
    after = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)


class AssignForm(PortalForm):
    handler = forms.ModelChoiceField(
        queryset=staff_who_may_be_given_cases().order_by("username"),
        label="Handler",
    )


class IdentityUploadForm(PortalForm):
    file = forms.FileField(label="Identity evidence", help_text="PDF, JPEG or PNG, at most 10 MB.")
    received_on = bounds.DateField(label="Date received", help_text=DATE_HELP, initial=timezone.localdate)


class IdentityDecisionForm(PortalForm):
    verified = forms.TypedChoiceField(
        choices=[("yes", "Identity confirmed"), ("no", "Not confirmed")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label="Decision",
    )
    note = forms.CharField(max_length=500, required=False, label="Note")


class ClarificationForm(PortalForm):
    question = forms.CharField(widget=forms.Textarea, max_length=1000, label="What we asked the requester")
    on = bounds.DateField(label="Date asked", help_text=DATE_HELP, initial=timezone.localdate)


class DateForm(PortalForm):
    on = bounds.DateField(label="Date", help_text=DATE_HELP, initial=timezone.localdate)


class SignoffRequestForm(PortalForm):
    kind = forms.ChoiceField(choices=Case.Signoff.choices, label="Ask the DPO to sign off")
    reason = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Reason")
    refusal_ground = forms.ChoiceField(
        choices=[("", "—"), *Case.RefusalGround.choices], required=False, label="Ground (for a refusal)"
    )


class CandidateKeysField(forms.MultipleChoiceField):
    """Keys like "case:12" or "complaint:5"; whether each was offered is the service's check."""

    widget = forms.MultipleHiddenInput

    def valid_value(self, value) -> bool:
        return bool(re.fullmatch(r"(case|complaint):\d{1,12}", str(value)))


class SignoffForm(PortalForm):
    approve = forms.TypedChoiceField(
        choices=[("yes", "Approve"), ("no", "Decline")], coerce=lambda v: v == "yes", widget=forms.RadioSelect,
        label="Decision",
    )  # fmt: skip
    note = forms.CharField(max_length=500, required=False, label="Note")
    notified_on = bounds.DateField(
        required=False,
        label="Date the requester was told",
        help_text="Needed to approve an extension or a refusal: the day the requester was told of it. " + DATE_HELP,
    )
    # Ticked in the erasure preview (its boxes belong to this form): requests and complaints
    # logged without choosing the customer that the DPO includes in the erasure.
    include = CandidateKeysField(required=False, label="")


class OutcomeForm(PortalForm):
    outcome = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="What was done")


class ReasonForm(PortalForm):
    reason = forms.CharField(max_length=500, label="Reason")


class NoteForm(PortalForm):
    text = forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=forms.Textarea, label="Note")


# --- Fulfilment ---------------------------------------------------------------------------------

FULFILMENT_REASON_HELP = "Kept in the customer record's history."


class RectifyForm(ContactForm):
    """The customer's contact details, pre-filled, to correct as the requester asked."""

    expected_version = bounds.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, label="Reason for the correction", help_text=FULFILMENT_REASON_HELP
    )

    @classmethod
    def for_customer(cls, customer) -> RectifyForm:
        return cls(initial={f: getattr(customer, f) for f in CONTACT_FIELDS} | {"expected_version": customer.version})


class RestrictionForm(PortalForm):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, label="Reason", help_text=FULFILMENT_REASON_HELP)


class InformForm(PortalForm):
    sent_by = forms.ChoiceField(
        choices=[(k.value, k.label) for k in SENT_BY], label="Sent to the requester by", widget=forms.RadioSelect
    )


class TaskDoneForm(PortalForm):
    task_id = bounds.IntegerField(widget=forms.HiddenInput)
