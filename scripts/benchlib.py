"""Shared pieces of the benchmark scripts: servers, data sets, concurrent clients, figures.

Benchmarks print figures; they never pass or fail. Each compares against a baseline measured
in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)
DEFAULT_BENCH_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/dcc_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_database_url() -> str:
    """A PostgreSQL database of its own (created if missing), or the one named by the env."""
    url = os.environ.get("DCC_BENCH_DATABASE_URL", DEFAULT_BENCH_DB)
    if url.startswith("postgresql"):
        from dcc.db import make_engine

        server = make_engine(url.rsplit("/", 1)[0] + "/postgres")
        name = url.rsplit("/", 1)[1]
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        server.dispose()
    return url


def load_options(parser: argparse.ArgumentParser) -> None:
    """The load a web benchmark sends: ``--requests`` (1 to 10,000, the numbers the data sets
    can tell apart), ``--clients`` at once, against gunicorn's ``--workers`` x ``--threads``."""
    parser.add_argument("--requests", type=_requests, default=4000, help="at most 10000")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)


def _requests(value: str) -> int:
    count = int(value)
    if not 0 < count <= 10_000:
        raise argparse.ArgumentTypeError("--requests must be 1..10000")
    return count


def app_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The settings a benchmarked app starts with: the bench database and Redis, a simulated
    provider whose REST calls go nowhere, plus ``overrides`` (``DCC_…`` or ``TWILIO_…`` names)."""
    return {
        "DCC_DATABASE_URL": database_url,
        "DCC_SECRET_KEY": "bench-secret-key-0123456789",
        "DCC_METRICS_TOKEN": "bench-metrics",
        "DCC_TELEPHONY": "sim",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench-auth-token",
        "DCC_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "DCC_REDIS_URL": os.environ.get("DCC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        **overrides,
    }


@dataclass
class Server:
    """A web server (gunicorn, uvicorn) in its own process group."""

    process: subprocess.Popen[bytes]
    base_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_gunicorn(
    app: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    threads: int = 8,
    chdir: str = ROOT,
    port: int | None = None,
) -> Server:
    port = port or free_port()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    command = [
        gunicorn,
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--reuse-port",
        "--log-level",
        "warning",
        "--chdir",
        chdir,
        app,
    ]
    return start_server(command, env, port, name=app)


def start_server(command: list[str], env: dict[str, str], port: int, *, name: str) -> Server:
    """Run ``command`` (a server listening on ``port``) in its own process group; returns once
    it answers ``/healthz``."""
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": ROOT, **env}, start_new_session=True
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(server.base_url + "/healthz", timeout=2)
            return server
        except Exception:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}") from None
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer /healthz in time")


@dataclass
class Figures:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    timeouts: int = 0  # requests given up on after the hammer's time-out (counted in errors)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.rps:9.1f} req/s   p50 {self.percentile(50):7.2f} ms   "
            f"p99 {self.percentile(99):7.2f} ms   errors {self.errors}/{self.requests}"
        )


Request = tuple[str, str, bytes, dict[str, str]]  # method, path, body, headers
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def hammer(
    name: str,
    base_url: str,
    requests: Sequence[Request],
    *,
    clients: int,
    ok: Callable[[int], bool] = lambda status: status < 400,
    timeout: float | None = None,
) -> Figures:
    """Send ``requests`` from ``clients`` keep-alive connections at once; time each one.

    With ``timeout``, a request not answered within that many seconds is given up on (an
    error, and a time-out) and its client goes on with a new connection.

    The clients share one asyncio loop on pre-built request bytes: the load generator runs on
    the server's machine, so it must take as little of it as it can (fifty threads with
    ``http.client`` took about a tenth of this two-core machine's CPU).
    """
    host, port = base_url.removeprefix("http://").split(":")
    wire = [_on_the_wire(f"{host}:{port}", request) for request in requests]
    chunks = [wire[i::clients] for i in range(clients)]
    latencies: list[float] = []
    errors = timeouts = 0

    async def client(chunk: Sequence[bytes], streams: Streams) -> None:
        nonlocal errors, timeouts
        reader, writer = streams
        for data in chunk:
            began = time.perf_counter()
            try:
                writer.write(data)
                status, keep_alive = await asyncio.wait_for(_response(reader), timeout)
                if not ok(status):
                    errors += 1
            except TimeoutError:
                errors += 1
                timeouts += 1
                keep_alive = False
            except (OSError, ValueError, asyncio.IncompleteReadError):
                errors += 1
                keep_alive = False
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(host, int(port))
            latencies.append((time.perf_counter() - began) * 1000)
        writer.close()

    async def run() -> float:
        # Every connection is open before the clock starts.
        opened = await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in chunks))
        started = time.perf_counter()
        await asyncio.gather(*(client(c, s) for c, s in zip(chunks, opened, strict=True)))
        return time.perf_counter() - started

    seconds = asyncio.run(run())
    return Figures(name, len(requests), errors, seconds, latencies, timeouts)


def _on_the_wire(host: str, request: Request) -> bytes:
    method, path, body, headers = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; its status and whether the connection stays open."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    fields = {}
    for line in head[1:]:
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip().lower()
    if fields.get("transfer-encoding") == "chunked":
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(int(fields.get("content-length", 0)))
    return status, fields.get("connection") != "close"


def measure(
    name: str,
    app: str,
    env: dict[str, str],
    requests: Sequence[Request],
    *,
    warmup: Sequence[Request],
    clients: int,
    ok: Callable[[int], bool] = lambda status: status < 400,
    chdir: str = ROOT,
    workers: int = 2,
    threads: int = 8,
) -> Figures:
    """Serve ``app`` under gunicorn, warm it up, then :func:`hammer` it with ``requests``."""
    server = start_gunicorn(app, env, workers=workers, threads=threads, chdir=chdir)
    try:
        hammer("warm-up", server.base_url, warmup, clients=clients)
        return hammer(name, server.base_url, requests, clients=clients, ok=ok)
    finally:
        server.stop()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ensure_agents(conn: Any, count: int) -> None:
    """``count`` available DCC agents named bench-agent-N, added once and reused."""
    from sqlalchemy import insert, select

    from dcc import clock
    from dcc.users.models import AgentStatus, Role, User

    have = {row[0] for row in conn.execute(select(User.login))}
    missing = [
        {
            "login": f"bench-agent-{i}",
            "name": f"坐席{i}",
            "role": Role.DCC_AGENT,
            "phone": f"+86139000000{i:02d}",
            "agent_status": AgentStatus.AVAILABLE,
            "is_active": True,
            "on_shift": True,
            "takes_inbound": True,
            "created_at": clock.now(),
        }
        for i in range(1, count + 1)
        if f"bench-agent-{i}" not in have
    ]
    if missing:
        conn.execute(insert(User), missing)
