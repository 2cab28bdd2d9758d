"""Purchases: imported in bulk (all or nothing, once per order), read-only in the portal."""

from __future__ import annotations

import datetime
import decimal
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from customers.models import Customer, Purchase
from customers.services import imports
from customers.services import purchases as svc
from customers.services.preferences import ERR_ERASED
from privacy_portal import legal
from privacy_portal.models import AccessEvent
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db
HEADER = (
    "order_ref,customer_reference,ordered_on,description,amount,payment_method,instalments,instalment_amount,"
    "guarantee_until"
)


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def run_import(actor, data: bytes):
    return svc.purchase_import(actor=actor, file=io.BytesIO(data), name="orders.csv")


def rejection(actor, data: bytes) -> list[tuple[int | None, str, str]]:
    with pytest.raises(imports.ImportRejected) as info:
        run_import(actor, data)
    return [(e.line, e.column, e.message) for e in info.value.errors]


@pytest.fixture
def customer(db) -> Customer:
    return CustomerFactory()


# --- Import --------------------------------------------------------------------------------


def test_an_import_creates_each_purchase_with_its_plan_and_history(dpo, customer):
    ref = customer.reference
    result = run_import(
        dpo,
        csv_bytes(
            f"LMO-1,{ref},2025-06-01,Sovereign 2025 gold proof,1250.00,instalments,5,250.00,2027-06-01",
            f'LMO-2,{ref},2025-07-15,"Medal, framed",£49.5,card,,,',
        ),
    )
    assert (result.rows, result.created, result.already_present) == (2, 2, 0)
    plan = Purchase.objects.get(order_ref="LMO-1")
    assert plan.customer == customer
    assert (plan.amount, plan.instalments, plan.instalment_amount) == (
        decimal.Decimal("1250.00"),
        5,
        decimal.Decimal("250.00"),
    )
    assert plan.guarantee_until == datetime.date(2027, 6, 1)
    card = Purchase.objects.get(order_ref="LMO-2")
    assert (card.description, card.amount, card.instalments, card.guarantee_until) == (
        "Medal, framed",
        decimal.Decimal("49.50"),
        None,
        None,
    )
    history = plan.history.get()
    assert history.history_user == dpo
    assert history.history_change_reason == "Bulk import of purchases, line 2"


def test_reimporting_the_same_file_creates_nothing_twice(dpo, customer):
    data = csv_bytes(
        f"LMO-1,{customer.reference},2025-06-01,Sovereign,1250.00,card,,,",
        f"LMO-2,{customer.reference},2025-06-02,Crown,20.00,invoice,,,",
    )
    run_import(dpo, data)
    again = run_import(dpo, data)
    assert (again.created, again.already_present) == (0, 2)
    assert Purchase.objects.count() == 2
    assert Purchase.history.count() == 2


def test_an_order_detached_by_erasure_is_left_as_it_is_on_reimport(dpo, customer):
    purchase = PurchaseFactory(order_ref="LMO-9", customer=None, detached_at=timezone.now())
    customer.erased_at = timezone.now()
    customer.save()
    result = run_import(dpo, csv_bytes(f"LMO-9,{customer.reference},2025-06-01,Sovereign,10.00,card,,,"))
    assert (result.created, result.already_present) == (0, 1)
    purchase.refresh_from_db()
    assert purchase.customer is None


def test_one_bad_row_means_nothing_is_written_and_each_bad_row_is_listed_with_its_column(dpo, customer):
    ref = customer.reference
    erased = CustomerFactory(erased_at=timezone.now())
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    data = csv_bytes(
        f"LMO-1,{ref},2025-06-01,Sovereign,10.00,card,,,",
        f"LMO-1,{ref},2025-06-01,Sovereign again,10.00,card,,,",
        f",{ref},01/06/2025,,ten pounds,cheque,,,",
        f"LMO-3,{ref},{tomorrow},Crown,10.001,card,,,",
        f"LMO-4,{ref},2025-06-01,Crown,100.00,instalments,1,,",
        f"LMO-5,{ref},2025-06-01,Crown,100.00,card,4,25.00,",
        f"LMO-6,{ref},2025-06-01,Crown,100.00,instalments,4,25.00,2025-05-01",
        "LMO-7,C-999999,2025-06-01,Crown,100.00,card,,,",
        f"LMO-8,{erased.reference},2025-06-01,Crown,100.00,card,,,",
        f"LMO-10,{ref},2025-06-01,Crown,-5,finance,,12.00,",
    )
    amount_error = svc.ERR_AMOUNT.format(max="£99,999,999.99")
    assert rejection(dpo, data) == [
        (3, "order_ref", svc.ERR_DUPLICATE_ORDER.format(line=2)),
        (4, "order_ref", imports.ERR_REQUIRED),
        (4, "description", imports.ERR_REQUIRED),
        (4, "ordered_on", svc.ERR_DATE),
        (4, "amount", amount_error),
        (4, "payment_method", svc.ERR_PAYMENT_METHOD.format(choices="card, invoice, instalments, finance")),
        (5, "ordered_on", svc.ERR_ORDERED_FUTURE),
        (5, "amount", amount_error),
        (6, "instalments", svc.ERR_INSTALMENTS),
        (6, "instalment_amount", svc.ERR_PLAN_NEEDED),
        (7, "instalments", svc.ERR_NO_PLAN),
        (8, "guarantee_until", svc.ERR_GUARANTEE_BEFORE_ORDER),
        (9, "customer_reference", imports.ERR_UNKNOWN_CUSTOMER),
        (10, "customer_reference", ERR_ERASED),
        (11, "amount", amount_error),
        (11, "instalments", svc.ERR_PLAN_NEEDED),
    ]
    assert Purchase.objects.count() == 0
    assert Purchase.history.count() == 0


