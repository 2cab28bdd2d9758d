"""The requester's secure page, reached by a signed, expiring link: status in words, dates,
messages, a reply that answers a clarification (the clock resumes as the clock function says),
identity evidence, and the export, downloaded a few times within its 30 days, each recorded."""

from __future__ import annotations

import datetime
import re
import types
import zipfile
from io import BytesIO

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from privacy_portal import legal
from privacy_portal.models import AccessEvent
from privacy_portal.private_storage import ERR_TYPE, private_path
from requests.models import Case, CaseCorrespondence, CaseDocument
from requests.services import cases as case_svc
from requests.services import links
from requests.services import public as svc
from requests.services.export.datasets import _accessed_by
from tests.factories import CaseFactory, CustomerFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def web_case(db, handler, dpo):
    case = CaseFactory(
        channel=Case.Channel.WEB_FORM,
        customer=CustomerFactory(email="pat@example.org"),
        requester_name="Pat Online",
        requester_email="pat@example.org",
        email_verified_at=timezone.now(),
        received_on=timezone.localdate() - datetime.timedelta(days=10),
    )
    case_svc.case_assign(actor=dpo, case=case, handler=handler)
    return case


def page_url(case: Case, name: str = "case") -> str:
    return reverse(f"public_requests:{name}", args=[links.link_token(case)])


@pytest.mark.django_db
def test_the_page_shows_status_in_words_and_dates_and_records_the_read_with_the_requester_as_actor(client, web_case):
    response = client.get(page_url(web_case))
    assert response.status_code == 200
    html = response.content.decode()
    assert web_case.reference in html and svc.STATUS_WORDS[Case.Status.RECEIVED] in html
    assert f"{web_case.due_on:%-d %B %Y}" in html
    assert "Sign out" not in html
    event = AccessEvent.objects.get(action=AccessEvent.Action.REQUESTER_VIEW)
    assert event.user is None and event.details == {"actor": svc.REQUESTER_ACTOR, "case_id": web_case.pk}
    assert event.customer_id == web_case.customer_id
    # "Who has seen my data" names the requester's own reads as theirs.
    assert _accessed_by(event) == "You, through your secure page"


@pytest.mark.django_db
def test_an_edited_link_opens_nothing(client, web_case):
    other = CaseFactory(requester_email="other@example.org", email_verified_at=timezone.now())
    token = links.link_token(web_case)
    forged = token.replace(token.split(":")[0], links.link_token(other).split(":")[0])
    for bad in (forged, token[:-2] + ("aa" if not token.endswith("aa") else "bb"), "x"):
        response = client.get(reverse("public_requests:case", args=[bad]))
        assert response.status_code == 404
        assert other.reference not in response.content.decode()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.REQUESTER_VIEW).exists()


@pytest.mark.django_db
def test_an_expired_link_is_refused_and_offers_a_new_one(client, web_case, monkeypatch):
    past = timezone.now().timestamp() - (legal.PUBLIC_LINK_DAYS + 1) * 86400
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: past))
    token = links.link_token(web_case)
    monkeypatch.undo()
    response = client.get(reverse("public_requests:case", args=[token]))
    assert response.status_code == 410
    assert "expired" in response.content.decode() and reverse("public_requests:resend") in response.content.decode()


@pytest.mark.django_db
def test_a_new_link_goes_only_to_the_verified_address_and_the_answer_is_the_same(client, web_case, smtp_server):
    url = reverse("public_requests:resend")
    right = client.post(url, {"reference": web_case.reference, "email": "pat@example.org", "website": ""})
    wrong = client.post(url, {"reference": web_case.reference, "email": "thief@example.org", "website": ""})

    def page(response) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert page(right) == page(wrong)
    (message,) = smtp_server.wait_for("pat@example.org")
    assert "/p/case/" in smtp_server.body(message)
    assert not smtp_server.to("thief@example.org")


