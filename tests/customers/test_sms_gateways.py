"""The SMS gateways' own webhooks (Twilio, Vonage, Esendex), signed by their official libraries.

Twilio and Vonage requests are signed with the gateways' own Python libraries
(tests/customers/gateway_signers.py), so a receiver that drifts from the real signing scheme
fails here. Esendex has no maintained official Python library and signs nothing: its pushes are
built from its published push format (InboundMessage, OptOut), authenticated by the secret in
the push URL and HTTP basic auth, as Esendex's push settings send them.
"""

from __future__ import annotations

import base64
import logging
import time
from urllib.parse import urlencode

import pytest

from customers.models import Channel, InboundSms, PreferenceChange, Purpose, SuppressionEntry
from customers.services import sms, sms_gateways
from customers.services.preferences import may_market
from customers.services.suppression import identifier_hash
from tests.customers.gateway_signers import twilio_signature, twilio_validates, vonage_signature, vonage_signatures
from tests.factories import CustomerFactory

NUMBER = "+447400123456"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
VONAGE_SECRET = "vonage-signature-secret-0123456789"
ESENDEX_SECRET = "esendex-push-secret-0123456789abcdef"
ESENDEX_USER, ESENDEX_PASSWORD = "esendex-push", "push-password-0123"
PUBLIC = "https://portal.example.org"
TWILIO_PATH = "/p/sms/twilio/"
VONAGE_PATH = "/p/sms/vonage/"
ESENDEX_PATH = f"/p/sms/esendex/{ESENDEX_SECRET}/"


@pytest.fixture(autouse=True)
def _gateways(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.VONAGE_SIGNATURE_SECRET = VONAGE_SECRET
    settings.VONAGE_SIGNATURE_METHOD = "md5hash"
    settings.ESENDEX_PUSH_SECRET = ESENDEX_SECRET
    settings.ESENDEX_PUSH_USERNAME = ESENDEX_USER
    settings.ESENDEX_PUSH_PASSWORD = ESENDEX_PASSWORD


@pytest.fixture
def customer(db):
    return CustomerFactory(phone=NUMBER)


def nothing_recorded() -> bool:
    return not (InboundSms.objects.exists() or PreferenceChange.objects.exists() or SuppressionEntry.objects.exists())


def opted_out(customer) -> bool:
    return PreferenceChange.objects.filter(
        customer=customer, purpose=Purpose.DIRECT_MARKETING, channel=Channel.SMS, granted=False
    ).exists()


# --- Twilio -----------------------------------------------------------------------------------


def twilio_params(sid: str = "SM0123456789abcdef0123456789abcdef", text: str = "STOP", **extra) -> dict:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": NUMBER,
        "To": "+447700900123",
        "Body": text,
        "NumMedia": "0",
        **extra,
    }


def twilio_post(client, params: dict, *, signed_url: str | None = PUBLIC + TWILIO_PATH, token=TWILIO_TOKEN):
    headers = {}
    if signed_url is not None:
        headers["X-Twilio-Signature"] = twilio_signature(signed_url, params, token)
    return client.post(
        TWILIO_PATH, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
    )


