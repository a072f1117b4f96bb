"""The app and a virtual-time telephony simulator in one process: webhooks delivered into the
app's WSGI (signed as Twilio signs them), REST requests answered by the simulator's engine
through the real Twilio adapter. The app's clock follows the simulated one."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session
from support import PUBLIC_BASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, run_due
from web_support import PASSWORD

from dcc import clock
from dcc.calls import agents
from dcc.users.models import AgentStatus
from telephony import ANYWHERE, TwilioTelephony
from telephony.simulator import Simulator

HOTLINE = "+864008123123"


@dataclass
class Flow:
    sim: Simulator
    app: Flask
    session: Session
    telephony: TwilioTelephony
    #: (path, body) of every answer the app gave the simulator, in order.
    answers: list[tuple[str, str]] = field(default_factory=list)

    def now(self) -> dt.datetime:
        return self.sim.clock.wall(self.sim.clock.now())

    def run(self, seconds: float) -> None:
        """Play ``seconds`` of simulated time; the test's clock follows."""
        self.sim.run_until(self.sim.clock.now() + seconds)
        clock._frozen = self.now()
        self.session.expire_all()

    def at_now(self) -> Any:
        """The app's clock at the simulated now, for what the test does itself."""
        return clock.frozen(self.now())

    def webhooks(self, path: str) -> list[dict[str, Any]]:
        return [w for w in self.sim.webhooks() if path in w["url"]]


@contextlib.contextmanager
def running_flow(
    app: Flask, session: Session, start: dt.datetime, **options: Any
) -> Iterator[Flow]:
    """A flow from ``start``, the app's clock there; its simulator stopped afterwards."""
    with clock.frozen(start):
        made = make_flow(app, session, start, **options)
        try:
            yield made
        finally:
            made.sim.stop()


def make_flow(app: Flask, session: Session, start: dt.datetime, **options: Any) -> Flow:
    sim = Simulator(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        voice_url=PUBLIC_BASE_URL + "/webhooks/twilio/voice/inbound",
        voice_status_url=PUBLIC_BASE_URL + "/webhooks/twilio/voice/status",
        voice_fallback_url=PUBLIC_BASE_URL + "/webhooks/twilio/voice/fallback",
        hotline=HOTLINE,
        virtual=True,
        start=start,
        seed=5,
        **options,
    )

    def follow(at: dt.datetime) -> None:
        clock._frozen = at

    adapter = TwilioTelephony(
        TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN,
        api_base_url="http://sim.test",
        http_client=sim.http_client(),
        rules=ANYWHERE,
    )
    app.extensions["dcc.telephony"] = adapter
    flow = Flow(sim, app, session, adapter)

    def recording(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"".join(app(environ, start_response))
        flow.answers.append((environ.get("PATH_INFO", ""), body.decode()))
        return [body]

    sim.deliver_to(recording, before_delivery=follow)
    return flow


def agent_phone(n: int) -> str:
    return f"+86139000000{n:02d}"


def make_agent(staff: Any, n: int, status: AgentStatus = AgentStatus.AVAILABLE) -> Any:
    """DCC agent ``n`` (``agent1`` …) with a phone, in ``status``."""
    user = staff.user(f"agent{n}", "dcc_agent", phone=agent_phone(n), password=PASSWORD)
    agents.set_status(staff.session, user, status)
    staff.session.commit()
    return user


def play(flow: Flow, seconds: int, step: int = 1) -> None:
    """Play time in steps, running the jobs that fall due (the wrap-up timer) as they do."""
    for _ in range(0, seconds, step):
        flow.run(step)
        run_due(flow.session, flow.now())