@pytest.mark.django_db
def test_a_clarification_answered_on_the_page_resumes_the_clock_as_the_clock_function_says(client, web_case, handler):
    case_svc.case_start(actor=handler, case=web_case)
    asked = web_case.received_on + datetime.timedelta(days=2)
    case_svc.case_request_clarification(actor=handler, case=web_case, question="Which account?", on=asked)
    web_case.refresh_from_db()
    before = web_case.due_on
    response = client.post(page_url(web_case, "case_reply"), {"text": "The one in my married name."})
    assert response.status_code == 302
    web_case.refresh_from_db()
    assert web_case.status == Case.Status.IN_PROGRESS
    # The due date as the clock function makes it: the days not counted added, then recomputed.
    expected = Case(clock_started_on=web_case.clock_started_on, extended=False)
    expected.stopped_days = legal.clock_paused_days(asked, timezone.localdate())
    case_svc.recompute_due(expected)
    assert web_case.due_on == expected.due_on and web_case.due_on > before
    assert web_case.stops.get().ended_on == timezone.localdate()
    assert "answered by the requester on the secure page" in web_case.history.first().history_change_reason
    reply = CaseCorrespondence.objects.get(case=web_case, from_requester=True)
    assert reply.direction == "inbound" and reply.summary == "The one in my married name."


@pytest.mark.django_db
def test_identity_evidence_is_uploaded_with_the_staff_checks(client, web_case, handler):
    case_svc.case_request_identity(actor=handler, case=web_case)
    url = page_url(web_case, "case_upload")
    fake = SimpleUploadedFile("passport.pdf", b"MZ this is a program", content_type="application/pdf")
    response = client.post(url, {"file": fake})
    assert response.status_code == 400 and ERR_TYPE in response.content.decode()
    assert not CaseDocument.objects.exists()
    web_case.refresh_from_db()
    assert web_case.identity == Case.Identity.REQUESTED
    folder = private_path(f"cases/{web_case.pk}")
    assert not folder.exists() or not any(folder.rglob("*"))  # nothing written either
    response = client.post(url, {"file": SimpleUploadedFile("me.png", PNG, content_type="image/png")})
    assert response.status_code == 302
    web_case.refresh_from_db()
    assert web_case.identity == Case.Identity.RECEIVED
    doc = CaseDocument.objects.get(case=web_case)
    assert doc.kind == CaseDocument.Kind.IDENTITY and doc.uploaded_by is None


def _export(case: Case, *, days_old: int = 0) -> CaseDocument:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("data.json", "{}")
    relative = f"cases/{case.pk}/export/test-{days_old}.zip"
    path = private_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return CaseDocument.objects.create(
        case=case,
        kind=CaseDocument.Kind.EXPORT,
        path=relative,
        content_type="application/zip",
        size=len(buffer.getvalue()),
        uploaded_at=timezone.now() - datetime.timedelta(days=days_old),
    )


@pytest.mark.django_db
def test_the_export_downloads_a_few_times_each_recorded_then_stops(client, web_case):
    doc = _export(web_case)
    url = page_url(web_case, "case_export")
    assert client.get(url).status_code == 405  # a mail scanner following the link spends nothing
    for _ in range(legal.EXPORT_PUBLIC_DOWNLOADS):
        response = client.post(url)
        assert response.status_code == 200
        assert zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))).namelist() == ["data.json"]
    response = client.post(url)
    assert response.status_code == 410
    assert f"downloaded {legal.EXPORT_PUBLIC_DOWNLOADS} times" in response.content.decode()
    doc.refresh_from_db()
    assert doc.public_downloads == legal.EXPORT_PUBLIC_DOWNLOADS
    events = AccessEvent.objects.filter(action=AccessEvent.Action.REQUESTER_DOWNLOAD)
    assert events.count() == legal.EXPORT_PUBLIC_DOWNLOADS
    assert {(e.user_id, e.object_id, e.details["actor"]) for e in events} == {(None, doc.pk, svc.REQUESTER_ACTOR)}


@pytest.mark.django_db
def test_an_export_older_than_its_30_days_is_refused(client, web_case):
    _export(web_case, days_old=legal.EXPORT_RETENTION_DAYS + 1)
    response = client.post(page_url(web_case, "case_export"))
    assert response.status_code == 410 and "no longer available" in response.content.decode()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.REQUESTER_DOWNLOAD).exists()