@pytest.mark.django_db
def test_a_twilio_stop_signed_by_twilios_library_opts_out_and_gets_empty_twiml(client, customer):
    response = twilio_post(client, twilio_params())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == sms_gateways.TWIML_EMPTY
    assert opted_out(customer)
    assert not may_market(customer, Channel.SMS)
    change = PreferenceChange.objects.get(customer=customer)
    assert change.source == PreferenceChange.Source.SMS_STOP
    record = InboundSms.objects.get()
    assert (record.message_id, record.outcome) == ("twilio:SM0123456789abcdef0123456789abcdef", "opted_out")
    assert SuppressionEntry.objects.filter(channel=Channel.SMS, identifier_hash=identifier_hash(NUMBER)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("signed_url", [PUBLIC + TWILIO_PATH, "https://portal.example.org:443" + TWILIO_PATH])
def test_twilio_signatures_over_the_url_with_and_without_the_default_port_are_both_accepted(
    client, customer, signed_url
):
    assert twilio_validates(
        PUBLIC + TWILIO_PATH, twilio_params(), TWILIO_TOKEN, twilio_signature(signed_url, twilio_params(), TWILIO_TOKEN)
    )
    assert twilio_post(client, twilio_params(), signed_url=signed_url).status_code == 200
    assert opted_out(customer)


@pytest.mark.django_db
def test_with_a_port_in_the_public_base_url_both_spellings_of_it_are_accepted(client, settings, customer):
    settings.PUBLIC_BASE_URL = "https://portal.example.org:443"
    assert twilio_post(client, twilio_params(sid="SMa"), signed_url=PUBLIC + TWILIO_PATH).status_code == 200
    assert (
        twilio_post(client, twilio_params(sid="SMb"), signed_url=settings.PUBLIC_BASE_URL + TWILIO_PATH).status_code
        == 200
    )
    assert InboundSms.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signed_url",
    [
        "https://portal.example.org:8443" + TWILIO_PATH,  # another port is another address
        "http://portal.example.org" + TWILIO_PATH,  # another scheme
        "https://evil.example.org" + TWILIO_PATH,  # another host
        PUBLIC + "/p/sms/twilio/?x=1",  # another query
    ],
    ids=["other port", "http", "other host", "other query"],
)
def test_a_twilio_signature_over_another_url_is_refused_with_403_and_nothing_stored(
    client, customer, signed_url, caplog
):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = twilio_post(client, twilio_params(text="STOP from Philippa"), signed_url=signed_url)
    assert response.status_code == 403
    assert response.json() == {"error": sms_gateways.ERR_SIGNATURE}
    assert nothing_recorded()
    assert "sender=twilio reason=signature" in caplog.text
    for secret_or_content in (NUMBER, "Philippa", TWILIO_TOKEN, "SM0123"):
        assert secret_or_content not in caplog.text


