"""The requester's addresses: the signed link to their secure page, and the complaint form.

Below both the case steps (whose emails carry the link) and the public door that reads it back
(requests.services.public.case_from_link), so neither imports the other for it.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core import signing
from django.urls import reverse

from customers.services.normalise import email_key

from ..models import Case

LINK_SALT = "requests.public.secure-page"


def email_tag(email: str) -> str:
    """A short digest of the verified address: a link stops working if the address changes."""
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:16]


def link_token(case: Case) -> str:
    """A signed token naming the case and the verified address it was sent to."""
    return signing.dumps({"c": case.pk, "e": email_tag(case.requester_email)}, salt=LINK_SALT, compress=True)


def link_url(case: Case) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("public_requests:case", args=[link_token(case)])


def complaint_url() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("public_requests:complaint")
