"""Fixtures for the telephony tests: an in-process simulator and a tiny fake app.

The fake app plays the role of DCC's webhook endpoints: it checks every request's
``X-Twilio-Signature`` with the twilio library's ``RequestValidator``, records it, and answers
TwiML from ``telephony.twiml``. No ``dcc`` code is involved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import WSGIRequestHandler, make_server

from telephony import TwilioTelephony, twiml
from telephony.simulator import Simulator

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
HOTLINE = "+864008123123"
SPEED = 0.005  # 1 simulated second = 5 ms


@dataclass
class Hit:
    """One webhook the fake app received."""

    path: str
    url: str
    params: dict[str, str]
    valid: bool
    at: float


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        pass


@dataclass
class FakeApp:
    """A stand-in for the DCC webhook endpoints, served on a free local port."""

    token: str
    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    #: path -> TwiML string or function(form) -> TwiML; unknown paths answer an empty 200.
    answers: dict[str, str | Callable[[dict[str, str]], str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on the fake app."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def received(self, path: str, **match: str) -> list[dict[str, str]]:
        """Params of the hits on ``path`` whose params include ``match``, in arrival order."""
        with self.lock:
            hits = list(self.hits)
        return [
            h.params
            for h in hits
            if h.path == path and all(h.params.get(k) == v for k, v in match.items())
        ]

    def statuses(self, call_sid: str, path: str = "status") -> list[str]:
        """CallStatus of each status callback received for ``call_sid``, in arrival order."""
        return [p["CallStatus"] for p in self.received(path, CallSid=call_sid)]

    def all_hits(self) -> list[Hit]:
        """Every hit, in arrival order."""
        with self.lock:
            return list(self.hits)

    def wsgi(self) -> Flask:
        """The Flask app: validate the signature, record, answer."""
        app = Flask("fake-dcc")
        validator = RequestValidator(self.token)

        @app.route("/<path:path>", methods=["GET", "POST"])
        def hook(path: str) -> tuple[str, int, dict[str, str]]:
            signature = request.headers.get("X-Twilio-Signature", "")
            params = request.form if request.method == "POST" else {}
            valid = validator.validate(request.url, params, signature)
            data = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
            with self.lock:
                self.hits.append(Hit(path, request.url, data, valid, time.monotonic()))
            if not valid:
                return "bad signature", 403, {}
            answer = self.answers.get(path, "")
            body = answer(data) if callable(answer) else answer
            return body, 200, {"Content-Type": "text/xml"}

        return app


@pytest.fixture
def app_server() -> Iterator[FakeApp]:
    """The fake app, listening; answers are configured per test."""
    fake = FakeApp(AUTH_TOKEN)
    server = make_server("127.0.0.1", 0, fake.wsgi(), threaded=True, request_handler=_Quiet)
    fake.base_url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim(app_server: FakeApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A started simulator whose hotline number points at the fake app."""
    # Twilio's client rewrites hosts when these are set; the adapter must not care.
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    simulator = Simulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        voice_url=app_server.url("voice/inbound"),
        voice_status_url=app_server.url("voice/status"),
        speed=SPEED,
        seed=7,
    )
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def telephony(sim: Simulator) -> TwilioTelephony:
    """The real Twilio adapter, pointed at the simulator."""
    return TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base_url=sim.base_url)


@pytest.fixture
def bridge_app(app_server: FakeApp) -> FakeApp:
    """The fake app answering the click-to-dial flow: bridge TwiML, then hang up."""

    def bridge(form: dict[str, str]) -> str:
        return twiml.bridge(
            customer=form["customer"],
            caller_id=HOTLINE,
            action_url=app_server.url("dial-action"),
            status_callback=app_server.url("status"),
            recording_callback=app_server.url("recording"),
            whisper="客户 张先生",
        )

    # The customer travels in the bridge URL's query; Flask's form does not hold it.
    def bridge_from_query(form: dict[str, str]) -> str:
        return bridge({**form, "customer": request.args["customer"]})

    app_server.answers["bridge"] = bridge_from_query
    app_server.answers["dial-action"] = twiml.hangup()
    return app_server


@pytest.fixture
def place_call(telephony: TwilioTelephony, bridge_app: FakeApp) -> Callable[..., str]:
    """Place a click-to-dial call through the adapter, the way the app does."""

    def place(agent: str, customer: str, **options: Any) -> str:
        return telephony.place_bridged_call(
            agent=agent,
            customer=customer,
            caller_id=HOTLINE,
            bridge_url=bridge_app.url(f"bridge?customer={quote(customer)}"),
            status_callback=bridge_app.url("status"),
            **options,
        )

    return place


#: Where the virtual-time tests start: a Tuesday morning in Shanghai (01:00 UTC).
VIRTUAL_START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@dataclass
class VirtualRig:
    """A virtual-time simulator, the fake app it delivers to in-process, and the adapter."""

    sim: Simulator
    app: FakeApp
    telephony: TwilioTelephony
    delivered_at: list[datetime]


def make_virtual_rig(**options: Any) -> VirtualRig:
    """Everything in one process: webhooks into the fake app's WSGI, REST into the engine."""
    fake = FakeApp(AUTH_TOKEN, base_url="http://dcc.test")
    simulator = Simulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        voice_url=fake.url("voice/inbound"),
        voice_status_url=fake.url("voice/status"),
        virtual=True,
        start=VIRTUAL_START,
        seed=11,
        **options,
    )
    delivered: list[datetime] = []
    simulator.deliver_to(fake.wsgi(), before_delivery=delivered.append)
    adapter = TwilioTelephony(
        ACCOUNT_SID, AUTH_TOKEN, api_base_url="http://sim.test", http_client=simulator.http_client()
    )
    return VirtualRig(simulator, fake, adapter, delivered)


@pytest.fixture
def virtual() -> Iterator[VirtualRig]:
    """A virtual-time rig; stopped after the test."""
    rig = make_virtual_rig()
    yield rig
    rig.sim.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` (real time) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)