@pytest.mark.django_db
def test_behind_a_proxy_without_the_public_base_url_twilios_signature_does_not_match(client, settings, customer):
    """The request reaches Django as http://testserver/...: the public URL Twilio signed must be configured."""
    settings.PUBLIC_BASE_URL = ""
    assert twilio_post(client, twilio_params()).status_code == 403
    assert twilio_post(client, twilio_params(), signed_url="http://testserver" + TWILIO_PATH).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "tamper"),
    [("wrong-token", None), (TWILIO_TOKEN, "Body"), (TWILIO_TOKEN, "From")],
    ids=["wrong token", "body changed", "sender changed"],
)
def test_a_twilio_request_signed_with_another_token_or_changed_after_signing_is_refused(
    client, customer, token, tamper
):
    params = twilio_params()
    signature = twilio_signature(PUBLIC + TWILIO_PATH, params, token)
    if tamper:
        params[tamper] = "Hello" if tamper == "Body" else "+447400999999"
    response = client.post(
        TWILIO_PATH,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
def test_an_unsigned_twilio_request_or_one_without_a_configured_token_is_refused(client, settings, customer):
    assert twilio_post(client, twilio_params(), signed_url=None).status_code == 403
    settings.TWILIO_AUTH_TOKEN = ""
    assert twilio_post(client, twilio_params(), token="").status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize("keyword", ["STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE"])
def test_every_gateway_stop_keyword_alone_opts_out_whatever_its_case(client, customer, keyword):
    assert twilio_post(client, twilio_params(text=keyword.lower())).status_code == 200
    assert opted_out(customer)


@pytest.mark.django_db
def test_twilios_advanced_opt_out_type_stop_is_an_opt_out_whatever_the_text(client, customer):
    twilio_post(client, twilio_params(text="arrêt", OptOutType="STOP"))
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.OPTED_OUT
    assert opted_out(customer)


@pytest.mark.django_db
def test_a_twilio_message_that_is_not_a_stop_changes_nothing(client, customer):
    response = twilio_post(client, twilio_params(text="Thanks, the medal arrived"))
    assert response.status_code == 200
    record = InboundSms.objects.get()
    assert (record.outcome, record.text, record.customer_id) == (InboundSms.Outcome.NOT_A_STOP,
                                                                 "Thanks, the medal arrived", customer.pk)  # fmt: skip
    assert not PreferenceChange.objects.exists()


@pytest.mark.django_db
def test_a_replayed_twilio_message_is_acted_on_once(client, customer):
    first = twilio_post(client, twilio_params())
    again = twilio_post(client, twilio_params())
    assert first.content == again.content
    assert InboundSms.objects.count() == 1
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_a_twilio_stop_from_an_unknown_number_is_suppressed_with_the_same_answer(client, customer):
    known = twilio_post(client, twilio_params(sid="SMknown"))
    unknown = twilio_post(client, twilio_params(sid="SMunknown", From="+447400654321"))
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    assert InboundSms.objects.get(message_id="twilio:SMunknown").outcome == InboundSms.Outcome.UNKNOWN_NUMBER
    assert SuppressionEntry.objects.filter(identifier_hash=identifier_hash("+447400654321")).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"From": "not a number"}, sms.ERR_SENDER.format(field="From")),
        ({"From": "+44740\x000123456"}, "Field 'From' holds a NUL character"),
        ({"MessageSid": "SM\x00x"}, "Field 'MessageSid' holds a NUL character"),
        ({"MessageSid": "S" * 200}, "Field 'MessageSid' must be at most 93 characters."),
        ({"MessageSid": None}, "Field 'MessageSid' is missing."),
        ({"From": None}, "Field 'From' is missing."),
        ({"From": ""}, sms.ERR_FIELD_TYPE.format(field="From")),
    ],
    ids=["bad number", "NUL in From", "NUL in MessageSid", "long MessageSid", "no MessageSid", "no From", "empty From"],
)
def test_a_signed_but_malformed_twilio_message_gets_400_naming_the_field(client, customer, change, error, caplog):
    params = {k: v for k, v in {**twilio_params(), **change}.items() if v is not None}
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = twilio_post(client, params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert nothing_recorded()
    assert NUMBER not in caplog.text and "\x00" not in caplog.text


@pytest.mark.django_db
def test_a_twilio_body_with_a_nul_in_the_text_still_counts_as_a_stop(client, customer):
    assert twilio_post(client, twilio_params(text="ST\x00OP")).status_code == 200
    assert opted_out(customer)


@pytest.mark.django_db
def test_a_huge_body_is_refused_with_413_before_it_is_parsed(client, customer):
    response = twilio_post(client, twilio_params(text="STOP " + "x" * 20_000))
    assert response.status_code == 413
    assert response.json() == {"error": sms_gateways.ERR_TOO_LARGE}
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_body_that_is_not_utf8_is_refused_with_400(client, customer):
    response = client.post(TWILIO_PATH, data=b"Body=%FF\xff", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert nothing_recorded()


# --- Vonage -----------------------------------------------------------------------------------


def vonage_params(message_id: str = "0A0000000123ABCD1", text: str = "STOP", timestamp: int | None = None, **extra):
    return {
        "msisdn": NUMBER.lstrip("+"),  # Vonage sends international numbers without "+"
        "to": "447700900123",
        "messageId": message_id,
        "text": text,
        "type": "text",
        "keyword": text.split()[0].upper() if text.split() else "",
        "message-timestamp": "2026-12-01 13:00:00",
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "nonce": "4f4ab7f3-6e1a-4a1b-9f34-0c0f1e2d3c4b",
        **extra,
    }


def vonage_post(client, params: dict, *, json_body: bool = False):
    if json_body:
        import json

        return client.post(VONAGE_PATH, data=json.dumps(params), content_type="application/json")
    return client.post(VONAGE_PATH, data=urlencode(params), content_type="application/x-www-form-urlencoded")


def signed(params: dict, method: str = "md5hash", secret: str = VONAGE_SECRET) -> dict:
    return {**params, "sig": vonage_signature(params, secret, method)}


@pytest.mark.django_db
def test_a_vonage_stop_signed_with_the_md5_hash_variant_by_vonages_sdk_opts_out(client, customer):
    response = vonage_post(client, signed(vonage_params()))
    assert response.status_code == 200
    assert opted_out(customer)
    assert InboundSms.objects.get().message_id == "vonage:0A0000000123ABCD1"


@pytest.mark.django_db
def test_each_vonage_hmac_variant_signed_by_vonages_sdk_is_accepted_form_or_json(client, settings, customer):
    methods = ["md5", "sha1", "sha256", "sha512"]
    params = [vonage_params(message_id=f"id-{method}", text="Stop please") for method in methods]
    sigs = vonage_signatures([(p, VONAGE_SECRET, m) for p, m in zip(params, methods, strict=True)])
    for method, p, sig, as_json in zip(methods, params, sigs, [False, True, False, True], strict=True):
        settings.VONAGE_SIGNATURE_METHOD = method
        assert vonage_post(client, {**p, "sig": sig}, json_body=as_json).status_code == 200, method
    assert InboundSms.objects.filter(outcome=InboundSms.Outcome.OPTED_OUT).count() == 4
    assert PreferenceChange.objects.filter(customer=customer).count() == 1  # one opt-out, then no change


@pytest.mark.django_db
def test_values_with_ampersands_and_equals_signs_are_signed_as_vonage_signs_them(client, customer):
    params = vonage_params(text="STOP & no more = thanks")
    assert vonage_post(client, signed(params)).status_code == 200
    assert opted_out(customer)


@pytest.mark.django_db
@pytest.mark.parametrize("age_seconds", [3600, -3600, 301])
def test_a_vonage_timestamp_an_hour_old_or_ahead_is_refused_though_correctly_signed(
    client, customer, age_seconds, caplog
):
    params = signed(vonage_params(timestamp=int(time.time()) - age_seconds))
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = vonage_post(client, params)
    assert response.status_code == 403
    assert response.json() == {"error": sms_gateways.ERR_TIMESTAMP}
    assert nothing_recorded()
    assert "sender=vonage reason=stale" in caplog.text
    assert NUMBER.lstrip("+") not in caplog.text


@pytest.mark.django_db
def test_a_vonage_request_without_a_timestamp_is_refused(client, customer):
    params = vonage_params()
    del params["timestamp"]
    params["sig"] = vonage_signature({**params, "timestamp": ""}, VONAGE_SECRET, "md5hash")
    assert vonage_post(client, params).status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda p: {**p, "sig": vonage_signature(p, "another secret", "md5hash")},
        lambda p: {**signed(p), "text": "Hello"},
        lambda p: {**signed(p), "msisdn": "447400999999"},
        lambda p: {**signed(p, method="sha256")},  # configured for md5hash
        lambda p: p,
        lambda p: {**p, "sig": "0" * 32},
    ],
    ids=["wrong secret", "text changed", "sender changed", "other method", "unsigned", "zeros"],
)
def test_a_badly_signed_vonage_request_is_refused_with_403(client, customer, make):
    response = vonage_post(client, make(vonage_params()))
    assert response.status_code == 403
    assert response.json() == {"error": sms_gateways.ERR_SIGNATURE}
    assert nothing_recorded()


