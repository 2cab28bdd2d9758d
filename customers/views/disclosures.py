"""Recipients and disclosures: the recipient register, a customer's disclosures (Art 19),
recording one disclosure behind the guards, and bulk import with its report.

Need to know: the DPO sees and does everything; auditors read; a handler reads the
disclosures of the customers in its cases (object permission "customers.view_disclosure" on
the customer); agents see none.
"""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal import bounds
from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent, LawfulBasis, SpecialCategoryCondition
from privacy_portal.views.helpers import form_saved

from .. import access
from ..access import customer_for
from ..forms import DisclosureForm, DisclosureImportForm, RecipientEditForm, RecipientForm
from ..models import Customer, DataCategory, Disclosure, Recipient
from ..selectors.disclosures import (
    art19_recipients,
    customer_disclosure_history,
    customer_disclosures,
    recipient_disclosures,
)
from ..services.disclosure_import import CATEGORY_SEPARATOR, DISCLOSURE_HEADER, disclosure_import
from ..services.disclosures import DisclosureRefused, disclosure_record, restriction_applies
from ..services.imports import IMPORT_TIME_ZONE, ImportRejected
from ..services.recipients import recipient_save

Action = AccessEvent.Action

# The import page lists at most this many problems or refused rows (the command lists them all).
MAX_LISTED = 1000


def _after(request) -> int | None:
    value = request.GET.get("after", "")
    return bounds.parse_id(value)


# --- The recipient register ---------------------------------------------------------------------


@requires("customers.view_recipient")
@require_GET
def recipients(request):
    rows = Recipient.objects.order_by("name")
    today = timezone.localdate()
    for recipient in rows:
        recipient.lapsed = recipient.agreement_lapsed(today)  # type: ignore[attr-defined]  # for the page, not a field
    return render(request, "customers/recipients.html", {"recipients": rows})


@requires("customers.view_recipient")
@require_GET
def recipient_detail(request, pk: int):
    recipient = get_object_or_404(Recipient, pk=pk)
    page = None
    if access.may_read_every_disclosure(request.user):
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
    saved = form_saved(request, form, recipient_save, message=lambda r: f"{r.name} added to the register.")
    return saved or render(request, "customers/recipient_form.html", {"form": form, "title": "Add a recipient"})


@requires("customers.change_recipient")
@require_http_methods(["GET", "POST"])
def recipient_edit(request, pk: int):
    recipient = get_object_or_404(Recipient, pk=pk)
    initial = {f: getattr(recipient, f) for f in RecipientForm.base_fields}
    form = RecipientEditForm(request.POST or None, initial=initial)
    save = partial(recipient_save, recipient=recipient)
    if saved := form_saved(request, form, save, message=lambda r: f"{r.name} updated."):
        return saved
    context = {"form": form, "title": f"Edit {recipient.name}", "recipient": recipient}
    return render(request, "customers/recipient_form.html", context)


# --- A customer's disclosures -------------------------------------------------------------------


def _disclosures_customer(request, pk: int) -> Customer:
    return customer_for(request.user, pk, need=access.DISCLOSURES)


@requires("privacy_portal.use_portal", object_perm="customers.view_disclosure")
@require_GET
def customer_disclosures_tab(request, pk: int):
    customer = _disclosures_customer(request, pk)
    page = customer_disclosures(customer, after=_after(request))
    access_record(request=request, action=Action.VIEW_DISCLOSURES, customer_id=customer.pk, obj=customer)
    context = {
        "customer": customer,
        "may_open_customer": access.may_open_customer(request.user, customer),
        "may_record_disclosure": access.may_record_disclosure(request.user, customer),
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


@requires("customers.add_disclosure", object_perm=access.DISCLOSURES)
@require_http_methods(["GET", "POST"])
def disclosure_add(request, pk: int):
    customer = _disclosures_customer(request, pk)
    restricted = restriction_applies(customer, timezone.now())
    may_override = restricted and access.may_override_restriction(request.user)
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
