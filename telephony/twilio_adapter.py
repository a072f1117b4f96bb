"""The Twilio adapter: the telephony port implemented with the official ``twilio`` library.

The same class drives the local simulator: ``api_base_url`` points the REST client's ``api``
domain (``api.twilio.com``, which serves both Calls and Messages) at another host.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from telephony.errors import TelephonyError, TelephonyUnavailable
from telephony.port import ALL_CALL_EVENTS

#: Seconds to wait for the provider; the twilio library waits forever by default.
DEFAULT_TIMEOUT = 10.0


@contextmanager
def _provider_errors(action: str) -> Iterator[None]:
    """Turn the twilio library's and requests' exceptions into :class:`TelephonyError`."""
    try:
        yield
    except TwilioRestException as exc:
        code = exc.code if isinstance(exc.code, int) else None
        raise TelephonyError(f"{action} refused: {exc.msg}", code=code, status=exc.status) from exc
    except TwilioServiceException as exc:
        message = f"{action} refused: {exc.title}" + (f": {exc.detail}" if exc.detail else "")
        raise TelephonyError(message, code=exc.code, status=exc.status) from exc
    except requests.RequestException as exc:
        raise TelephonyUnavailable(f"{action} failed: provider unreachable ({exc})") from exc
    except TwilioException as exc:
        raise TelephonyError(f"{action} failed: {exc}") from exc


class TwilioTelephony:
    """:class:`telephony.port.Telephony` over Twilio's REST API (or anything speaking it)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str | None = None,
        http_client: HttpClient | None = None,
    ) -> None:
        """Build the REST client; nothing is sent until a method is called."""
        self._validator = RequestValidator(auth_token)
        self._client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=DEFAULT_TIMEOUT),
        )
        # Client falls back to TWILIO_EDGE / TWILIO_REGION from the environment even when
        # edge=None is passed, and those rewrite every host (breaking api_base_url): clear them.
        self._client.edge = None
        self._client.region = None
        if api_base_url:
            # Calls and Messages both live on the Api domain; its base_url is read per request.
            self._client.api.base_url = api_base_url.rstrip("/")

    @property
    def client(self) -> Client:
        """The underlying twilio ``Client``, for the rare call the port does not cover."""
        return self._client

    def place_bridged_call(
        self,
        *,
        agent: str,
        customer: str,
        caller_id: str,
        bridge_url: str,
        status_callback: str,
        recording_callback: str | None = None,
        machine_detection: bool = False,
        timeout: int = 30,
        time_limit: int | None = None,
    ) -> str:
        """Create the agent leg; ``bridge_url``'s TwiML dials ``customer`` once it answers."""
        options: dict[str, Any] = {}
        if recording_callback:
            options.update(
                record=True,
                recording_channels="dual",
                recording_status_callback=recording_callback,
                recording_status_callback_method="POST",
            )
        if machine_detection:
            options["machine_detection"] = "Enable"
        if time_limit is not None:
            options["time_limit"] = time_limit
        with _provider_errors(f"placing call to {agent} (customer {customer})"):
            call = self._client.calls.create(
                to=agent,
                from_=caller_id,
                url=bridge_url,
                method="POST",
                status_callback=status_callback,
                # A list: the client sends StatusCallbackEvent once per event, as Twilio wants.
                status_callback_event=list(ALL_CALL_EVENTS),
                status_callback_method="POST",
                timeout=timeout,
                **options,
            )
        return str(call.sid)

    def end_call(self, sid: str) -> None:
        """Hang up (or cancel, if not yet answered) the call ``sid``."""
        with _provider_errors(f"ending call {sid}"):
            self._client.calls(sid).update(status="completed")

    def redirect_call(self, sid: str, url: str) -> None:
        """Send the live call ``sid`` to the TwiML at ``url``."""
        with _provider_errors(f"redirecting call {sid}"):
            self._client.calls(sid).update(url=url, method="POST")

    def send_sms(
        self, *, to: str, body: str, from_: str, status_callback: str | None = None
    ) -> str:
        """Send an SMS and return its sid."""
        options: dict[str, Any] = {}
        if status_callback:
            options["status_callback"] = status_callback
        with _provider_errors(f"sending SMS to {to}"):
            message = self._client.messages.create(to=to, from_=from_, body=body, **options)
        return str(message.sid)

    def validate_request(self, url: str, params: Mapping[str, str] | str, signature: str) -> bool:
        """Check ``X-Twilio-Signature`` with the account's auth token."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))