@pytest.mark.django_db
def test_without_a_configured_vonage_secret_everything_is_refused(client, settings, customer):
    settings.VONAGE_SIGNATURE_SECRET = ""
    assert vonage_post(client, signed(vonage_params(), secret="any secret")).status_code == 403
    assert vonage_post(client, {**vonage_params(), "sig": ""}).status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_replayed_vonage_message_is_acted_on_once(client, customer):
    params = signed(vonage_params())
    assert vonage_post(client, params).status_code == 200
    assert vonage_post(client, params).status_code == 200
    assert InboundSms.objects.count() == 1
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_a_signed_vonage_message_from_no_valid_number_gets_400(client, customer):
    response = vonage_post(client, signed(vonage_params(msisdn="12")))
    assert response.status_code == 400
    assert response.json()["error"] == sms.ERR_SENDER.format(field="msisdn")
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_vonage_json_body_that_is_not_an_object_of_strings_gets_400(client, customer):
    for body in ("[1, 2]", '{"text": {"nested": 1}}', "{broken"):
        response = client.post(VONAGE_PATH, data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"error": sms_gateways.ERR_VONAGE_JSON}
    assert nothing_recorded()


# --- Esendex ----------------------------------------------------------------------------------

INBOUND_XML = """<?xml version="1.0" encoding="utf-8"?>
<InboundMessage>
  <Id>bece4d20-779c-4778-b08c-438a13cca5c9</Id>
  <MessageId>{message_id}</MessageId>
  <AccountId>6145d724-98cb-41a2-8c4e-4b81ef694897</AccountId>
  <MessageText>{text}</MessageText>
  <From>{number}</From>
  <To>447700900123</To>
</InboundMessage>"""

