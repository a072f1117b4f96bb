#!/usr/bin/env python3
"""Benchmark: lead webhooks while 200 live streams are open.

The web app runs as ``dcc serve`` runs it (uvicorn with the ASGI front, ``dcc.serve.
web_command``) on PostgreSQL (``DCC_BENCH_DATABASE_URL``) and Redis (``DCC_BENCH_REDIS_URL``).
Agents log in through the login form, as a browser does. 50 clients post signed lead
deliveries from new numbers (each answered 201 with a new lead), first with no stream open
(the baseline), then while the agents hold 200 open ``/stream`` connections (8 tabs each).
Each delivery not answered within 15 s (Twilio's and most portals' webhook time-out) counts
as a time-out. After the load, one event is published to every agent: each open stream must
deliver it. ``/healthz`` is timed while the streams are open.

With ``--before``, the former setup (gunicorn gthread, one worker with 16 threads, each stream
held in a thread) takes the same deliveries with no stream open, then a short run while the
same 200 streams are opened on it: what they did to it.

    python scripts/bench_streams.py [--streams 200] [--requests 3000] [--clients 50] [--before]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib
import requests

SLUG = "bench-stream-portal"
SECRET = "bench-streams-secret-0123456789"
PASSWORD = "bench-streams-pw"
TABS = 8  # open pages per agent (within the per-user cap of 10)
TIMEOUT = 15.0


def seed(url: str, agents: int) -> None:
    """Schema, the lead source and the agents who hold the streams; adds only what is missing."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from dcc import migrate
    from dcc.db import make_engine
    from dcc.leads import sources
    from dcc.leads.models import LeadSource
    from dcc.users import service as users
    from dcc.users.models import User

    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        if session.scalar(select(LeadSource.id).where(LeadSource.slug == SLUG)) is None:
            sources.create(session, slug=SLUG, name="压测门户", channel="portal", secret=SECRET)
        have = set(session.scalars(select(User.login).where(User.login.like("bench-stream-%"))))
        for i in range(agents):
            login = f"bench-stream-{i}"
            if login not in have:
                users.create_user(
                    session, login=login, role="dcc_agent", name=f"坐席{i}", password=PASSWORD
                )
        session.commit()
    engine.dispose()


