"""Who may see and change a customer and its case file: the one home of the customers app's
access rules (the mechanism itself is privacy_portal/access.py).

`customer_for(user, pk, need=...)` is the first line of every view that opens a customer: it
answers 404 to anyone the need is not granted to, by the model permission (the DPO, agents,
auditors) or on this customer (the per-case grant a handler holds: requests.services.grants).
The predicates answer the questions views, services and page contexts ask.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404
from django.shortcuts import get_object_or_404
from guardian.shortcuts import get_objects_for_user

from privacy_portal.access import CHECKS_NEED, fetches, get_for_user_or_404
from privacy_portal.models import User

from .models import Call, CampaignScreening, Customer, DiallerToken, InboundSms, MpsMatch

# Access levels for customer_for: the permission checked on the model or on the customer.
VIEW = "customers.view_customer"
CHANGE = "customers.change_customer"
DISCLOSURES = "customers.view_disclosure"
TRANSCRIPTS = "customers.view_transcript"
ADD_CORRESPONDENCE = "customers.add_correspondence"
VIEW_SCREENING = "customers.view_campaignscreening"
CHANGE_INBOUND_SMS = "customers.change_inboundsms"
VIEW_MPS_MATCH = "customers.view_mpsmatch"
CHANGE_MPS_MATCH = "customers.change_mpsmatch"
CHANGE_DIALLER_TOKEN = "customers.change_diallertoken"  # noqa: S105 (a permission, not a secret)


@fetches(CHECKS_NEED)
def customer_for(user, pk, *, need: str = VIEW) -> Customer:
    """The customer `pk`, or 404 for anyone without `need` on the model or on this customer."""
    return get_for_user_or_404(user, Customer, need, pk=pk)


@fetches(TRANSCRIPTS)
def call_for(user, pk) -> Call:
    """The call `pk`, with its customer, for whoever may read its transcript (may_read_transcripts):
    404 alike for a call that does not exist and one the user may not read."""
    call = get_object_or_404(Call.objects.select_related("customer"), pk=pk)
    if call.customer_id is None:
        # A caller never identified: only the model-wide permission can read it.
        if not may_read_transcripts(user, None):
            raise Http404
    else:
        customer_for(user, call.customer_id, need=TRANSCRIPTS)
    return call


@fetches(VIEW_SCREENING)
def screening_for(user, pk) -> CampaignScreening:
    """A campaign's screening (its call list), by the model permission: 404 for anyone else."""
    return get_for_user_or_404(user, CampaignScreening, VIEW_SCREENING, pk=pk)


@fetches(CHANGE_INBOUND_SMS)
def inbound_sms_for(user, pk) -> InboundSms:
    """A text message to mark handled, by the model permission: 404 for anyone else."""
    return get_for_user_or_404(user, InboundSms, CHANGE_INBOUND_SMS, pk=pk)


@fetches(CHANGE_DIALLER_TOKEN)
def dialler_token_for(user, pk) -> DiallerToken:
    """A dialler's token to revoke, by the model permission: 404 for anyone else."""
    return get_for_user_or_404(user, DiallerToken, CHANGE_DIALLER_TOKEN, pk=pk)


def may_open_customer(user, customer) -> bool:
    """Whether `user` may open the customer's page: what customer_for(need=VIEW) lets through."""
    return user.has_perm(VIEW) or user.has_perm(VIEW, customer)


def may_read_case_file(user, customer, model_perm: str) -> bool:
    """Model-level `model_perm` (DPO, auditors), or the per-case grant a handler holds on
    this customer (requests.services.grants: `customers.view_transcript` on the object)."""
    return user.has_perm(model_perm) or user.has_perm("customers.view_transcript", customer)


def may_read_calls(user, customer) -> bool:
    return may_read_case_file(user, customer, "customers.view_call")


def may_read_purchases(user, customer) -> bool:
    return may_read_case_file(user, customer, "customers.view_purchase")


def may_read_correspondence(user, customer) -> bool:
    return may_read_case_file(user, customer, "customers.view_correspondence")


def may_open_every_customer(user) -> bool:
    """The model permission (the DPO, agents, auditors): any customer, found by search."""
    return user.has_perm(VIEW)


def customers_open_to(user, ids: Iterable[int]) -> set[int]:
    """Which of the customers `ids` `user` may open (may_open_customer, in one query)."""
    ids = set(ids)
    if may_open_every_customer(user):
        return ids
    granted = get_objects_for_user(
        user, VIEW, klass=Customer.objects.filter(pk__in=ids), accept_global_perms=False, with_superuser=False
    )
    return set(granted.values_list("pk", flat=True))


def may_read_every_disclosure(user) -> bool:
    """Disclosures of every customer (a recipient's page lists them all): the model permission."""
    return user.has_perm(DISCLOSURES)


def may_override_restriction(user) -> bool:
    """Record a disclosure of a customer whose processing is restricted (UK GDPR Art 18(2))."""
    return user.has_perm("customers.override_restriction")


