"""The disclosures part of `seed_demo`: what each demo purchase sent to the logistics partner and
to the payment or finance provider, recorded through the service (so the guards apply) by the
demo DPO. Idempotent: a recipient's reference already recorded is skipped."""

from __future__ import annotations

import datetime

from django.utils import timezone

from customers.models import Purchase, Recipient
from customers.services.disclosures import DisclosureRefused, disclosure_record
from privacy_portal.models import User

DEMO_ACTOR = "dpo"
# (recipient code, reference prefix, purpose, lawful basis, data categories) per payment method.
DELIVERY = ("parcelway", "PW", "order_delivery", "contract", ["identity", "contact", "order"])
PAYMENT: dict[str, tuple[str, str, str, str, list[str]]] = {
    Purchase.PaymentMethod.CARD: ("northgate-payments", "NP", "payment", "contract", ["identity", "payment"]),
    Purchase.PaymentMethod.FINANCE: (
        "halcyon-finance",
        "HF",
        "finance",
        "contract",
        ["identity", "contact", "order", "credit_finance"],
    ),
}


def seed_demo_disclosures(stdout) -> None:
    actor = User.objects.filter(username=DEMO_ACTOR).first()
    recipients = {r.code: r for r in Recipient.objects.all()}
    if actor is None or DELIVERY[0] not in recipients:
        return
    recorded = refused = 0
    purchases = Purchase.objects.filter(customer__isnull=False, customer__erased_at=None).select_related("customer")
    for purchase in purchases.order_by("ordered_on", "pk"):
        sent = timezone.make_aware(datetime.datetime.combine(purchase.ordered_on, datetime.time(10)))
        for kind in (DELIVERY, PAYMENT.get(purchase.payment_method)):
            if kind is None or kind[0] not in recipients:
                continue
            code, prefix, purpose, basis, categories = kind
            reference = f"{prefix}-{purchase.order_ref}"
            if recipients[code].disclosures.filter(recipient_reference=reference).exists():
                continue
            assert purchase.customer is not None  # filtered on it above
            try:
                disclosure_record(
                    actor=actor,
                    customer=purchase.customer,
                    recipient=recipients[code],
                    data_categories=categories,
                    purpose=purpose,
                    lawful_basis=basis,
                    disclosed_at=min(sent, timezone.now()),
                    recipient_reference=reference,
                )
            except DisclosureRefused:
                refused += 1  # a restricted customer, as it should be
            else:
                recorded += 1
    stdout.write(f"Demo disclosures: {recorded} recorded, {refused} refused by the guards.")
