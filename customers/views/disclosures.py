"""Recipients and disclosures: the recipient register, a customer's disclosures (Art 19),
recording one disclosure behind the guards, and bulk import with its report.

Need to know: the DPO sees and does everything; auditors read; a handler reads the
disclosures of the customers in its cases (object permission "customers.view_disclosure" on
the customer); agents see none.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal import bounds
from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent, LawfulBasis, SpecialCategoryCondition

from ..disclosure_selectors import (
    art19_recipients,
    customer_disclosure_history,
    customer_disclosures,
    recipient_disclosures,
)
from ..models import Customer, DataCategory, Disclosure, Recipient
from ..services.disclosure_import import CATEGORY_SEPARATOR, DISCLOSURE_HEADER, disclosure_import
from ..services.disclosures import DisclosureRefused, disclosure_record, restriction_applies
from ..services.imports import IMPORT_TIME_ZONE, MAX_IMPORT_BYTES, ImportRejected
from ..services.recipients import recipient_save

Action = AccessEvent.Action

# The import page lists at most this many problems or refused rows (the command lists them all).
MAX_LISTED = 1000
DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _after(request) -> int | None:
    value = request.GET.get("after", "")
    return bounds.parse_id(value)


# --- The recipient register ---------------------------------------------------------------------


class RecipientForm(forms.Form):
    name = forms.CharField(max_length=200)
    code = forms.SlugField(
        label="Short code",
        max_length=50,
        required=False,
        help_text="Used in import files. Made from the name if empty.",
    )
    category = forms.ChoiceField(choices=Recipient.Category.choices)
    role = forms.ChoiceField(choices=Recipient.Role.choices)
    country = forms.CharField(max_length=2, help_text="Two-letter code (ISO 3166-1): GB, IE, US…")
    country_adequate = forms.BooleanField(label="The country has UK adequacy", required=False)
    transfer_mechanism = forms.ChoiceField(
        choices=Recipient.TransferMechanism.choices,
        required=False,
        help_text="Needed outside the UK where the country has no UK adequacy.",
    )
    tra_date = bounds.DateField(
        label="Transfer risk assessment date",
        required=False,
        help_text="dd/mm/yyyy",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    tra_reference = forms.CharField(label="Transfer risk assessment reference", max_length=100, required=False)
    agreement_reference = forms.CharField(
        label="Contract or data-processing agreement",
        max_length=100,
        required=False,
        help_text="Required for processors.",
    )
    agreement_renews_on = bounds.DateField(
        label="Agreement renewal date", required=False, help_text="dd/mm/yyyy", input_formats=["%d/%m/%Y", "%Y-%m-%d"]
    )
    contact = forms.CharField(max_length=300, help_text="Who to tell about a rectification, erasure or restriction.")
    holds_call_data = forms.BooleanField(
        label="Holds call audio or transcripts",
        required=False,
        help_text="Asked to delete its copies (a deletion task) whenever calls are purged or erased.",
    )
    active = forms.BooleanField(required=False, initial=True)


class RecipientEditForm(RecipientForm):
    reason = forms.CharField(max_length=100, help_text="Why the entry changes (kept in its history).")


@requires("customers.view_recipient")
@require_GET
def recipients(request):
    rows = Recipient.objects.order_by("name")
    today = timezone.localdate()
    for recipient in rows:
        recipient.lapsed = recipient.agreement_lapsed(today)
    return render(request, "customers/recipients.html", {"recipients": rows})


@requires("customers.view_recipient")
@require_GET
def recipient_detail(request, pk: int):
    recipient = get_object_or_404(Recipient, pk=pk)
    page = None
    if request.user.has_perm("customers.view_disclosure"):
        page = recipient_disclosures(recipient, after=_after(request))
        access_record(
            request=request,
            action=Action.VIEW_DISCLOSURES,
            obj=recipient,
            result_ids=[d.customer_id for d in page.rows],
        )
    context = {
        "recipient": recipient,
        "lapsed": recipient.agreement_lapsed(timezone.localdate()),
        "page": page,
        "history": recipient.history.select_related("history_user").order_by("-history_date")[:20],
    }
    return render(request, "customers/recipient_detail.html", context)


@requires("customers.add_recipient")
@require_http_methods(["GET", "POST"])
def recipient_create(request):
    form = RecipientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recipient = recipient_save(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{recipient.name} added to the register.")
            return redirect(recipient)
    return render(request, "customers/recipient_form.html", {"form": form, "title": "Add a recipient"})


@requires("customers.change_recipient")
@require_http_methods(["GET", "POST"])
def recipient_edit(request, pk: int):
    recipient = get_object_or_404(Recipient, pk=pk)
    initial = {f: getattr(recipient, f) for f in RecipientForm.base_fields}
    form = RecipientEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            recipient_save(actor=request.user, recipient=recipient, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{recipient.name} updated.")
            return redirect(recipient)
    context = {"form": form, "title": f"Edit {recipient.name}", "recipient": recipient}
    return render(request, "customers/recipient_form.html", context)


# --- A customer's disclosures -------------------------------------------------------------------


def _disclosures_customer(request, pk: int) -> Customer:
    return get_for_user_or_404(request.user, Customer, "customers.view_disclosure", pk=pk)


@requires("privacy_portal.use_portal", object_perm="customers.view_disclosure")
@require_GET
def customer_disclosures_tab(request, pk: int):
    customer = _disclosures_customer(request, pk)
    page = customer_disclosures(customer, after=_after(request))
    access_record(request=request, action=Action.VIEW_DISCLOSURES, customer_id=customer.pk, obj=customer)
    context = {
        "customer": customer,
        "recipients": art19_recipients(customer) if not request.GET.get("after") else None,
        "page": page,
    }
    return render(request, "customers/disclosures.html", context)


@requires("privacy_portal.use_portal", object_perm="customers.view_disclosure")
@require_GET
def customer_disclosure_history_view(request, pk: int):
    customer = _disclosures_customer(request, pk)
    rows = list(customer_disclosure_history(customer)[:500])
    access_record(request=request, action=Action.VIEW_DISCLOSURES, customer_id=customer.pk, obj=customer)
    return render(request, "customers/disclosure_history.html", {"customer": customer, "rows": rows})


class DisclosureForm(forms.Form):
    recipient = forms.ModelChoiceField(queryset=Recipient.objects.order_by("name"), empty_label="Choose a recipient")
    data_categories = forms.MultipleChoiceField(
        label="Data disclosed", choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.ChoiceField(choices=[("", "Choose a purpose"), *Disclosure.Purpose.choices])
    lawful_basis = forms.ChoiceField(choices=[("", "Choose a lawful basis"), *LawfulBasis.choices])
    sensitive = forms.BooleanField(label="Includes sensitive data (UK GDPR Art 9)", required=False)
    special_category_condition = forms.ChoiceField(
        label="Art 9 condition",
        choices=[("", "None (no sensitive data)"), *SpecialCategoryCondition.choices],
        required=False,
        help_text="Only for sensitive data.",
    )
    disclosed_at = bounds.DateTimeField(
        label="When",
        help_text="dd/mm/yyyy hh:mm",
        initial=lambda: timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        input_formats=DATETIME_FORMATS,
    )
    recipient_reference = forms.CharField(
        label="Recipient's reference",
        max_length=100,
        required=False,
        help_text="Their application, consignment or debt file number.",
    )
    override_reason = forms.CharField(
        label="Override the restriction: reason (DPO only)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only for a legal obligation or legal claims (Art 18(2)). Kept with the disclosure and its history.",
    )

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]
        self.fields["recipient"].label_from_instance = lambda r: r.name if r.active else f"{r.name} (inactive)"


@requires("customers.add_disclosure")
@require_http_methods(["GET", "POST"])
def disclosure_add(request, pk: int):
    customer = _disclosures_customer(request, pk)
    restricted = restriction_applies(customer, timezone.now())
    may_override = restricted and request.user.has_perm("customers.override_restriction")
    form = DisclosureForm(request.POST or None, may_override=may_override)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            disclosure_record(actor=request.user, customer=customer, **form.cleaned_data)
        except DisclosureRefused as exc:
            refused = exc
            form.add_error(None, exc.messages)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Disclosure recorded.")
            return redirect("customers:disclosures", pk=customer.pk)
    else:
        access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    context = {"form": form, "customer": customer, "restricted": restricted, "refused": refused}
    return render(request, "customers/disclosure_form.html", context)


# --- Bulk import --------------------------------------------------------------------------------


class DisclosureImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV (.csv), at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


@requires("customers.import_disclosures")
@require_http_methods(["GET", "POST"])
def import_disclosures(request):
    form = DisclosureImportForm(request.POST, request.FILES) if request.method == "POST" else DisclosureImportForm()
    rejected = result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = disclosure_import(actor=request.user, file=upload, name=upload.name)
        except ImportRejected as exc:
            rejected = exc
    context = {
        "form": form,
        "rejected": rejected,
        "errors": rejected.errors[:MAX_LISTED] if rejected else [],
        "more_errors": max(len(rejected.errors) - MAX_LISTED, 0) if rejected else 0,
        "result": result,
        "refused": result.refused[:MAX_LISTED] if result else [],
        "more_refused": max(len(result.refused) - MAX_LISTED, 0) if result else 0,
        "header": ",".join(DISCLOSURE_HEADER),
        "separator": CATEGORY_SEPARATOR,
        "recipients": Recipient.objects.order_by("name").only("code", "name", "active"),
        "categories": DataCategory.choices,
        "purposes": Disclosure.Purpose.choices,
        "bases": LawfulBasis.choices,
        "conditions": SpecialCategoryCondition.choices,
        "time_zone": str(IMPORT_TIME_ZONE),
    }
    return render(request, "customers/import_disclosures.html", context)


urlpatterns = [
    path("recipients/", recipients, name="recipients"),
    path("recipients/new/", recipient_create, name="recipient_create"),
    path("recipients/<int:pk>/", recipient_detail, name="recipient"),
    path("recipients/<int:pk>/edit/", recipient_edit, name="recipient_edit"),
    path("<int:pk>/disclosures/", customer_disclosures_tab, name="disclosures"),
    path("<int:pk>/disclosures/new/", disclosure_add, name="disclosure_add"),
    path("<int:pk>/disclosures/history/", customer_disclosure_history_view, name="disclosure_history"),
    path("import/disclosures/", import_disclosures, name="import_disclosures"),
]