@pytest.mark.django_db
def test_a_closed_case_says_so_offers_a_new_request_and_takes_no_message(client, web_case, handler):
    case_svc.case_start(actor=handler, case=web_case)
    case_svc.case_complete(actor=handler, case=web_case, outcome="Answered by email")
    html = client.get(page_url(web_case)).content.decode()
    assert "This request was closed on" in html and reverse("public_requests:request") in html
    response = client.post(page_url(web_case, "case_reply"), {"text": "One more thing"})
    assert response.status_code == 400 and svc.ERR_CLOSED in response.content.decode()
    assert not CaseCorrespondence.objects.filter(from_requester=True).exists()


@pytest.mark.django_db
def test_html_typed_in_a_reply_is_inert_on_the_page_and_for_staff(client, client_for, web_case, dpo):
    client.post(page_url(web_case, "case_reply"), {"text": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in client.get(page_url(web_case)).content.decode()
    staff = client_for(dpo).get(web_case.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in staff


@pytest.mark.django_db
def test_hostile_input_in_the_page_forms_is_refused_naming_the_field_and_changes_nothing(client, web_case):
    for text in ("Walk\x00walk", "x" * 10_000, "invoice\u202efdp.exe"):
        response = client.post(page_url(web_case, "case_reply"), {"text": text})
        assert response.status_code == 400 and "Your message" in response.content.decode()
    assert not CaseCorrespondence.objects.filter(from_requester=True).exists()
    assert client.post(page_url(web_case, "case_upload"), {}).status_code == 400


@pytest.mark.django_db
def test_the_handler_asking_for_identity_or_clarification_emails_the_online_requester_with_the_link(
    web_case,
    handler,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_identity(actor=handler, case=web_case)
    (message,) = smtp_server.wait_for("pat@example.org")
    assert "confirm your identity" in message["Subject"] and "/p/case/" in smtp_server.body(message)
    case_svc.case_decide_identity(actor=handler, case=web_case, verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        case_svc.case_request_clarification(actor=handler, case=web_case, question="Which of your two accounts?")
    message = smtp_server.wait_for("pat@example.org", 2)[-1]
    assert "Which of your two accounts?" in smtp_server.body(message)
    sent = CaseCorrespondence.objects.filter(case=web_case, direction="outbound").order_by("pk")
    assert [(c.template_key, c.delivery) for c in sent] == [
        ("identity_request", "sent"),
        ("clarification_request", "sent"),
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("private_storage")
def test_after_the_customer_is_erased_the_secure_link_shows_none_of_what_erasure_removed(
    client, web_case, agent, dpo, handler, django_capture_on_commit_callbacks
):
    """Issue 15 (b): the requester's link, kept in their inbox, opened after the erasure."""
    from tests.fixtures.erasure import erasure_case, sign_off

    for medium in ("email", "letter"):
        CaseCorrespondence.objects.create(case=web_case, direction="outbound", medium=medium,
                                          occurred_on=timezone.localdate(),
                                          summary="Pat Online confirmed 14 Larkspur Crescent")  # fmt: skip
    url = page_url(web_case)  # the link the requester holds, made before the erasure
    before = client.get(url).content.decode()
    assert web_case.reference in before and "Larkspur Crescent" in before  # the page shows what was sent
    customer = web_case.customer
    sign_off(dpo, erasure_case(agent=agent, dpo=dpo, handler=handler, customer=customer),
             django_capture_on_commit_callbacks)  # fmt: skip
    response = client.get(url)
    html = response.content.decode()
    # The link is bound to the requester's address, which erasure removed: it opens nothing (the
    # "link not working" page), and the case's reference, dates and correspondence stay unshown.
    assert response.status_code == 404
    for value in ("Pat Online", "pat@example.org", "Larkspur", "Pat", web_case.reference):
        assert value not in html, value
    # Only the read before the erasure was a read of the case.
    assert AccessEvent.objects.filter(action=AccessEvent.Action.REQUESTER_VIEW).count() == 1
