"""The in-process simulator: the engine plus a werkzeug server in a daemon thread.

::

    sim = Simulator(account_sid="AC…", auth_token="…", speed=0.01)
    base_url = sim.start()                      # http://127.0.0.1:<free port>
    telephony = make_telephony("sim", account_sid=…, auth_token=…, api_base_url=base_url)
    sim.set_behaviour("+8613800138000", busy=True)
    …
    sim.wait_idle()
    sim.stop()

Virtual time, everything in one process (no sockets, no sleeping)::

    sim = Simulator(virtual=True, start=datetime(2026, 12, 1, 1, 0, tzinfo=UTC), seed=1,
                    hotline="+864008123123", voice_url="http://dcc.test/webhooks/…")
    sim.deliver_to(flask_app, before_delivery=set_app_clock)   # webhooks -> WSGI, signed
    telephony = TwilioTelephony(sid, token, api_base_url="http://sim.test",
                                http_client=sim.http_client())
    sim.originate_inbound("+8613800138000", "+864008123123")
    sim.run_until(3600)                        # every event of the first hour, in order
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from telephony.simulator.account import PhoneNumber, account_from_settings
from telephony.simulator.api import create_app
from telephony.simulator.behaviour import Behaviour
from telephony.simulator.engine import Engine, SimConfig
from telephony.simulator.inprocess import SimHttpClient, WsgiApp, WsgiTransport
from telephony.simulator.queueing import queue_reports
from telephony.simulator.virtual import VirtualClock

log = logging.getLogger("telephony.simulator.http")


class _QuietHandler(WSGIRequestHandler):
    """Request lines at DEBUG on our logger: werkzeug's INFO lines would drown test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)


#: Test credentials in Twilio's format, for demos that configure nothing.
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "simulator-auth-token"


