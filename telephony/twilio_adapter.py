"""The Twilio adapter: the telephony port implemented with the official ``twilio`` library.

The same class drives the local simulator: ``api_base_url`` points the REST client's ``api``
domain (``api.twilio.com``, which serves both Calls and Messages) at another host.

What Twilio accepts is data (``telephony.rules``): ``check_dial`` answers before anything is
sent. Outbound calls are paced (``telephony.pacing``) to the account's calls per second. A REST
request that reached Twilio but got no answer in time raises :class:`TelephonyTimeout`
(outcome unknown) rather than a plain failure, so the caller reconciles with ``find_calls`` /
``find_messages`` before it retries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from telephony.errors import TelephonyError, TelephonyTimeout, TelephonyUnavailable
from telephony.pacing import Pacer
from telephony.port import CALL_EVENTS, ProviderCall, ProviderMessage
from telephony.rules import TWILIO, DialRules, check_dial

#: Seconds to wait for the provider; the twilio library waits forever by default.
DEFAULT_TIMEOUT = 10.0

#: How many recent calls or messages a lookup reads.
LOOKUP_LIMIT = 100


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the provider (safe to send again)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)
    return not isinstance(exc, requests.Timeout | requests.ConnectionError)


@contextmanager
def _provider_errors(action: str, *, creates: bool = False) -> Iterator[None]:
    """Turn the twilio library's and requests' exceptions into :class:`TelephonyError`.

    For a request that ``creates`` something (a call, a message), a time-out or a dropped
    connection after sending means the outcome is unknown: :class:`TelephonyTimeout`.
    """
    try:
        yield
    except TwilioRestException as exc:
        code = exc.code if isinstance(exc.code, int) else None
        raise TelephonyError(f"{action} refused: {exc.msg}", code=code, status=exc.status) from exc
    except TwilioServiceException as exc:
        message = f"{action} refused: {exc.title}" + (f": {exc.detail}" if exc.detail else "")
        raise TelephonyError(message, code=exc.code, status=exc.status) from exc
    except requests.RequestException as exc:
        if creates and not _never_sent(exc):
            raise TelephonyTimeout(
                f"{action}: no answer from the provider ({exc}); the outcome is unknown"
            ) from exc
        raise TelephonyUnavailable(f"{action} failed: provider unreachable ({exc})") from exc
    except TwilioException as exc:
        raise TelephonyError(f"{action} failed: {exc}") from exc


def _is_twilio_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "twilio.com" or host.endswith(".twilio.com")


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TwilioTelephony:
    """:class:`telephony.port.Telephony` over Twilio's REST API (or anything speaking it)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str | None = None,
        edge: str | None = None,
        region: str | None = None,
        http_client: HttpClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        pacer: Pacer | None = None,
        rules: DialRules = TWILIO,
    ) -> None:
        """Build the REST client; nothing is sent until a method is called.

        ``edge`` / ``region`` (or ``TWILIO_EDGE`` / ``TWILIO_REGION``) pick Twilio's
        data-centre hosts; they are honoured for Twilio's own hosts and ignored for an
        ``api_base_url`` elsewhere (the simulator), whose host they would rewrite.
        ``pacer`` is called before each call is created (see ``telephony.pacing``);
        ``rules`` are what ``check_dial`` applies.
        """
        self._validator = RequestValidator(auth_token)
        self._pacer = pacer
        self.rules = rules
        self._client = Client(
            account_sid,
            auth_token,
            edge=edge,
            region=region,
            http_client=http_client or TwilioHttpClient(timeout=timeout),
        )
        if api_base_url:
            # Calls and Messages both live on the Api domain; its base_url is read per request.
            self._client.api.base_url = api_base_url.rstrip("/")
            if not _is_twilio_host(api_base_url):
                self._client.edge = None
                self._client.region = None

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
        return self._create_call(
            f"placing call to {agent} (customer {customer})",
            to=agent,
            from_=caller_id,
            url=bridge_url,
            status_callback=status_callback,
            timeout=timeout,
            **options,
        )

    def place_call(
        self,
        *,
        to: str,
        caller_id: str,
        url: str,
        status_callback: str,
        machine_detection: bool = False,
        timeout: int = 30,
    ) -> str:
        """Create a leg to ``to``; ``url``'s TwiML runs once it answers."""
        options: dict[str, Any] = {"machine_detection": "Enable"} if machine_detection else {}
        return self._create_call(
            f"placing call to {to}",
            to=to,
            from_=caller_id,
            url=url,
            status_callback=status_callback,
            timeout=timeout,
            **options,
        )

    def _create_call(self, action: str, **request: Any) -> str:
        """Ask the provider for one call (paced, errors mapped) and return its sid."""
        if self._pacer is not None:
            with _provider_errors(action):
                self._pacer()
        with _provider_errors(action, creates=True):
            call = self._client.calls.create(
                method="POST",
                # A list: the client sends StatusCallbackEvent once per event, as Twilio wants.
                status_callback_event=list(CALL_EVENTS),
                status_callback_method="POST",
                **request,
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

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None) -> None:
        """Give the live call ``sid`` new TwiML: the document at ``url``, or ``twiml``."""
        if (url is None) == (twiml is None):
            raise ValueError("update_call needs exactly one of url or twiml")
        with _provider_errors(f"updating call {sid}"):
            if url is not None:
                self._client.calls(sid).update(url=url, method="POST")
            else:
                self._client.calls(sid).update(twiml=twiml)

    def find_calls(self, *, to: str, since: datetime) -> list[ProviderCall]:
        """Calls to ``to`` dialled since ``since``, and those still queued, newest first."""
        since = _aware(since) or since
        with _provider_errors(f"looking up calls to {to}"):
            started = self._client.calls.list(to=to, start_time_after=since, limit=LOOKUP_LIMIT)
            queued = self._client.calls.list(to=to, status="queued", limit=LOOKUP_LIMIT)
        found: dict[str, ProviderCall] = {}
        for call in [*queued, *started]:
            record = ProviderCall(
                sid=str(call.sid),
                to=str(call.to),
                from_=str(call._from),
                status=str(call.status),
                direction=str(call.direction),
                parent_sid=call.parent_call_sid,
                created_at=_aware(call.date_created),
                started_at=_aware(call.start_time),
            )
            # Twilio may filter by date only: keep what really is recent.
            moment = record.started_at or record.created_at
            if moment is None or moment >= since:
                found.setdefault(record.sid, record)
        return sorted(
            found.values(),
            key=lambda c: c.started_at or c.created_at or since,
            reverse=True,
        )

    def find_messages(self, *, to: str, since: datetime) -> list[ProviderMessage]:
        """Messages to ``to`` accepted since ``since``, newest first."""
        since = _aware(since) or since
        with _provider_errors(f"looking up messages to {to}"):
            messages = self._client.messages.list(to=to, date_sent_after=since, limit=LOOKUP_LIMIT)
        found = []
        for message in messages:
            created = _aware(message.date_created)
            if created is None or created >= since:
                found.append(
                    ProviderMessage(
                        sid=str(message.sid),
                        to=str(message.to),
                        from_=str(message.from_),
                        status=str(message.status),
                        created_at=created,
                    )
                )
        return found

    def check_dial(self, destination: str, caller_id: str | None) -> str | None:
        """Why the provider would refuse this call (see ``telephony.rules``), or None."""
        return check_dial(destination, caller_id, self.rules)

    def send_sms(
        self, *, to: str, body: str, from_: str, status_callback: str | None = None
    ) -> str:
        """Send an SMS and return its sid."""
        options: dict[str, Any] = {}
        if status_callback:
            options["status_callback"] = status_callback
        with _provider_errors(f"sending SMS to {to}", creates=True):
            message = self._client.messages.create(to=to, from_=from_, body=body, **options)
        return str(message.sid)

    def validate_request(self, url: str, params: Mapping[str, str] | str, signature: str) -> bool:
        """Check ``X-Twilio-Signature`` with the account's auth token."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))
