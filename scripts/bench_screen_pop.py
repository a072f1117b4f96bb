#!/usr/bin/env python3
"""Benchmark: screen-pop latency, from the agent's key press to the agent's screen.

The app runs under gunicorn (gthread) on PostgreSQL (``DCC_BENCH_DATABASE_URL``, default a
``dcc_bench`` database on the local server) and a real Redis (``DCC_BENCH_REDIS_URL``). 20
agents log in and hold their ``/stream`` open. For each inbound call the script posts the
hotline webhook, the signed status callback of the agent leg that answered
(``CallStatus=in-progress``), then the agent's key at the screen (``Digits=1``, the moment the
agent takes the call), and times from sending that key to the ``screen_pop`` event arriving on
that agent's stream. Prints p50 / p95 / p99. Target: p95 < 100 ms.

    python scripts/bench_screen_pop.py [--calls 300] [--agents 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib

TOKEN = "bench-auth-token"
PUBLIC = "http://bench.dcc.test"
HOTLINE = "+864008123123"
PASSWORD = "bench-pop-pw"
ACCOUNT = "AC" + "0" * 32


def seed(url: str, agents: int) -> None:
    """The schema and ``agents`` inbound agents with web logins (once)."""
    from sqlalchemy import select

    from dcc import migrate
    from dcc.db import Database
    from dcc.users import service as users
    from dcc.users.models import AgentStatus, User

    migrate.upgrade(url)
    database = Database(url)
    with database.session_scope() as session:
        for i in range(agents):
            login = agent_login(i)
            user = session.scalar(select(User).where(User.login == login))
            if user is None:
                user = users.create_user(
                    session,
                    login=login,
                    role="dcc_agent",
                    name=f"坐席{i}",
                    phone=agent_phone(i),
                    password=PASSWORD,
                )
            user.agent_status = AgentStatus.AVAILABLE
    database.engine.dispose()


def agent_login(i: int) -> str:
    return f"bench-pop-{i:02d}"


def agent_phone(i: int) -> str:
    return f"+86139100000{i:02d}"


class Connection:
    """One keep-alive HTTP/1.1 connection with the session cookie of a logged-in agent."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, str, http.client.HTTPResponse]:
        head = dict(headers or {})
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=head)
        response = self.conn.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), response

    def login(self, login: str) -> None:
        _status, _loc, page = self.request("GET", "/login")
        html = page.read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', html)
        if token is None:
            raise RuntimeError("no CSRF token on /login")
        form = urllib.parse.urlencode(
            {"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
        ).encode()
        status, _loc, answer = self.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        answer.read()
        if status != 302:
            raise RuntimeError(f"login {login} answered {status}")


@dataclass
class Stream:
    """An agent's open /stream, read on its own thread; screen pops are timestamped."""

    index: int
    connection: Connection
    pops: dict[int, float] = field(default_factory=dict)
    ready: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> None:
        status, _loc, response = self.connection.request(
            "GET", "/stream", headers={"Accept": "text/event-stream"}
        )
        if status != 200:
            raise RuntimeError(f"stream {self.index} answered {status}")
        kind = None
        while True:
            line = response.readline()
            if not line:
                return
            now = time.perf_counter()
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                kind = text[7:]
            elif text.startswith("data: ") and kind is not None:
                if kind == "ready":
                    self.ready.set()
                elif kind == "screen_pop":
                    call_id = json.loads(text[6:])["call_id"]
                    with self.arrived:
                        self.pops[call_id] = now
                        self.arrived.notify_all()
                kind = None

    def wait_for(self, call_id: int, timeout: float = 5.0) -> float | None:
        with self.arrived:
            self.arrived.wait_for(lambda: call_id in self.pops, timeout)
            return self.pops.get(call_id)


def signed(path: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    return urllib.parse.urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }


def one_call(webhooks: Connection, stream: Stream, n: int, run: str) -> float | None:
    """Ring the hotline, answer on ``stream``'s agent; the pop's latency in ms (None: lost)."""
    parent = f"CA{run}{n:026d}p"[:34]
    caller = f"+86137{run[-4:]}{n:04d}"
    path = "/webhooks/twilio/voice/inbound"
    body, headers = signed(
        path,
        {
            "CallSid": parent,
            "AccountSid": ACCOUNT,
            "From": caller,
            "To": HOTLINE,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        },
    )
    status, _loc, response = webhooks.request("POST", path, body, headers)
    twiml = response.read().decode()
    found = re.search(r"parent_call_id=(\d+)", twiml)
    if status != 200 or found is None:
        raise RuntimeError(f"inbound webhook answered {status}: {twiml[:200]}")
    parent_id = int(found.group(1))
    agent_leg = {
        "CallSid": f"CA{run}{n:026d}a"[:34],
        "ParentCallSid": parent,
        "AccountSid": ACCOUNT,
        "From": caller,
        "To": agent_phone(stream.index),
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }
    path = f"/webhooks/twilio/voice/status?parent_call_id={parent_id}&leg=agent"
    body, headers = signed(
        path, {**agent_leg, "CallbackSource": "call-progress-events", "SequenceNumber": "2"}
    )
    status, _loc, response = webhooks.request("POST", path, body, headers)
    response.read()
    if status >= 300:
        raise RuntimeError(f"status webhook answered {status}")
    # The agent hears the whisper and presses 1: that key takes the call and pops the screen.
    path = f"/webhooks/twilio/voice/screen-key?parent_call_id={parent_id}"
    body, headers = signed(path, {**agent_leg, "Digits": "1"})
    sent = time.perf_counter()
    status, _loc, response = webhooks.request("POST", path, body, headers)
    response.read()
    if status >= 300:
        raise RuntimeError(f"screen key webhook answered {status}")
    arrived = stream.wait_for(parent_id)
    return None if arrived is None else (arrived - sent) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()

    url = benchlib.bench_database_url()
    seed(url, args.agents)
    redis_url = os.environ.get("DCC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    env = {
        "DCC_DATABASE_URL": url,
        "DCC_SECRET_KEY": "bench-secret-key-0123456789",
        "DCC_METRICS_TOKEN": "bench-metrics",
        "DCC_TELEPHONY": "sim",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "DCC_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "DCC_PUBLIC_BASE_URL": PUBLIC,
        "DCC_OPENING_HOURS": "00:00-24:00",
        "DCC_REDIS_URL": redis_url,
    }
    server = benchlib.start_gunicorn(
        "dcc:create_app()", env, workers=args.workers, threads=args.threads
    )
    try:
        streams = []
        for i in range(args.agents):
            connection = Connection(server.base_url)
            connection.login(agent_login(i))
            stream = Stream(i, connection)
            threading.Thread(target=stream.run, daemon=True).start()
            streams.append(stream)
        for stream in streams:
            if not stream.ready.wait(10):
                raise RuntimeError(f"stream {stream.index} did not open")
        webhooks = Connection(server.base_url)
        run = f"{int(time.time()) % 100000:05d}"
        for n in range(20):  # warm-up: connections, caches, the first queries
            one_call(webhooks, streams[n % len(streams)], 900000 + n, run)
        latencies: list[float] = []
        lost = 0
        for n in range(args.calls):
            latency = one_call(webhooks, streams[n % len(streams)], n, run)
            if latency is None:
                lost += 1
            else:
                latencies.append(latency)
    finally:
        server.stop()

    figures = benchlib.Figures("screen pop", args.calls, lost, 1.0, latencies)
    print(
        f"\n{args.calls} inbound calls answered, {args.agents} agent streams open, "
        f"gunicorn gthread {args.workers}x{args.threads}, database {url.split('@')[-1]}"
    )
    print(
        f"status webhook sent -> screen_pop on the agent's /stream:  "
        f"p50 {figures.percentile(50):.1f} ms   p95 {figures.percentile(95):.1f} ms   "
        f"p99 {figures.percentile(99):.1f} ms   max {max(latencies, default=float('nan')):.1f} ms"
        f"   lost {lost}"
    )
    print(f"target: p95 < 100 ms -> {'met' if figures.percentile(95) < 100 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