OPTOUT_XML = """<?xml version="1.0" encoding="utf-8"?>
<OptOut>
  <Id>{opt_out_id}</Id>
  <AccountId>f6462f9d-87a2-4cac-97a6-5a2d9cb81997</AccountId>
  <AccountReference>EX0010000</AccountReference>
  <ReceviedAt>2026-11-09T15:18:19Z</ReceviedAt>
  <From>
    <PhoneNumber>{number}</PhoneNumber>
  </From>
  <Link rel="optout" href="https://api.esendex.com/v1.0/optouts/{opt_out_id}" />
</OptOut>"""


def inbound_xml(message_id="ee931a29-d176-42bb-b2a1-a66871e8c118", text="STOP", number="447400123456") -> bytes:
    return INBOUND_XML.format(message_id=message_id, text=text, number=number).encode()


def basic(user=ESENDEX_USER, password=ESENDEX_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def esendex_post(client, body: bytes, *, path=ESENDEX_PATH, auth: str | None = "good"):
    headers = {}
    if auth == "good":
        headers["Authorization"] = basic()
    elif auth is not None:
        headers["Authorization"] = auth
    return client.post(path, data=body, content_type="text/xml", headers=headers)


@pytest.mark.django_db
def test_an_esendex_inbound_stop_with_the_secret_and_basic_auth_opts_out(client, customer):
    response = esendex_post(client, inbound_xml())
    assert response.status_code == 200
    assert opted_out(customer)
    assert InboundSms.objects.get().message_id == "esendex:ee931a29-d176-42bb-b2a1-a66871e8c118"


@pytest.mark.django_db
def test_an_esendex_opt_out_push_opts_out_without_any_text(client, customer):
    body = OPTOUT_XML.format(opt_out_id="436332c6-8755-41bf-abde-cc48eafacba0", number="447400123456").encode()
    assert esendex_post(client, body).status_code == 200
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.OPTED_OUT
    assert opted_out(customer)
    assert esendex_post(client, body).status_code == 200  # replayed: acted on once
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_an_esendex_inbound_message_that_is_not_a_stop_changes_nothing(client, customer):
    assert esendex_post(client, inbound_xml(text="When is the next catalogue?")).status_code == 200
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.NOT_A_STOP
    assert not PreferenceChange.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "auth"),
    [
        ("/p/sms/esendex/wrong-secret/", "good"),
        (ESENDEX_PATH, None),
        (ESENDEX_PATH, basic(password="wrong")),
        (ESENDEX_PATH, basic(user="someone-else")),
        (ESENDEX_PATH, "Basic !!!not-base64"),
        (ESENDEX_PATH, "Bearer " + ESENDEX_PASSWORD),
    ],
    ids=["wrong secret", "no basic auth", "wrong password", "wrong user", "garbled auth", "other scheme"],
)
def test_an_esendex_push_without_the_secret_or_basic_auth_is_refused_with_403(client, customer, path, auth, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = esendex_post(client, inbound_xml(), path=path, auth=auth)
    assert response.status_code == 403
    assert response.json() == {"error": sms_gateways.ERR_SECRET}
    assert nothing_recorded()
    assert "sender=esendex reason=credentials" in caplog.text
    assert ESENDEX_SECRET not in caplog.text and "wrong-secret" not in caplog.text


@pytest.mark.django_db
def test_without_configured_esendex_credentials_everything_is_refused(client, settings, customer):
    settings.ESENDEX_PUSH_SECRET = ""
    assert esendex_post(client, inbound_xml(), path="/p/sms/esendex/x/").status_code == 403
    assert nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<InboundMessage><MessageId>m</MessageId>", sms_gateways.ERR_XML),
        (b"not xml at all", sms_gateways.ERR_XML),
        (b"<MessageDelivered><Id>x</Id></MessageDelivered>", sms_gateways.ERR_XML),
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<InboundMessage><MessageId>&b;</MessageId><From>447400123456</From></InboundMessage>",
            sms_gateways.ERR_XML,
        ),
        (b"<InboundMessage><From>447400123456</From></InboundMessage>", "Field 'MessageId' is missing."),
        (inbound_xml(number="not-a-number"), sms.ERR_SENDER.format(field="From")),
        (inbound_xml(message_id="a&#0;b"), sms_gateways.ERR_XML),  # XML 1.0 forbids NUL
        (b"<OptOut><Id>x</Id></OptOut>", "Field 'From/PhoneNumber' is missing."),
    ],
    ids=["truncated", "not xml", "other notification", "entities", "no id", "bad number", "NUL", "opt-out no number"],
)
def test_a_malformed_esendex_push_gets_400_naming_the_problem(client, customer, body, error):
    response = esendex_post(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert nothing_recorded()


# --- One rule, one service ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_message_through_two_gateways_is_two_records_but_one_opt_out(client, customer):
    twilio_post(client, twilio_params(sid="SAME-ID"))
    vonage_post(client, signed(vonage_params(message_id="SAME-ID")))
    assert set(InboundSms.objects.values_list("message_id", flat=True)) == {"twilio:SAME-ID", "vonage:SAME-ID"}
    assert PreferenceChange.objects.filter(customer=customer).count() == 1


# The lead's rule (customers/services/sms.py): STOP, STOPALL, UNSUBSCRIBE, OPTOUT, REVOKE as any
# word; END, QUIT, CANCEL only as the whole message (punctuation and spaces aside).
OPT_OUTS = ["STOP", "stopall", "Unsubscribe", "optout", "revoke", "Please stop", "please REVOKE it!", "opt out",
            "END", "end.", " Quit! ", "CANCEL", "cancel?!", "S T O P", "Q U I T"]  # fmt: skip
NOT_OPT_OUTS = ["cancel my order", "Please cancel the next delivery", "the end", "quit sending the wrong size",
                "End of the month?", "Thanks", "Ending soon?", "Unstoppable", "Quite good", "Cancelled?",
                "Revoked"]  # fmt: skip


def test_the_one_keyword_rule():
    for text in OPT_OUTS:
        assert sms.is_stop(text), text
    for text in NOT_OPT_OUTS:
        assert not sms.is_stop(text), text


def test_a_stop_typed_in_full_width_or_compatibility_letters_is_a_stop():
    """Hostile review (r16): a phone's East Asian keyboard sends STOP in full-width letters,
    which is what the person typed and means; it went to the agents' list as a text to answer
    while SMS marketing went on. Letters are compared in their compatibility form (NFKC)."""
    stop, lower, end = "\uff33\uff34\uff2f\uff30", "\uff53\uff54\uff4f\uff50", "\uff25\uff2e\uff24"  # full width
    for text in [stop, lower, f"Please {lower}", end, "\ufb06op"]:  # the last: the "st" ligature
        assert sms.is_stop(text), text
    assert not sms.is_stop("\uff43\uff41\uff4e\uff43\uff45\uff4c my order")


def _through(client, receiver: str, text: str):
    if receiver == "twilio":
        return twilio_post(client, twilio_params(text=text))
    if receiver == "vonage":
        return vonage_post(client, signed(vonage_params(text=text)))
    if receiver == "esendex":
        return esendex_post(client, inbound_xml(text=text))
    from tests.fixtures.sms_gateway import deliver, stop

    return deliver(client, stop(number="+447400123456", text=text))


@pytest.mark.django_db
@pytest.mark.parametrize("receiver", ["twilio", "vonage", "esendex", "signed_json"])
@pytest.mark.parametrize(
    ("text", "outcome"),
    [("Please stop", "opted_out"), ("Cancel.", "opted_out"), ("cancel my order", "not_a_stop"),
     ("quit sending", "not_a_stop")],
)  # fmt: skip
def test_every_receiver_applies_the_one_keyword_rule(client, settings, customer, receiver, text, outcome):
    from tests.fixtures.sms_gateway import SECRET

    settings.SMS_WEBHOOK_SECRET = SECRET
    assert _through(client, receiver, text).status_code == 200
    assert InboundSms.objects.get().outcome == outcome
    assert opted_out(customer) is (outcome == "opted_out")


# --- Vonage: concatenated (multipart) texts ----------------------------------------------------


def vonage_part(part: int, text: str, *, total: int = 2, ref: str = "08B5", message_id: str | None = None):
    """One part of a concatenated text as Vonage sends it (concat, concat-ref, concat-total,
    concat-part), signed by Vonage's SDK."""
    params = vonage_params(message_id=message_id or f"part-{ref}-{part}", text=text, keyword="",
                           **{"concat": "true", "concat-ref": ref, "concat-total": str(total),
                              "concat-part": str(part)})  # fmt: skip
    return signed(params)


@pytest.mark.django_db
def test_a_stop_split_across_two_vonage_parts_opts_out_once_both_have_come(client, customer):
    assert vonage_post(client, vonage_part(2, "OP")).status_code == 200
    assert not opted_out(customer)  # half a text decides nothing
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.PART
    assert vonage_post(client, vonage_part(1, "ST")).status_code == 200
    assert opted_out(customer)
    whole = InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).get()
    assert whole.outcome == InboundSms.Outcome.OPTED_OUT and whole.customer_id == customer.pk
    assert set(InboundSms.objects.filter(outcome=InboundSms.Outcome.PART).values_list("text", flat=True)) == {""}


