"""The in-process simulator: the engine plus a werkzeug server in a daemon thread.

::

    sim = Simulator(account_sid="AC…", auth_token="…", speed=0.01)
    base_url = sim.start()                      # http://127.0.0.1:<free port>
    telephony = make_telephony("sim", account_sid=…, auth_token=…, api_base_url=base_url)
    sim.set_behaviour("+8613800138000", busy=True)
    …
    sim.wait_idle()
    sim.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from telephony.simulator.api import create_app
from telephony.simulator.behaviour import Behaviour
from telephony.simulator.engine import Engine, SimConfig

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
    ) -> None:
        """Configure the simulator; nothing listens until :meth:`start`.

        ``voice_url`` / ``voice_status_url`` play the hotline number's configuration (where
        incoming calls and their final status are reported); ``speed`` scales simulated
        seconds to real ones (0.01: a 5 s call takes 50 ms, webhooks still say 5 s).
        """
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

    # ----------------------------------------------------------------- control
    def set_behaviour(self, number: str, **behaviour: Any) -> None:
        """Script the party at ``number`` (E.164 or ``client:<id>``); see :class:`Behaviour`.

        E.g. ``set_behaviour("+86138…", busy=True)`` or ``answer_after=3, hangup_after=20``.
        """
        self.engine.set_behaviour(number, behaviour)

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

    def webhooks(
        self, *, kind: str | None = None, call_sid: str | None = None
    ) -> list[dict[str, Any]]:
        """Every webhook sent (url, method, params, status, attempts…), oldest first.

        ``kind`` is one of ``status``, ``twiml``, ``incoming``, ``action``, ``recording``,
        ``wait``, ``sms-status``.
        """
        return self.engine.sender.records(kind=kind, call_sid=call_sid)
