"""Signature validation, on the published test vector and on simulator webhooks."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from telephony import TwilioTelephony, make_telephony
from telephony.port import Telephony

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_published_vector() -> None:
    telephony = TwilioTelephony("AC" + "0" * 32, "12345")
    assert RequestValidator("12345").compute_signature(URL, PARAMS) == SIGNATURE
    assert telephony.validate_request(URL, PARAMS, SIGNATURE)
    # The URL with the default port spelled out is accepted too.
    assert telephony.validate_request(URL.replace(".com/", ".com:443/"), PARAMS, SIGNATURE)


def test_tampering_is_refused() -> None:
    telephony = TwilioTelephony("AC" + "0" * 32, "12345")
    assert not telephony.validate_request(URL, {**PARAMS, "Digits": "9999"}, SIGNATURE)
    assert not telephony.validate_request(URL + "&x=1", PARAMS, SIGNATURE)
    assert not telephony.validate_request(URL, PARAMS, "")
    other = TwilioTelephony("AC" + "0" * 32, "54321")
    assert not other.validate_request(URL, PARAMS, SIGNATURE)


def test_factory_builds_the_same_adapter_for_both_kinds() -> None:
    sim = make_telephony("sim", account_sid="AC1", auth_token="t", api_base_url="http://x:1/")
    real = make_telephony("twilio", account_sid="AC1", auth_token="t")
    assert isinstance(sim, TwilioTelephony) and isinstance(real, TwilioTelephony)
    assert isinstance(sim, Telephony)
    assert sim.client.api.base_url == "http://x:1"
    assert real.client.api.base_url == "https://api.twilio.com"


def test_factory_refuses_unknown_kinds_and_sim_without_url() -> None:
    import pytest

    with pytest.raises(ValueError):
        make_telephony("nexmo", account_sid="AC1", auth_token="t")
    with pytest.raises(ValueError):
        make_telephony("sim", account_sid="AC1", auth_token="t")