@pytest.mark.django_db
def test_a_long_vonage_text_is_listed_whole_in_part_order_and_a_stop_word_in_it_counts(client, customer):
    first, second, third = "Please call me about the Waterloo medal ", "I ordered last week, ", "thanks"
    for part, text in ((3, third), (1, first), (2, second)):
        vonage_post(client, vonage_part(part, text, total=3, ref="A1"))
    whole = InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).get()
    assert (whole.outcome, whole.text) == (InboundSms.Outcome.NOT_A_STOP, first + second + third)
    vonage_post(client, vonage_part(1, "I want you to STOP ", ref="B2"))
    vonage_post(client, vonage_part(2, "sending me catalogues", ref="B2"))
    assert opted_out(customer)


@pytest.mark.django_db
def test_redelivered_vonage_parts_change_nothing(client, customer):
    for _ in range(2):
        vonage_post(client, vonage_part(1, "ST"))
    assert not opted_out(customer) and InboundSms.objects.count() == 1
    for _ in range(3):
        assert vonage_post(client, vonage_part(2, "OP")).status_code == 200
        vonage_post(client, vonage_part(1, "ST"))
    assert InboundSms.objects.count() == 3  # two parts and the whole text, once
    assert PreferenceChange.objects.filter(customer=customer).count() == 1
    assert SuppressionEntry.objects.count() == 1


