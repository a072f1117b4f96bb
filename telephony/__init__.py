"""Telephony for DCC: the port the app calls, its errors, and a factory for the adapter.

``make_telephony("twilio", …)`` talks to api.twilio.com; ``make_telephony("sim", …)`` is the
very same adapter pointed at the local simulator (``telephony.simulator``), so the embedded
mode exercises the real twilio client end to end.
"""

from __future__ import annotations

from telephony.errors import TelephonyError, TelephonyTimeout, TelephonyUnavailable
from telephony.pacing import FilePacer, Pacer, TokenBucket
from telephony.port import CALL_EVENTS, ProviderCall, ProviderMessage, Telephony
from telephony.rules import ANYWHERE, TWILIO, check_dial
from telephony.twilio_adapter import TwilioTelephony

__all__ = [
    "CALL_EVENTS",
    "ProviderCall",
    "ProviderMessage",
    "Telephony",
    "TelephonyError",
    "TelephonyTimeout",
    "TelephonyUnavailable",
    "TwilioTelephony",
    "check_dial",
    "make_telephony",
]


def make_telephony(
    kind: str,
    *,
    account_sid: str,
    auth_token: str,
    api_base_url: str | None = None,
    edge: str | None = None,
    region: str | None = None,
    calls_per_second: float | None = None,
    pacer_path: str | None = None,
    pacer: Pacer | None = None,
) -> Telephony:
    """Build the adapter named by configuration: ``"twilio"`` or ``"sim"``.

    For ``"twilio"``, ``api_base_url``, ``edge`` and ``region`` are passed through as given,
    Twilio's published dialling rules apply, and calls are paced to ``calls_per_second``
    (default 1, Twilio's default): across the host's processes through ``pacer_path`` (a file),
    else within this process — or by the app's own ``pacer``.

    For ``"sim"``, ``api_base_url`` is the simulator's base URL (e.g. ``http://127.0.0.1:8089``)
    and the credentials are the ones the simulator was started with; the simulator applies
    its own geographic permissions and queues calls beyond its calls per second in simulated
    time, so no pacing happens here unless ``calls_per_second`` or ``pacer`` is given.
    """
    if kind == "twilio":
        rate = calls_per_second or 1.0
        chosen = pacer or (FilePacer(pacer_path, rate) if pacer_path else TokenBucket(rate))
        return TwilioTelephony(
            account_sid,
            auth_token,
            api_base_url=api_base_url,
            edge=edge,
            region=region,
            pacer=chosen,
            rules=TWILIO,
        )
    if kind == "sim":
        if not api_base_url:
            raise ValueError("telephony 'sim' needs api_base_url (the simulator's base URL)")
        if pacer is None and calls_per_second:
            pacer = TokenBucket(calls_per_second)
        return TwilioTelephony(
            account_sid, auth_token, api_base_url=api_base_url, pacer=pacer, rules=ANYWHERE
        )
    raise ValueError(f"unknown telephony kind {kind!r}: expected 'twilio' or 'sim'")
