"""The simulator and the app in one process, with no sockets between them.

- :class:`WsgiTransport` delivers the simulator's webhooks straight into the app's WSGI
  callable, signed exactly as over HTTP (the signature covers the full URL, which becomes the
  request's scheme, host and path).
- :class:`SimHttpClient` is a ``twilio.http.HttpClient`` that hands the twilio library's REST
  requests to the simulator's WSGI app: ``TwilioTelephony(..., http_client=SimHttpClient(sim))``
  drives the real adapter and the real client against the engine, in-process.

Together with virtual time this lets a single-process driver (the dealership simulation) run
the app and the telephony engine deterministically, a simulated day in seconds.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from werkzeug.test import Client

from telephony.simulator.api import INPROCESS

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _split(url: str) -> tuple[str, str, str]:
    """(base URL, path, query) of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/", parts.query


class WsgiTransport:
    """Delivers webhooks by calling a WSGI app (e.g. the Flask app) directly."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> tuple[int, str]:
        base, path, query = _split(url)
        response = Client(self.app, use_cookies=False).open(
            path,
            base_url=base,
            method=method,
            query_string=query,
            data=data,
            headers=headers,
        )
        try:
            return response.status_code, response.get_data(as_text=True)
        finally:
            response.close()


class SimHttpClient(HttpClient):
    """The twilio library's HTTP client, answered by the simulator's WSGI app in-process.

    ``app`` is the simulator's ``wsgi_app`` (``Simulator.wsgi_app``). A request the simulator
    is told to answer late (``/sim/faults``) raises ``requests.ReadTimeout`` when the delay
    reaches this client's ``timeout``, after the simulator accepted it — as a real time-out.
    """

    def __init__(self, app: WsgiApp, timeout: float | None = 10.0) -> None:
        super().__init__(log, False, timeout)
        self.app = app

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Serve one REST request with the simulator's app."""
        base, path, query = _split(uri)
        sent_headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent_headers["Authorization"] = f"Basic {token}"
        response = Client(self.app, use_cookies=False).open(
            path,
            base_url=base,
            method=method.upper(),
            query_string=params if params else (query or None),
            data=data,
            headers=sent_headers,
            environ_overrides={INPROCESS: True},
        )
        try:
            late = float(response.headers.get("X-Sim-Late") or 0)
            limit = timeout if timeout is not None else self.timeout
            if late and limit is not None and late >= limit:
                raise requests.ReadTimeout(f"no answer from the simulator within {limit} s")
            return TwilioResponse(
                response.status_code, response.get_data(as_text=True), dict(response.headers)
            )
        finally:
            response.close()
