"""HTML and script typed into every field of the public forms stay text: escaped in the staff
pages and the requester's own page, plain text in every email (no HTML part, no header added by
a line break), and in the complaint bundle's PDF neither a script, an automatic action nor a
link (the PDF read back with pypdf)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from requests.models import Case, Complaint
from requests.services import links
from requests.services.bundle import bundle_zip

SCRIPT = "<script>alert(1)</script>"
PAYLOAD = f'{SCRIPT}<img src=x onerror=alert(2)><a href="javascript:alert(3)">click</a>'
SHORT = "<b onclick=x>"  # for the fields of 10 to 20 characters
RAW = ("<script>alert", "<img src=x", 'href="javascript:', "<b onclick")


def assert_inert(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def assert_plain_text(message) -> None:
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    for name, _ in message.items():
        assert name.lower() in {
            "content-type", "mime-version", "content-transfer-encoding", "subject", "from", "to", "date",
            "message-id", "x-smtpapi", "x-peer", "x-mailfrom", "x-rcptto",
        }, name  # fmt: skip


def _objects(obj, seen=None):
    """Every object reachable in a PDF from `obj` (dictionaries and arrays walked)."""
    seen = set() if seen is None else seen
    if isinstance(obj, IndirectObject):
        if (obj.idnum, obj.generation) in seen:
            return
        seen.add((obj.idnum, obj.generation))
        obj = obj.get_object()
    yield obj
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _objects(value, seen)
    elif isinstance(obj, list):
        for value in obj:
            yield from _objects(value, seen)


def assert_pdf_inert(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    names = set()
    for obj in _objects(reader.trailer):
        if isinstance(obj, dict):
            names.update(str(k) for k in obj)
            if obj.get("/S") is not None:
                names.add(f"action {obj['/S']}")
    for danger in ("/JavaScript", "/JS", "/OpenAction", "/AA", "/URI", "/Launch", "/Annots", "/AcroForm"):
        assert danger not in names, danger
    assert not [n for n in names if n.startswith("action ")]
    for page in reader.pages:
        assert "/Annots" not in page  # no link, no widget
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.django_db
def test_html_in_every_complaint_field_is_inert_in_the_staff_page_the_email_and_the_bundle_pdf(
    client,
    client_for,
    dpo,
    smtp_server,
):
    data = {
        "who": "other",
        "on_behalf_of": f"Sam {PAYLOAD}",
        "relationship": f"Carer {PAYLOAD}"[:100],
        "name": f"Jane {PAYLOAD}\r\nBcc: victim@example.org",
        "email": "jane.public@example.org",
        "phone": "",
        "address": f"1 High St {PAYLOAD}",
        "category": Complaint.Category.MARKETING,
        "description": f"What happened {PAYLOAD}",
        "remedy": f"Remedy {PAYLOAD}",
        "request_reference": SHORT,
        "website": "",
    }
    response = client.post(reverse("public_requests:complaint"), data)
    assert response.status_code == 200
    for raw in RAW:
        assert raw not in response.content.decode()
    complaint = Complaint.objects.get()
    assert SCRIPT in complaint.description and SCRIPT in complaint.on_behalf_of  # kept as typed: text

    assert_inert(client_for(dpo).get(complaint.get_absolute_url()).content.decode())

    (message,) = smtp_server.wait_for("jane.public@example.org")
    assert_plain_text(message)
    assert smtp_server.to("victim@example.org") == []

    _, archive = bundle_zip(complaint, actor=dpo)
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        (pdf_name,) = [n for n in bundle.namelist() if n.endswith(".pdf")]
        text = assert_pdf_inert(bundle.read(pdf_name))
    flat = " ".join(text.split())
    assert "alert(1)" in flat and "onerror=alert(2)" in flat  # shown as the text it is


@pytest.mark.django_db
def test_html_in_every_request_field_is_inert_for_the_handler_the_requester_and_in_the_emails(
    client,
    client_for,
    dpo,
    smtp_server,
):
    data = {
        "rights": ["access"],
        "who": "other",
        "subject_name": f"Sam {PAYLOAD}",
        "relationship": f"Parent {PAYLOAD}"[:100],
        "email": "rita.req@example.org",
        "name": f"Rita {PAYLOAD}",
        "phone": "",
        "postcode": "<b>x</b>",
        "account_reference": SHORT,
        "description": f"Details {PAYLOAD}",
        "website": "",
    }
    response = client.post(reverse("public_requests:request"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    code = re.search(r"\b(\d{6})\b", smtp_server.body(smtp_server.wait_for("rita.req@example.org")[0])).group(1)
    assert client.post(response["Location"], {"code": code}).status_code == 200
    case = Case.objects.get()
    assert SCRIPT in case.requester_name and SCRIPT in case.description

    handler_page = client_for(dpo).get(case.get_absolute_url()).content.decode()
    assert_inert(handler_page)
    queue = client_for(dpo).get(reverse("requests:queue")).content.decode()
    assert "<script>alert" not in queue
    own_page = client.get(reverse("public_requests:case", args=[links.link_token(case)])).content.decode()
    for raw in RAW:
        assert raw not in own_page

    client.post(reverse("public_requests:case_reply", args=[links.link_token(case)]), {"text": f"Reply {PAYLOAD}"})
    assert_inert(client_for(dpo).get(case.get_absolute_url()).content.decode())
    for message in smtp_server.to("rita.req@example.org"):
        assert_plain_text(message)
