"""The agent's desk: find a customer, read and edit contact details, record preferences."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from privacy_portal.access import requires
from privacy_portal.audit import access_record
from privacy_portal.forms import add_service_errors
from privacy_portal.history import timeline_page
from privacy_portal.models import AccessEvent
from privacy_portal.views.helpers import form_saved

from .. import access
from ..access import customer_for
from ..forms import (
    BereavementForm,
    BreakGlassForm,
    ContactEditForm,
    ContactForm,
    ObjectionForm,
    PreferenceForm,
    SearchForm,
)
from ..models import Bereavement, Customer, PreferenceChange, preference_label
from ..selectors.customers import customer_search
from ..services import customers as customer_services
from ..services import preferences as preference_services
from ..services.break_glass import customer_break_glass
from ..services.customers import CONTACT_FIELDS, StaleEditError
from ..services.legal_holds import customer_holds
from ..services.mps import customer_record_bereavement, mps_matches_of
from ..services.normalise import format_phone
from ..services.screening import screen_customer

Action = AccessEvent.Action
MSG_OBJECTED = "Objection recorded: all marketing on every channel is withdrawn."
MSG_BEREAVEMENT = "Bereavement recorded: all marketing on every channel is stopped."


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
    customer = customer_for(request.user, pk)
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/detail.html", customer_page_context(request.user, customer))


def customer_page_context(user, customer: Customer, *, break_glass: bool = False) -> dict:
    """The customer page's context, the same however the page is opened (the customer's link,
    break-glass): what it offers `user`, and the notices (deceased, legal holds, MPS) it shows."""
    bereavement = Bereavement.objects.filter(customer=customer).first()
    return {
        "actions": access.customer_actions(user, customer, bereavement=bereavement),
        "may_read_calls": access.may_read_calls(user, customer),
        "may_read_purchases": access.may_read_purchases(user, customer),
        "may_read_correspondence": access.may_read_correspondence(user, customer),
        "may_read_disclosures": access.may_read_disclosures(user, customer),
        "customer": customer,
        "phone_display": format_phone(customer.phone),
        "preferences": preference_services.preference_states(customer),
        "screenings": screen_customer(customer),
        "bereavement": bereavement,
        "mps_matches": mps_matches_of(customer),
        "today": timezone.localdate(),
        "holds": customer_holds(customer),
        "break_glass": break_glass,
    }


@requires("customers.add_customer")
@require_http_methods(["GET", "POST"])
def create(request):
    form = ContactForm(request.POST or None)
    saved = form_saved(
        request, form, customer_services.customer_create, message=lambda c: f"Customer {c.reference} created."
    )
    return saved or render(request, "customers/create.html", {"form": form})


@requires("customers.change_customer")
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    customer = customer_for(request.user, pk, need=access.CHANGE)
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


@requires("customers.add_preferencechange", object_perm=access.VIEW)
@require_http_methods(["GET", "POST"])
def record_preference(request, pk: int):
    customer = customer_for(request.user, pk)
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


@requires("customers.add_preferencechange", object_perm=access.VIEW)
@require_http_methods(["GET", "POST"])
def object_to_marketing(request, pk: int):
    customer = customer_for(request.user, pk)
    form = ObjectionForm(request.POST or None)
    save = partial(preference_services.customer_object_to_marketing, customer=customer)
    if saved := form_saved(request, form, save, message=lambda _: MSG_OBJECTED, to=customer):
        return saved
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/object_form.html", {"form": form, "customer": customer})


@requires("customers.add_bereavement", object_perm=access.VIEW)
@require_http_methods(["GET", "POST"])
def record_bereavement(request, pk: int):
    """The family tells us the customer has died: every marketing purpose stops on every channel."""
    customer = customer_for(request.user, pk)
    form = BereavementForm(request.POST or None, initial={"reported_on": timezone.localdate()})
    save = partial(customer_record_bereavement, customer=customer, source=Bereavement.Source.AGENT)
    if saved := form_saved(request, form, save, message=lambda _: MSG_BEREAVEMENT, to=customer):
        return saved
    access_record(request=request, action=Action.VIEW_CUSTOMER, customer_id=customer.pk, obj=customer)
    return render(request, "customers/bereavement_form.html", {"form": form, "customer": customer})


@requires(object_perm="customers.view_customer")
@require_GET
def history(request, pk: int):
    """The customer's change history, for anyone who may see the record: newest first, a page at a time."""
    customer = customer_for(request.user, pk)
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


@requires("privacy_portal.break_glass")
@require_http_methods(["GET", "POST"])
def break_glass(request):
    """A handler opens a customer outside its cases: only with a reason, flagged, DPO told."""
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_break_glass(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            context = customer_page_context(request.user, customer, break_glass=True)
            return render(request, "customers/detail.html", context)
    return render(request, "customers/break_glass.html", {"form": form})
