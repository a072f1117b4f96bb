"""Telephony for DCC: the port the app calls, its errors, and a factory for the adapter.

``make_telephony("twilio", …)`` talks to api.twilio.com; ``make_telephony("sim", …)`` is the
very same adapter pointed at the local simulator (``telephony.simulator``), so the embedded
mode exercises the real twilio client end to end.
"""

from __future__ import annotations

from telephony.errors import TelephonyError, TelephonyUnavailable
from telephony.port import ALL_CALL_EVENTS, Telephony
from telephony.twilio_adapter import TwilioTelephony

__all__ = [
    "ALL_CALL_EVENTS",
    "Telephony",
    "TelephonyError",
    "TelephonyUnavailable",
    "TwilioTelephony",
    "make_telephony",
]


def make_telephony(
    kind: str, *, account_sid: str, auth_token: str, api_base_url: str | None = None
) -> Telephony:
    """Build the adapter named by configuration: ``"twilio"`` or ``"sim"``.

    For ``"sim"``, ``api_base_url`` is the simulator's base URL (e.g. ``http://127.0.0.1:8089``)
    and the credentials are the ones the simulator was started with.
    """
    if kind == "twilio":
        return TwilioTelephony(account_sid, auth_token)
    if kind == "sim":
        if not api_base_url:
            raise ValueError("telephony 'sim' needs api_base_url (the simulator's base URL)")
        return TwilioTelephony(account_sid, auth_token, api_base_url=api_base_url)
    raise ValueError(f"unknown telephony kind {kind!r}: expected 'twilio' or 'sim'")