@pytest.mark.django_db
def test_parts_of_two_texts_are_not_mixed(client, customer):
    vonage_post(client, vonage_part(1, "ST", ref="C1"))
    vonage_post(client, vonage_part(2, "OP", ref="C2"))
    assert not opted_out(customer)
    assert not InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {"concat-part": "3"},  # part 3 of 2
        {"concat-part": "0"},
        {"concat-total": "x"},
        {"concat-total": "256"},
        {"concat-ref": ""},
        {"concat-part": "\uff11"},  # full-width 1
    ],
)
def test_a_vonage_part_that_names_no_part_is_refused_naming_the_fields_and_nothing_stored(client, customer, extra):
    from customers.services.sms import CONCAT_MAX_PARTS, ERR_CONCAT

    params = vonage_params(text="STOP", **{"concat": "true", "concat-ref": "D1", "concat-total": "2",
                                           "concat-part": "1", **extra})  # fmt: skip
    response = vonage_post(client, signed(params))
    assert response.status_code == 400
    assert ERR_CONCAT.format(max=CONCAT_MAX_PARTS) in response.content.decode()
    assert nothing_recorded()


@pytest.mark.django_db
def test_a_reference_used_again_for_a_later_text_is_a_new_text(client, customer):
    """Hostile review: a phone numbers its long texts with a one-byte reference, so the same
    reference comes back for a later text; the later text's parts were taken for redeliveries of
    the first, never acted on (a STOP in it ignored) and kept with their text for ever."""
    vonage_post(client, vonage_part(1, "Where is ", ref="0A", message_id="a-1"))
    vonage_post(client, vonage_part(2, "my parcel?", ref="0A", message_id="a-2"))
    vonage_post(client, vonage_part(1, "Please st", ref="0A", message_id="b-1"))
    vonage_post(client, vonage_part(2, "op texting me", ref="0A", message_id="b-2"))
    wholes = InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).order_by("pk")
    assert [w.outcome for w in wholes] == [InboundSms.Outcome.NOT_A_STOP, InboundSms.Outcome.OPTED_OUT]
    assert opted_out(customer)
    assert set(InboundSms.objects.filter(outcome=InboundSms.Outcome.PART).values_list("text", flat=True)) == {""}