class Simulator:
    """A local stand-in for Twilio: its REST API in, signed webhooks out."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        voice_url: str | None = None,
        voice_status_url: str | None = None,
        voice_status_events: Iterable[str] = ("completed",),
        speed: float = 1.0,
        duplicate_events: float | bool = 0.0,
        reorder_events: bool = False,
        seed: int | None = None,
        default_behaviour: Mapping[str, Any] | None = None,
        say_seconds: float = 1.0,
        play_seconds: float = 5.0,
        hotline: str | None = None,
        voice_fallback_url: str | None = None,
        owned_numbers: Iterable[str] = (),
        verified_caller_ids: Iterable[str] = (),
        clients: Iterable[str] | None = None,
        geo_allowed: Iterable[str] | None = None,
        geo_blocked: Iterable[str] = (),
        calls_per_second: float = 1.0,
        recording_processing: float = 0.0,
        virtual: bool = False,
        start: datetime | None = None,
    ) -> None:
        """Configure the simulator; nothing listens until :meth:`start`.

        ``voice_url`` / ``voice_fallback_url`` / ``voice_status_url`` play the hotline number's
        configuration (where incoming calls go, where they go when the voice URL fails, where
        their final status is reported); ``speed`` scales simulated seconds to real ones
        (0.01: a 5 s call takes 50 ms, webhooks still say 5 s).

        The account (see ``telephony.simulator.account``): ``hotline`` and ``owned_numbers``
        are its numbers — with any, a ``From`` / ``callerId`` must be one of them or of
        ``verified_caller_ids``; ``clients`` the registered ``client:`` identities (``None``:
        all answer); ``geo_allowed`` / ``geo_blocked`` E.164 prefixes (default: everywhere);
        ``calls_per_second`` paces REST-created calls (the rest wait ``queued``).
        ``recording_processing`` is how long a recording stays ``processing``.

        ``virtual=True`` runs on virtual time from ``start``: nothing happens until the clock
        is advanced (:meth:`run_until`, :meth:`wait_idle`); ``speed`` is then unused.
        """
        numbers: dict[str, dict[str, Any]] = {}
        if hotline:
            numbers[hotline] = {
                "voice_url": voice_url,
                "voice_fallback_url": voice_fallback_url,
                "status_callback": voice_status_url,
            }
        account = account_from_settings(
            owned_numbers=[n for n in owned_numbers if n != hotline],
            verified_caller_ids=verified_caller_ids,
            clients=clients,
            geo_allowed=geo_allowed,
            geo_blocked=geo_blocked,
            calls_per_second=calls_per_second,
            numbers=numbers,
        )
        self.config = SimConfig(
            account_sid=account_sid,
            auth_token=auth_token,
            voice_url=voice_url,
            voice_status_url=voice_status_url,
            voice_status_events=frozenset(voice_status_events),
            speed=speed,
            duplicate_events=float(duplicate_events),
            reorder_events=reorder_events,
            seed=seed,
            say_seconds=say_seconds,
            play_seconds=play_seconds,
            default_behaviour=Behaviour.from_mapping(default_behaviour or {}),
            voice_fallback_url=voice_fallback_url,
            account=account,
            recording_processing=recording_processing,
            virtual=virtual,
            start=start,
        )
        self.engine = Engine(self.config)
        self.wsgi_app = create_app(self.engine)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port) and return the base URL."""
        if self._server is not None:
            return self.base_url
        server = make_server(
            host, port, self.wsgi_app, threaded=True, request_handler=_QuietHandler
        )
        self._server = server
        self.engine.base_url = f"http://{host}:{server.port}"
        # A short poll interval: shutdown() waits up to one interval, which tests feel.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="sim-http", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """End every call without further webhooks and stop listening."""
        self.engine.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port`` once started: the ``api_base_url`` for the Twilio adapter."""
        return self.engine.base_url

    # ----------------------------------------------------------------- in-process and virtual
    def deliver_to(
        self, app: WsgiApp, *, before_delivery: Callable[[datetime], None] | None = None
    ) -> None:
        """Deliver every webhook by calling the WSGI ``app`` directly (signed as over HTTP).

        ``before_delivery`` is called with the simulated date before each webhook: the place
        for a driver to set the app's clock.
        """
        self.engine.sender.transport = WsgiTransport(app)
        self.engine.sender.before_delivery = before_delivery

    def http_client(self, timeout: float | None = 10.0) -> SimHttpClient:
        """A ``twilio.http.HttpClient`` answered by this simulator in-process."""
        if not self.engine.base_url:
            self.engine.base_url = "http://simulator.invalid"
        return SimHttpClient(self.wsgi_app, timeout=timeout)

    @property
    def clock(self) -> VirtualClock:
        """The virtual clock (virtual mode only)."""
        virtual = self.engine.virtual
        if virtual is None:
            raise RuntimeError("the simulator runs in real time: start it with virtual=True")
        return virtual

    def now(self) -> datetime:
        """The simulated date now."""
        return self.engine.clock.wall(self.engine.clock.now())

    def run_until(self, until: float | datetime) -> None:
        """Virtual mode: play out every event due by ``until`` (virtual seconds or a date), in
        (due time, sequence) order, and return when nothing more is runnable by then."""
        clock = self.clock
        clock.advance_to(clock.at(until) if isinstance(until, datetime) else until)

    advance_to = run_until

    def run_until_idle(self, limit: float | None = None) -> float:
        """Virtual mode: play out until every call and message has ended; returns the time."""
        clock = self.clock
        return clock.run_until_idle(clock.now() + limit if limit is not None else float("inf"))

    # ----------------------------------------------------------------- the account
    def own_number(
        self,
        number: str,
        *,
        voice_url: str | None = None,
        voice_fallback_url: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        """Make ``number`` one of the account's numbers, with its voice configuration."""
        with self.engine.cv:
            self.engine.account.add_number(
                PhoneNumber(number, voice_url, voice_fallback_url, status_callback)
            )

    def verify_caller_id(self, number: str) -> None:
        """Add a verified caller ID to the account."""
        with self.engine.cv:
            self.engine.account.verified.add(number)

    def register_client(self, identity: str, registered: bool = True) -> None:
        """Register (or unregister) a ``client:`` identity's device."""
        with self.engine.cv:
            self.engine.account.register_client(identity, registered)

    def set_geo_permissions(
        self, allowed: Iterable[str] | None = None, blocked: Iterable[str] = ()
    ) -> None:
        """Allow calls only to ``allowed`` E.164 prefixes (None: everywhere), never to
        ``blocked`` ones."""
        with self.engine.cv:
            self.engine.account.set_geo(allowed, blocked)

    def set_calls_per_second(self, rate: float) -> None:
        """Pace REST-created calls at ``rate`` per second."""
        if rate <= 0:
            raise ValueError("calls_per_second must be positive")
        with self.engine.cv:
            self.engine.account.calls_per_second = float(rate)

    def respond_late(self, seconds: float, count: int = 1) -> None:
        """Create the next ``count`` calls or messages but answer the REST request ``seconds``
        late, so the client times out after the provider accepted the request."""
        self.engine.respond_late(seconds, count)

    # ----------------------------------------------------------------- control
    def set_behaviour(self, number: str, **behaviour: Any) -> None:
        """Script the party at ``number`` (E.164 or ``client:<id>``); see :class:`Behaviour`.

        E.g. ``set_behaviour("+86138…", busy=True)`` or ``answer_after=3, hangup_after=20``.
        """
        self.engine.set_behaviour(number, behaviour)

    def set_behaviour_script(self, script: Callable[[str], Behaviour | None] | None) -> None:
        """Script each new leg of a number that has no behaviour of its own: ``script(number)``
        returns its :class:`Behaviour` (or None for the default), e.g. by the hour of day."""
        self.engine.set_behaviour_script(script)

    def set_default_behaviour(self, **behaviour: Any) -> None:
        """Script every number that has no script of its own."""
        self.engine.set_behaviour("*", behaviour)

    def clear_behaviour(self, number: str) -> None:
        """Forget the script of ``number``."""
        self.engine.set_behaviour(number, None)

    def set_chaos(
        self, *, duplicate_events: float | bool | None = None, reorder_events: bool | None = None
    ) -> None:
        """Duplicate status callbacks with this probability; deliver them shuffled at the end."""
        self.engine.set_chaos(duplicate_events=duplicate_events, reorder_events=reorder_events)

    def originate_inbound(
        self,
        from_: str,
        to: str,
        voice_url: str | None = None,
        status_callback: str | None = None,
    ) -> str:
        """Place an inbound call to the hotline ``to``; returns its CallSid."""
        return self.engine.originate_inbound(from_, to, voice_url, status_callback).sid

    def end_call(self, sid: str) -> None:
        """Hang up ``sid`` as if its party did (same path as the REST ``Status=completed``)."""
        self.engine.update_call(sid, status="completed")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every call and message has played out; TimeoutError otherwise."""
        self.engine.wait_idle(timeout)

    def reset(self) -> None:
        """End every call silently and forget all calls, messages, webhooks and scripts."""
        self.engine.reset()

    # ----------------------------------------------------------------- inspection
    def calls(self) -> list[dict[str, Any]]:
        """Every leg in request order (sid, parent, to, from, direction, status history…)."""
        return self.engine.calls()

    def call(self, sid: str) -> dict[str, Any]:
        """One leg's report; KeyError if the simulator never saw ``sid``."""
        for report in self.engine.calls():
            if report["sid"] == sid:
                return report
        raise KeyError(sid)

    def messages(self) -> list[dict[str, Any]]:
        """Every SMS in request order."""
        return self.engine.message_reports()

    def alerts(self) -> list[dict[str, Any]]:
        """Errors as Twilio's debugger lists them (code, message, call_sid, url, sim_time)."""
        with self.engine.cv:
            return list(self.engine.alerts)

    def queues(self) -> list[dict[str, Any]]:
        """Every queue: sid, name, average wait and the callers waiting, oldest first."""
        return queue_reports(self.engine)

    def recording(self, sid: str) -> dict[str, Any]:
        """One recording's record (call_sid, duration, status…); KeyError if unknown."""
        with self.engine.cv:
            return dict(self.engine.recordings[sid])

    def webhooks(
        self, *, kind: str | None = None, call_sid: str | None = None
    ) -> list[dict[str, Any]]:
        """Every webhook sent (url, method, params, status, attempts…), oldest first.

        ``kind`` is one of ``status``, ``twiml``, ``incoming``, ``fallback``, ``action``,
        ``gather``, ``whisper``, ``recording``, ``wait``, ``sms-status``.
        """
        return self.engine.sender.records(kind=kind, call_sid=call_sid)
