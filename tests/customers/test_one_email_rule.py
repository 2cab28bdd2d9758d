"""One rule for an email address wherever it comes in (hostile review): the public form compared
addresses in their compatibility form (NFKC: full-width "example" is "example"), staff-entered
ones were only trimmed and lower-cased, so the same person typed by an agent and by themselves
were two addresses, and a public form's per-address limit could be dodged by typing it wide."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers.selectors.customers import customer_search
from customers.services.customers import customer_create
from customers.services.normalise import email_key, normalise_email
from requests.models import Case, Complaint
from requests.services.cases import case_log
from requests.services.complaints import complaint_log
from requests.services.links import email_tag

pytestmark = pytest.mark.django_db

WIDE = "Rita.Req@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org"  # full-width "example"
PLAIN = "rita.req@example.org"


def test_the_staff_rule_is_the_public_forms_rule():
    assert normalise_email(WIDE) == email_key(WIDE) == PLAIN
    assert normalise_email(f"  {WIDE}\u00a0") == PLAIN  # a no-break space pasted at the end


def test_an_agent_typing_a_full_width_address_stores_the_address_it_is(agent):
    customer = customer_create(actor=agent, first_name="Rita", last_name="Req", email=WIDE)
    customer.refresh_from_db()
    assert customer.email == PLAIN


def test_a_customer_is_found_by_a_full_width_address(agent):
    customer = customer_create(actor=agent, first_name="Rita", last_name="Req", email=PLAIN)
    assert customer_search(WIDE).customers == [customer]
    assert customer_search("Rita.Req@\uff45\uff58").customers == [customer]  # a prefix, typed wide


def test_a_request_and_a_complaint_logged_by_staff_store_the_address_it_is(agent):
    today = timezone.localdate()
    [case] = case_log(actor=agent, rights=[Case.Right.ACCESS], channel=Case.Channel.choices[0][0], received_on=today,
                      requester_name="Rita Req", requester_email=WIDE)  # fmt: skip
    complaint = complaint_log(actor=agent, received_on=today, channel=Case.Channel.choices[0][0],
                              category=Complaint.Category.choices[0][0], description="No reply",
                              complainant_name="Rita Req", complainant_email=WIDE)  # fmt: skip
    assert case.requester_email == PLAIN and complaint.complainant_email == PLAIN


def test_the_secure_page_tag_is_the_same_for_both_forms_of_an_address():
    assert email_tag(WIDE) == email_tag(PLAIN)


def test_a_public_forms_per_address_limit_counts_both_forms_of_an_address_as_one():
    from requests.public_limits import _email_key

    assert _email_key(WIDE)("group", None) == _email_key(PLAIN)("group", None)