def deliveries(count: int, run: str) -> list[benchlib.Request]:
    """Signed JSON deliveries, each from a new number."""
    from dcc.leads.sources import sign

    out: list[benchlib.Request] = []
    for n in range(count):
        payload = {
            "name": f"客户{n}",
            "phone": f"+86152{run}{n:04d}",
            "series": "凯美瑞",
            "external_id": f"stream-{run}-{n}",
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-DCC-Signature": sign(SECRET, body)}
        out.append(("POST", f"/webhooks/leads/{SLUG}", body, headers))
    return out


def log_in(base_url: str, login: str) -> str:
    """The session cookie of ``login``, through the login form."""
    browser = requests.Session()
    page = browser.get(f"{base_url}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = browser.post(
        f"{base_url}/login",
        data={"login": login, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, f"login {login}: {answer.status_code}"
    return str(browser.cookies["session"])


class OpenStreams:
    """``/stream`` connections held open on an event loop of their own (a thread)."""

    def __init__(self, base_url: str, cookies: list[str]) -> None:
        self.host, port = base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.cookies = cookies
        self.ready = 0
        self.refused: dict[int, int] = {}
        self.marks: dict[int, int] = {}  # stream -> marker events received
        self.ended = 0  # streams the server closed
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tasks: list[Any] = []

    def open(self, wait: float) -> float:
        """Open every stream; seconds until all said ``ready`` (or ``wait`` ran out)."""
        self.thread.start()
        began = time.monotonic()
        for index, cookie in enumerate(self.cookies):
            holding = self._hold(index, cookie)
            self.tasks.append(asyncio.run_coroutine_threadsafe(holding, self.loop))
        while self.ready + sum(self.refused.values()) < len(self.cookies):
            if time.monotonic() - began > wait:
                break
            time.sleep(0.05)
        return time.monotonic() - began

    async def _hold(self, index: int, cookie: str) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(
            f"GET /stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Accept: text/event-stream\r\nCookie: session={cookie}\r\n\r\n".encode()
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if status != 200:
                self.refused[status] = self.refused.get(status, 0) + 1
                return
            seen = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    self.ended += 1
                    return
                seen = (seen + data)[-4096:]
                if b"event: ready" in seen and index not in self.marks:
                    self.marks[index] = 0
                    self.ready += 1
                    seen = seen.split(b"event: ready", 1)[1]
                while b"event: bench-mark" in seen:
                    self.marks[index] = self.marks.get(index, 0) + 1
                    seen = seen.split(b"event: bench-mark", 1)[1]
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.ended += 1
        finally:
            writer.close()

    def marked(self) -> int:
        return sum(1 for count in self.marks.values() if count > 0)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def forget_open_streams(redis_url: str, ids: list[int]) -> None:
    """Places left by an earlier run's streams (its server was stopped under them)."""
    import redis

    from dcc import streams

    redis.Redis.from_url(redis_url).delete(*(streams.streams_key(i) for i in ids))


def publish_marks(redis_url: str, user_ids: list[int]) -> None:
    import redis

    from dcc import live

    conn = redis.Redis.from_url(redis_url)
    for user_id in user_ids:
        conn.publish(live.user_channel(user_id), json.dumps({"event": "bench-mark", "data": {}}))


def user_ids(url: str, agents: int) -> list[int]:
    from sqlalchemy import select

    from dcc.db import make_engine
    from dcc.users.models import User

    engine = make_engine(url)
    with engine.connect() as conn:
        logins = [f"bench-stream-{i}" for i in range(agents)]
        ids = list(conn.execute(select(User.id).where(User.login.in_(logins))).scalars())
    engine.dispose()
    return ids


def healthz_ms(base_url: str, times: int = 20) -> list[float]:
    out = []
    with requests.Session() as browser:
        for _ in range(times):
            began = time.perf_counter()
            browser.get(f"{base_url}/healthz", timeout=TIMEOUT).raise_for_status()
            out.append((time.perf_counter() - began) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000, help="at most 9000")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--before", action="store_true", help="also on gunicorn gthread 1x16")
    args = parser.parse_args()
    if not 0 < args.requests <= 9000:
        parser.error("--requests must be 1..9000")

    from dcc import serve

    url = benchlib.bench_database_url()
    redis_url = os.environ.get("DCC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    agents = -(-args.streams // TABS)
    seed(url, agents)
    forget_open_streams(redis_url, user_ids(url, agents))
    env = {
        "DCC_DATABASE_URL": url,
        "DCC_REDIS_URL": redis_url,
        "DCC_SECRET_KEY": "bench",
        "DCC_TELEPHONY": "sim",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench-auth-token",
        "DCC_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    run = f"{int(time.time()) % 1000:03d}"
    warmup, baseline_load, streams_load, before_load, warmup_before, before_baseline = (
        deliveries(n, f"{run}{phase}")
        for phase, n in enumerate(
            (200, args.requests, args.requests, min(args.requests, 500), 200, args.requests)
        )
    )

    def hammer(name: str, base_url: str, load: list[benchlib.Request], timeout: float = TIMEOUT):
        return benchlib.hammer(
            name, base_url, load, clients=args.clients, ok=lambda s: s == 201, timeout=timeout
        )

    port = benchlib.free_port()
    server = benchlib.start_server(serve.web_command("127.0.0.1", port), env, port, name="web")
    streams: OpenStreams | None = None
    try:
        base = server.base_url
        cookies = [log_in(base, f"bench-stream-{i}") for i in range(agents)]
        hammer("warm-up", base, warmup)
        baseline = hammer("no stream open", base, baseline_load)
        tabs = [cookies[i // TABS] for i in range(args.streams)]
        streams = OpenStreams(base, tabs)
        opened_in = streams.open(wait=60)
        health = healthz_ms(base)
        loaded = hammer(f"{streams.ready} streams open", base, streams_load)
        still_open = streams.ready - streams.ended
        publish_marks(redis_url, user_ids(url, agents))
        deadline = time.monotonic() + 10
        while streams.marked() < streams.ready and time.monotonic() < deadline:
            time.sleep(0.05)
        delivered = streams.marked()
    finally:
        if streams is not None:
            streams.close()
        server.stop()

    before = before_idle = None
    if args.before:
        port = benchlib.free_port()
        old = benchlib.start_gunicorn("dcc:create_app()", env, workers=1, threads=16, port=port)
        try:
            hammer("warm-up", old.base_url, warmup_before)
            before_idle = hammer("gthread 1x16, no stream", old.base_url, before_baseline)
            old_streams = OpenStreams(old.base_url, tabs)
            old_streams.open(wait=10)
            name = f"gthread 1x16, {old_streams.ready} streams"
            before = hammer(name, old.base_url, before_load, timeout=5.0)
            old_streams.close()
        finally:
            old.stop()

    figures = benchlib.Figures("healthz", len(health), 0, 1.0, health)
    print(
        f"\n{args.requests} signed lead deliveries from new numbers per phase, {args.clients} "
        f"clients, web as `dcc serve` runs it (uvicorn + ASGI front), database "
        f"{url.split('@')[-1]}"
    )
    print(
        f"streams: {streams.ready}/{args.streams} open and ready in {opened_in:.1f} s "
        f"({agents} agents x {TABS} tabs; refused {streams.refused or 'none'}); "
        f"{still_open} still open after the load; {delivered}/{streams.ready} delivered an "
        f"event published after it"
    )
    print(baseline.line() + f"   time-outs {baseline.timeouts}")
    print(loaded.line() + f"   time-outs {loaded.timeouts}")
    print(
        f"ratio with streams / without: throughput {loaded.rps / baseline.rps:.2f}, "
        f"p50 {loaded.percentile(50) / baseline.percentile(50):.2f}, "
        f"p99 {loaded.percentile(99) / baseline.percentile(99):.2f}"
    )
    print(
        f"/healthz with {streams.ready} streams open: p50 {figures.percentile(50):.1f} ms, "
        f"max {max(health):.1f} ms"
    )
    if before is not None and before_idle is not None:
        print("the former setup (gunicorn gthread, 1 worker x 16 threads, streams in threads):")
        print(before_idle.line() + f"   time-outs {before_idle.timeouts}")
        print(before.line() + f"   time-outs (5 s) {before.timeouts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
