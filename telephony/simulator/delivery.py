"""Webhook delivery: Twilio-signed, form-encoded requests to the app, each one recorded.

Signatures are computed with the twilio library's own ``RequestValidator.compute_signature``
over the exact URL requested plus the POST parameters, as Twilio does, so the app's validation
code is exercised for real.

How a request travels is pluggable: over HTTP (:class:`HttpTransport`, the default) or
straight into a WSGI app in the same process (``telephony.simulator.inprocess``), signed the
same way. As at Twilio, an answer is never retried (a 5xx goes to the fallback URL, where the
caller has one); only a connection that could not be made is tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

#: (connect, read) timeouts: Twilio gives up after 5 s to connect and 15 s to answer.
TIMEOUT = (5.0, 15.0)


@dataclass(frozen=True)
class Delivery:
    """The outcome of one webhook: the final HTTP status (None if unreachable) and body."""

    status: int | None
    text: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


class Unreachable(Exception):
    """A transport could not deliver the request at all (worth another attempt)."""


class Transport(Protocol):
    """Carries one signed webhook and returns the app's (status, body)."""

    def __call__(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> tuple[int, str]: ...


class HttpTransport:
    """Webhooks over HTTP with ``requests``; one session per thread keeps connections alive."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def __call__(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> tuple[int, str]:
        try:
            response = self._session().request(
                method, url, data=data, headers=headers, timeout=timeout
            )
        except requests.RequestException as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        return response.status_code, response.text


class WebhookSender:
    """Signs, sends and records webhooks; safe to use from many threads.

    ``before_delivery`` (settable) is called with the simulated date just before each
    webhook goes out: a driver running the app in the same process sets the app's clock there.
    """

    def __init__(
        self,
        auth_token: str,
        *,
        retries: int = 2,
        retry_pause: float = 0.05,
        keep: int = 100_000,
        transport: Transport | None = None,
    ) -> None:
        self._validator = RequestValidator(auth_token)
        self._retries = retries
        self._retry_pause = retry_pause
        self._lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=keep)
        self._next_id = 0
        self.transport: Transport = transport or HttpTransport()
        self.before_delivery: Callable[[datetime], None] | None = None
        #: The simulated date now (set by the engine).
        self.clock: Callable[[], datetime] | None = None
        self.closed = False

    def send(
        self,
        url: str,
        params: dict[str, str],
        *,
        kind: str,
        call_sid: str | None = None,
        method: str = "POST",
        duplicate: bool = False,
        token: str | None = None,
    ) -> Delivery:
        """Deliver one webhook; a connection that fails is tried again, an answer never is.

        ``kind`` labels the record (``status``, ``twiml``, ``action``, ``recording``, …);
        ``duplicate`` marks a deliberate chaos copy; ``token`` becomes the
        ``I-Twilio-Idempotency-Token`` header, identical for a duplicate and its original.
        """
        if self.closed:
            return Delivery(None, error="simulator stopped")
        method = method.upper()
        if method == "GET":
            # GET webhooks carry the parameters in the query string and sign the URL alone.
            target = url + ("&" if "?" in url else "?") + urlencode(params)
            body: dict[str, str] | None = None
            signature = self._validator.compute_signature(target, {})
        else:
            target, body = url, params
            signature = self._validator.compute_signature(url, params)
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
        }
        if token:
            headers["I-Twilio-Idempotency-Token"] = token
        if self.before_delivery is not None and self.clock is not None:
            self.before_delivery(self.clock())
        started = time.monotonic()
        outcome = Delivery(None, error="not sent")
        attempts = 0
        for attempt in range(self._retries + 1):
            attempts = attempt + 1
            try:
                status, text = self.transport(method, target, body, headers, TIMEOUT)
                outcome = Delivery(status, text)
            except Unreachable as exc:
                outcome = Delivery(None, error=str(exc))
            if outcome.status is not None:
                break
            if attempt < self._retries and not self.closed:
                time.sleep(self._retry_pause * (attempt + 1))
        if not outcome.ok:
            log.warning(
                "webhook %s %s failed after %d attempt(s): %s",
                kind,
                url,
                attempts,
                outcome.error or f"HTTP {outcome.status}",
            )
        self._record(
            kind=kind,
            url=url,
            method=method,
            params=params,
            status=outcome.status,
            error=outcome.error,
            attempts=attempts,
            call_sid=call_sid,
            duplicate=duplicate,
            sent_at=started,
            elapsed=time.monotonic() - started,
        )
        return outcome

    def _record(self, **entry: Any) -> None:
        with self._lock:
            entry["id"] = self._next_id
            self._next_id += 1
            self._log.append(entry)

    def records(self, *, kind: str | None = None, call_sid: str | None = None) -> list[dict]:
        """Recorded webhooks in sending order, optionally filtered."""
        with self._lock:
            entries = list(self._log)
        return [
            dict(entry)
            for entry in entries
            if (kind is None or entry["kind"] == kind)
            and (call_sid is None or entry["call_sid"] == call_sid)
        ]

    def clear(self) -> None:
        """Forget every recorded webhook."""
        with self._lock:
            self._log.clear()
