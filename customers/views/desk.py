"""The agent's desk: find a customer, read and edit contact details, record preferences."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal import bounds
from privacy_portal.access import get_for_user_or_404, requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.models import AccessEvent

from ..access import may_read_case_file
from ..forms import ContactEditForm, ContactForm, ObjectionForm, PreferenceForm, SearchForm
from ..models import Bereavement, Customer, PreferenceChange, preference_label
from ..selectors import customer_search
from ..services import customers as customer_services
from ..services import preferences as preference_services
from ..services.customers import CONTACT_FIELDS, StaleEditError
from ..services.legal_holds import customer_holds
from ..services.normalise import format_phone
from ..services.screening import screen_customer

Action = AccessEvent.Action


def _customer(request, pk: int, perm: str = "customers.view_customer") -> Customer:
    return get_for_user_or_404(request.user, Customer, perm, pk=pk)


@requires("customers.view_customer")
@require_GET
def search(request):
    form = SearchForm(request.GET or None)
    result = None
    if form.is_valid() and form.cleaned_data["q"]:
        result = customer_search(form.cleaned_data["q"], after=form.cleaned_data["after"])
        # A search is a read of personal data: record that it happened and whom it returned,
        # never the words typed (themselves personal data).
        access_record(
            request=request,
            action=Action.SEARCH,
            result_ids=[c.pk for c in result.customers],
            search_kind=result.kind,
        )
    template = "customers/_results.html" if request.htmx else "customers/search.html"
    return render(request, template, {"form": form, "result": result, "q": form.data.get("q", "")})


@requires(object_perm="customers.view_customer")
@require_GET
def detail(request, pk: int):
    customer = _customer(request, pk)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    user = request.user
    context = {
        "may_read_calls": may_read_case_file(user, customer, "customers.view_call"),
        "may_read_purchases": may_read_case_file(user, customer, "customers.view_purchase"),
        "may_read_correspondence": may_read_case_file(user, customer, "customers.view_correspondence"),
        "may_read_disclosures": user.has_perm("customers.view_disclosure")
        or user.has_perm("customers.view_disclosure", customer),
        "customer": customer,
        "phone_display": format_phone(customer.phone),
        "preferences": preference_services.preference_states(customer),
        "screenings": screen_customer(customer),
        "bereavement": Bereavement.objects.filter(customer=customer).first(),
        "mps_matches": customer.mps_matches.select_related("mps_file").order_by("-matched_at")[:5],
        "today": timezone.localdate(),
        "holds": customer_holds(customer),
    }
    return render(request, "customers/detail.html", context)


@requires("customers.add_customer")
@require_http_methods(["GET", "POST"])
def create(request):
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_services.customer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Customer {customer.reference} created.")
            return redirect(customer)
    return render(request, "customers/create.html", {"form": form})


@requires("customers.change_customer")
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    customer = _customer(request, pk, "customers.change_customer")
    initial = {f: getattr(customer, f) for f in CONTACT_FIELDS} | {"version": customer.version}
    initial["phone"] = format_phone(customer.phone)
    form = ContactEditForm(request.POST or None, initial=initial)
    stale_changes = None
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in CONTACT_FIELDS}
        try:
            customer_services.customer_update_contact(
                actor=request.user,
                customer_id=customer.pk,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                **data,
            )
        except StaleEditError as exc:
            stale_changes = exc.changes
            form.add_error(None, exc.messages)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Contact details saved.")
            return redirect(customer)
    else:
        access_record(request=request, action=Action.EDIT_FORM, customer_id=customer.pk, obj=customer)
    context = {"form": form, "customer": customer, "stale_changes": stale_changes}
    return render(request, "customers/edit.html", context)


@requires("customers.add_preferencechange")
@require_http_methods(["GET", "POST"])
def record_preference(request, pk: int):
    customer = _customer(request, pk)
    form = PreferenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        purpose, channel = form.cleaned_data["preference"]
        try:
            change, created = preference_services.preference_record(
                actor=request.user,
                customer=customer,
                purpose=purpose,
                channel=channel,
                granted=form.cleaned_data["action"] == "opt_in",
                source=form.cleaned_data["source"],
                received_at=form.cleaned_data["received_at"],
                evidence=form.cleaned_data["evidence"],
                notice_version=form.cleaned_data["notice_version"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _preference_message(change, created))
            return redirect(customer)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/preference_form.html", {"form": form, "customer": customer})


def _preference_message(change, created: bool) -> str:
    label = preference_label(change.purpose, change.channel)
    verb = "Opt-in" if change.granted else "Opt-out"
    when = f"{change.takes_effect_by:%-d %B %Y}"
    if not created:
        return f"Already recorded: {verb.lower()} of {label.lower()}, in effect by {when}. Nothing changed."
    if change.granted:
        return f"{verb} recorded: {label.lower()}, in effect from {when}."
    return f"{verb} recorded: {label.lower()}. It takes effect by {when}."


@requires("customers.add_preferencechange")
@require_http_methods(["GET", "POST"])
def object_to_marketing(request, pk: int):
    customer = _customer(request, pk)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            preference_services.customer_object_to_marketing(actor=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Objection recorded: all marketing on every channel is withdrawn.")
            return redirect(customer)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/object_form.html", {"form": form, "customer": customer})


class BereavementForm(forms.Form):
    reported_on = bounds.DateField(label="Date the family told us", help_text="dd/mm/yyyy")
    evidence = forms.CharField(
        max_length=500,
        required=False,
        label="Who told us and how",
        help_text="For example: son, by phone; death certificate seen. No more personal data.",
    )


@requires("customers.add_bereavement")
@require_http_methods(["GET", "POST"])
def record_bereavement(request, pk: int):
    """The family tells us the customer has died: every marketing purpose stops on every channel."""
    from ..services.mps import customer_record_bereavement

    customer = _customer(request, pk)
    form = BereavementForm(request.POST or None, initial={"reported_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            customer_record_bereavement(actor=request.user, customer=customer, source=Bereavement.Source.AGENT,
                                        **form.cleaned_data)  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Bereavement recorded: all marketing on every channel is stopped.")
            return redirect(customer)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/bereavement_form.html", {"form": form, "customer": customer})


@requires(object_perm="customers.view_customer")
@require_GET
def history(request, pk: int):
    """The customer's change history, for anyone who may see the record: newest first, a page at a time."""
    from privacy_portal.history import timeline_page

    customer = _customer(request, pk)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    scope = {
        "customers.Customer": Customer.history.filter(id=customer.pk),
        "customers.PreferenceChange": PreferenceChange.history.filter(customer_id=customer.pk),
    }
    entries, next_cursor = timeline_page(
        scope, cursor=request.GET.get("cursor", ""), exclude={"version"}, record_label=_history_label
    )
    context = {"customer": customer, "entries": entries, "next_cursor": next_cursor, "paged": "cursor" in request.GET}
    return render(request, "customers/history.html", context)


