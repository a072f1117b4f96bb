"""Errors raised by telephony adapters.

Callers catch :class:`TelephonyError`; :class:`TelephonyUnavailable` narrows it to failures
where the provider could not be reached, which are worth retrying (a refusal usually is not).
"""

from __future__ import annotations


class TelephonyError(Exception):
    """The provider refused or failed a request.

    ``code`` is the provider's error code when it gave one (Twilio's 2xxxx codes, e.g. 20003 for
    bad credentials, 21211 for an invalid ``To``); ``status`` is the HTTP status, if any.
    """

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.message} (code {self.code})"


class TelephonyUnavailable(TelephonyError):
    """The provider could not be reached (connection refused, timeout): safe to retry."""


class TelephonyTimeout(TelephonyError):
    """The request reached the provider but no answer came back in time: **outcome unknown**.

    The call or message may exist. Never retry blindly (the customer would be called twice):
    look it up first (``find_calls`` / ``find_messages``, or wait for the status callback,
    which carries the app's own id), and retry only once it is known not to exist.
    """
