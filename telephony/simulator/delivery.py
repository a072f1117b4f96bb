"""Webhook delivery: Twilio-signed, form-encoded requests to the app, each one recorded.

Signatures are computed with the twilio library's own ``RequestValidator.compute_signature``
over the exact URL requested plus the POST parameters, as Twilio does, so the app's validation
code is exercised for real.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
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


class WebhookSender:
    """Signs, sends, retries and records webhooks; safe to use from many threads."""

    def __init__(
        self,
        auth_token: str,
        *,
        retries: int = 2,
        retry_pause: float = 0.05,
        keep: int = 100_000,
    ) -> None:
        self._validator = RequestValidator(auth_token)
        self._retries = retries
        self._retry_pause = retry_pause
        self._lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=keep)
        self._next_id = 0
        self._local = threading.local()
        self.closed = False

    def _session(self) -> requests.Session:
        """One session per thread: keeps connections alive without sharing a Session."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

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
        """Deliver one webhook, retrying connection failures and 5xx answers a few times.

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
        started = time.monotonic()
        outcome = Delivery(None, error="not sent")
        attempts = 0
        for attempt in range(self._retries + 1):
            attempts = attempt + 1
            try:
                response = self._session().request(
                    method, target, data=body, headers=headers, timeout=TIMEOUT
                )
                outcome = Delivery(response.status_code, response.text)
            except requests.RequestException as exc:
                outcome = Delivery(None, error=f"{type(exc).__name__}: {exc}")
            if outcome.status is not None and outcome.status < 500:
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