def test_a_wrong_header_is_refused(dpo):
    data = b"order,customer\nLMO-1,C-000001\n"
    assert rejection(dpo, data) == [(1, "", imports.ERR_HEADER.format(expected=HEADER))]


def test_the_command_imports_as_the_named_user(dpo, customer, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(f"LMO-1,{customer.reference},2025-06-01,Sovereign,10.00,card,,,"))
    out = io.StringIO()
    call_command("import_purchases", str(path), "--user", dpo.username, stdout=out)
    call_command("import_purchases", str(path), "--user", dpo.username, stdout=out)
    assert "Imported 1 purchase(s) from 1 row(s); 0 were already" in out.getvalue()
    assert "Imported 0 purchase(s) from 1 row(s); 1 were already in the portal" in out.getvalue()
    assert Purchase.objects.get().history.get().history_user == dpo


def test_the_command_lists_every_bad_row_and_fails_writing_nothing(dpo, customer, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        csv_bytes(
            f"LMO-1,{customer.reference},2025-06-01,Sovereign,10.00,card,,,",
            f"LMO-2,{customer.reference},2025-06-01,Sovereign,10.00,barter,,,",
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 1 problem"):
        call_command("import_purchases", str(path), "--user", dpo.username, stderr=err)
    assert err.getvalue().startswith("Line 3, column payment_method: Enter one of: card,")
    assert Purchase.objects.count() == 0


def test_the_command_needs_a_user_who_may_add_purchases(agent, customer, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(f"LMO-1,{customer.reference},2025-06-01,Sovereign,10.00,card,,,"))
    with pytest.raises(CommandError, match=r"does not have the permission customers\.add_purchase"):
        call_command("import_purchases", str(path), "--user", agent.username)
    assert Purchase.objects.count() == 0


# --- The read-only page --------------------------------------------------------------------


def url(customer: Customer) -> str:
    return reverse("customers:purchases", args=[customer.pk])


def test_the_url_is_named(customer):
    assert url(customer) == f"/customers/{customer.pk}/purchases/"


def test_the_dpo_sees_each_purchase_and_the_retention_note(client_for, dpo, customer):
    PurchaseFactory(
        customer=customer,
        order_ref="LMO-0000042",
        ordered_on=datetime.date(2025, 3, 14),
        description="Coronation medal",
        amount="1234.50",
        payment_method=Purchase.PaymentMethod.INSTALMENTS,
        instalments=10,
        instalment_amount="123.45",
        guarantee_until=datetime.date(2027, 3, 14),
    )
    PurchaseFactory(customer=customer, order_ref="LMO-0000043", guarantee_until=None)
    PurchaseFactory(order_ref="LMO-SOMEONE-ELSE")
    response = client_for(dpo).get(url(customer))
    assert response.status_code == 200
    content = response.content.decode()
    assert "LMO-0000042" in content and "LMO-0000043" in content
    assert "LMO-SOMEONE-ELSE" not in content
    assert "14 Mar 2025" in content and "Coronation medal" in content
    assert "£1,234.50" in content
    assert "Instalment plan" in content and "10 \N{MULTIPLICATION SIGN} £123.45" in content
    assert "14 Mar 2027" in content
    assert f"kept for {legal.PURCHASE_RETENTION_YEARS} years for guarantees and tax" in content
    assert "detached from them rather than deleted" in content


def test_viewing_purchases_is_recorded_as_a_read_of_personal_data(client_for, auditor, customer):
    client_for(auditor).get(url(customer))
    event = AccessEvent.objects.get()
    assert (event.user, event.action, event.customer_id) == (auditor, AccessEvent.Action.VIEW_PURCHASES, customer.pk)


def test_the_page_takes_the_same_number_of_queries_for_many_purchases(
    client_for, dpo, customer, django_assert_max_num_queries
):
    PurchaseFactory.create_batch(3, customer=customer)
    client = client_for(dpo)
    with django_assert_max_num_queries(12) as few:
        client.get(url(customer))
    PurchaseFactory.create_batch(40, customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url(customer))
    assert response.content.count(b"<tr>") == 43 + 1


def test_the_page_is_read_only(client_for, dpo, customer):
    assert client_for(dpo).post(url(customer)).status_code == 405


def test_an_unknown_customer_is_not_found(client_for, dpo):
    assert client_for(dpo).get("/customers/987654/purchases/").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    # Agents know the customer but may not see purchases; a handler or IT admin without the
    # customer may not even know it exists; someone with no role may not use the portal.
    [("agent", 403), ("handler", 404), ("itadmin", 404), ("nobody", 403), ("dpo", 200), ("auditor", 200)],
)
def test_who_may_see_a_customers_purchases(client_for, cast, customer, role, status):
    assert client_for(cast[role]).get(url(customer)).status_code == status
    assert AccessEvent.objects.filter(action=AccessEvent.Action.VIEW_PURCHASES).exists() == (status == 200)


def test_a_handler_granted_the_customer_of_a_case_still_may_not_see_its_purchases(client_for, handler, customer):
    PurchaseFactory(customer=customer, order_ref="LMO-CASE")
    assign_perm("customers.view_customer", handler, customer)
    response = client_for(handler).get(url(customer))
    assert response.status_code == 403
    assert b"LMO-CASE" not in response.content


def test_anonymous_visitors_are_sent_to_sign_in(client, customer):
    response = client.get(url(customer))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