def _history_label(record) -> str:
    if isinstance(record, PreferenceChange.history.model):
        return f"Preference: {preference_label(record.purpose, record.channel)}"
    return "Contact details"


BREAK_GLASS_MIN_WORDS = 4
ERR_BREAK_GLASS_REASON = "Give a real reason, in a sentence: why your work needs this customer now."


class BreakGlassForm(forms.Form):
    reference = forms.CharField(max_length=20, label="Customer reference", help_text="For example C-000123.")
    reason = forms.CharField(
        widget=forms.Textarea,
        min_length=15,
        max_length=500,
        label="Why you need this customer",
        help_text="Recorded, flagged, and sent to the DPO. Say why in a sentence; do not write the customer's details.",
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if len(reason.split()) < BREAK_GLASS_MIN_WORDS:
            raise forms.ValidationError(ERR_BREAK_GLASS_REASON)
        return reason


@requires("privacy_portal.break_glass")
@require_http_methods(["GET", "POST"])
def break_glass(request):
    """A handler opens a customer outside its cases: only with a reason, flagged, DPO told."""
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pk = Customer.pk_from_reference(form.cleaned_data["reference"])
        customer = Customer.objects.filter(pk=pk).first() if pk else None
        if customer is None:
            form.add_error("reference", "No customer has that reference.")
        else:
            reason = form.cleaned_data["reason"]
            access_record(request=request, action=Action.BREAK_GLASS, customer_id=customer.pk, obj=customer,
                          reason=reason, flagged=True)  # fmt: skip
            _tell_dpo_of_break_glass(request.user, customer)
            context = {
                "customer": customer,
                "phone_display": format_phone(customer.phone),
                "preferences": preference_services.preference_states(customer),
                "screenings": screen_customer(customer),
                "today": timezone.localdate(),
                "break_glass": True,
            }
            return render(request, "customers/detail.html", context)
    return render(request, "customers/break_glass.html", {"form": form})


def _tell_dpo_of_break_glass(user, customer) -> None:
    from django.conf import settings
    from django.core.mail import send_mail

    # Ids only: the email leaves the portal.
    send_mail(
        "Privacy Portal: break-glass access",
        f"Staff #{user.pk} ({user.get_role_display()}) opened customer {customer.reference} outside their cases "
        "and gave a reason. Review it in the access log.",
        settings.DEFAULT_FROM_EMAIL,
        [settings.DPO_EMAIL],
    )


urlpatterns = [
    path("break-glass/", break_glass, name="break_glass"),
    path("", search, name="search"),
    path("new/", create, name="create"),
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/edit/", edit, name="edit"),
    path("<int:pk>/preferences/", record_preference, name="record_preference"),
    path("<int:pk>/object/", object_to_marketing, name="object"),
    path("<int:pk>/bereavement/", record_bereavement, name="bereavement"),
    path("<int:pk>/history/", history, name="history"),
]