@pytest.mark.django_db
def test_a_part_redelivered_after_its_text_was_assembled_changes_nothing(client, customer):
    vonage_post(client, vonage_part(1, "Call me ", ref="0B"))
    vonage_post(client, vonage_part(2, "back please", ref="0B"))
    for part, text in ((1, "Call me "), (2, "back please")):
        assert vonage_post(client, vonage_part(part, text, ref="0B")).status_code == 200
    assert InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).count() == 1
    assert InboundSms.objects.count() == 3


@pytest.mark.django_db
def test_parts_whose_other_parts_never_come_are_acted_on_as_far_as_they_go(client, customer):
    """Hostile review: a text whose last part was lost by the network stayed a part for ever: a
    STOP in what came was never honoured and nobody read the rest. After CONCAT_WAIT_HOURS the
    sweep acts on what came, in part order, a gap marked where a part is missing."""
    import datetime

    from django.utils import timezone

    vonage_post(client, vonage_part(1, "Please stop sending me ", total=3, ref="0C"))
    vonage_post(client, vonage_part(3, "thanks", total=3, ref="0C"))
    assert sms.sms_inbound_parts_flush() == {"texts": 0}  # not waited long enough
    later = timezone.now() + datetime.timedelta(hours=sms.CONCAT_WAIT_HOURS, minutes=1)
    assert sms.sms_inbound_parts_flush(now=later) == {"texts": 1}
    whole = InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).get()
    assert whole.outcome == InboundSms.Outcome.OPTED_OUT and opted_out(customer)
    assert set(InboundSms.objects.filter(outcome=InboundSms.Outcome.PART).values_list("text", flat=True)) == {""}
    assert sms.sms_inbound_parts_flush(now=later) == {"texts": 0}  # once
    vonage_post(client, vonage_part(2, "lost part ", total=3, ref="0C"))  # the lost part, at last
    assert InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).count() == 1


@pytest.mark.django_db
def test_an_unanswered_text_missing_a_part_reaches_the_agents_with_the_gap_marked(client, customer):
    import datetime

    from django.utils import timezone

    vonage_post(client, vonage_part(1, "Please ring me about ", ref="0D"))
    sms.sms_inbound_parts_flush(now=timezone.now() + datetime.timedelta(hours=sms.CONCAT_WAIT_HOURS, minutes=1))
    whole = InboundSms.objects.exclude(outcome=InboundSms.Outcome.PART).get()
    assert whole.outcome == InboundSms.Outcome.NOT_A_STOP
    assert whole.text == "Please ring me about " + sms.CONCAT_GAP.format(part=2)