def may_change_deletion_tasks(user) -> bool:
    """Confirm deletions asked of outside stores (and so see each task's confirmation token)."""
    return user.has_perm("customers.change_deletiontask")


def may_issue_dialler_tokens(user) -> bool:
    """An active, approved DPO whose access has not ended, holding the permission: a token works
    only while its issuer is one (customers.services.dialler.issuer_may_act), so anyone else
    (a superuser in another role) would issue a token that never works."""
    return (
        user.has_perm("customers.add_diallertoken")
        and user.is_active
        and user.role == User.Role.DPO
        and user.approved_at is not None
        and not user.access_has_ended
    )


def may_review_mps_matches(user) -> bool:
    """The DPO: confirm or dismiss an MPS match at a former address."""
    return user.has_perms([VIEW_MPS_MATCH, CHANGE_MPS_MATCH])


@fetches(CHANGE_MPS_MATCH)
def mps_match_for(user, pk) -> MpsMatch:
    """An MPS match to review, by the model permission: 404 for anyone else."""
    return get_for_user_or_404(user, MpsMatch, CHANGE_MPS_MATCH, pk=pk)


def may_place_legal_holds(user) -> bool:
    """The DPO: a manual legal hold on a customer's records."""
    return user.has_perm("customers.add_legalhold")


def may_release_legal_holds(user) -> bool:
    return user.has_perm("customers.change_legalhold")


def may_read_disclosures(user, customer) -> bool:
    return user.has_perm(DISCLOSURES) or user.has_perm(DISCLOSURES, customer)


def may_record_disclosure(user, customer: Customer) -> bool:
    """A new disclosure of `customer`'s data: never for an erased customer."""
    return user.has_perm("customers.add_disclosure") and not customer.is_erased


def may_read_transcripts(user, customer: Customer | None) -> bool:
    """Transcripts of a customer's calls; a call whose caller was never identified
    (`customer` None) only by the model-wide permission."""
    if user.has_perm(TRANSCRIPTS):
        return True
    return customer is not None and user.has_perm(TRANSCRIPTS, customer)


def may_add_correspondence(user, customer: Customer) -> bool:
    return user.has_perm(ADD_CORRESPONDENCE) and not customer.is_erased


def _perm(name: str):
    return lambda user: user.has_perm(name)


# What a page may offer a user, whatever the object: read by templates as `may.<name>`
# (privacy_portal.context_processors.abilities), never as `perms.`.
ABILITIES = {
    "find_customers": may_open_every_customer,
    "create_customers": _perm("customers.add_customer"),
    "edit_contact_details": _perm(CHANGE),
    "record_preferences": _perm("customers.add_preferencechange"),
    "record_bereavements": _perm("customers.add_bereavement"),
    "read_legal_hold_reasons": _perm("customers.view_legalhold"),
    "place_legal_holds": may_place_legal_holds,
    "release_legal_holds": may_release_legal_holds,
    "review_mps_matches": may_review_mps_matches,
    # The list of every hold (customers.views.retention.legal_hold_list asks both).
    "open_legal_holds": lambda user: user.has_perms(["customers.view_legalhold", "customers.change_legalhold"]),
    "record_disclosures": _perm("customers.add_disclosure"),
    "import_disclosures": _perm("customers.import_disclosures"),
    "open_recipients": _perm("customers.view_recipient"),
    "add_recipients": _perm("customers.add_recipient"),
    "edit_recipients": _perm("customers.change_recipient"),
    "change_deletion_tasks": may_change_deletion_tasks,
    "read_missed_optouts": _perm("customers.view_breaches"),
    "import_preferences": _perm("customers.import_preferences"),
    "screen_campaigns": _perm("customers.add_campaignscreening"),
    # The tokens page (customers.views.dialler.dialler_token_list asks both).
    "manage_dialler_tokens": lambda user: user.has_perms(["customers.add_diallertoken", "customers.view_diallertoken"]),
    "export_list_unsubscribe": _perm("customers.export_list_unsubscribe"),
    "read_inbound_sms": _perm("customers.view_inboundsms"),
    "mark_inbound_sms_handled": _perm("customers.change_inboundsms"),
}


def customer_actions(user, customer: Customer, *, bereavement=None) -> dict[str, bool]:
    """What the customer page offers `user` on `customer`: nothing that changes an erased
    customer; an objection only once; a bereavement only once."""
    live = not customer.is_erased
    return {
        "edit_contact_details": live and user.has_perm(CHANGE),
        "record_preference": live and user.has_perm("customers.add_preferencechange"),
        "object_to_marketing": live
        and not customer.marketing_objected
        and user.has_perm("customers.add_preferencechange"),
        "record_bereavement": live and bereavement is None and user.has_perm("customers.add_bereavement"),
        "log_request": live and user.has_perm("requests.add_case"),
        "log_complaint": live and user.has_perm("requests.add_complaint"),
        "place_legal_hold": live and user.has_perm("customers.add_legalhold"),
    }
