"""The web app behind an asynchronous server, so that live streams hold no thread.

Every request but the live streams goes to the Flask app on a pool of threads (a2wsgi), just
as gunicorn's threads run it. A stream request runs the Flask view too, so the session cookie,
the login, the role and the per-user cap are checked exactly as the app checks them; handed
this server's mark, the view answers with the stream's plan (:class:`dcc.streams.StreamPlan`)
instead of relaying it. This server then relays the plan's channels from Redis pub/sub on its
event loop: an open stream costs an idle socket, not a thread, and the pages, the webhooks and
``/healthz`` keep every thread.

Serve it with ``uvicorn --factory dcc.asgi:create_app`` (what ``dcc serve`` runs), or behind a
proxy as the stream server of a gunicorn deployment (see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, cast

import redis
import redis.asyncio
from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ
from flask import Flask, url_for

from dcc import streams
from dcc.app import create_app as create_flask_app
from dcc.broker import get_broker

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Threads that run the Flask app (pages, API, webhooks); streams take none of them.
THREADS = 16
#: Each open stream holds a Redis connection for its subscription (redis-py's pools hold 100
#: by default); the per-user cap bounds how many there are.
MAX_REDIS_CONNECTIONS = 10_000
#: The views whose streams this server relays.
STREAM_ENDPOINTS = ("web_stream.stream", "web_wallboard.stream")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
#: Headers of the view's answer that do not describe the event stream.
_DROPPED = frozenset(
    {b"content-type", b"content-length", b"cache-control", streams.HANDOFF_HEADER.lower().encode()}
)


class LiveApp:
    """The ASGI application: the Flask app on threads, its streams on the event loop."""

    def __init__(self, flask_app: Flask, *, threads: int = THREADS) -> None:
        self.flask_app = flask_app
        self.wsgi = WSGIMiddleware(cast(Any, flask_app), workers=threads)
        with flask_app.test_request_context():
            self.stream_paths = frozenset(url_for(endpoint) for endpoint in STREAM_ENDPOINTS)
        self._redis: redis.asyncio.Redis | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] in self.stream_paths
        ):
            await self._stream(scope, receive, send)
        else:
            await self.wsgi(cast(Any, scope), cast(Any, receive), cast(Any, send))

    # --- a stream ---------------------------------------------------------------------------

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await self._ask_the_app(scope)
        plan_header = _header(headers, streams.HANDOFF_HEADER)
        if status != 200 or plan_header is None:
            await _answer(send, status, headers, body)  # login, role, cap or Redis refused it
            return
        plan = streams.StreamPlan.from_header(plan_header)
        conn = self._connection()
        pubsub = conn.pubsub(ignore_subscribe_messages=True)
        try:
            try:
                await pubsub.subscribe(*plan.channels)
                replay = await conn.get(plan.replay) if plan.replay else None
            except (redis.RedisError, OSError):
                await _unavailable(send)
                return
            kept = [(k, v) for k, v in headers if k not in _DROPPED]
            await send(
                {"type": "http.response.start", "status": 200, "headers": kept + SSE_HEADERS}
            )
            await _send_text(send, streams.opening(plan) + (streams.relayed(replay) or ""))
            await _until_either(self._relay(conn, pubsub, plan, send), _disconnected(receive))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote
        finally:
            await _quietly(pubsub.aclose())
            pipe = conn.pipeline(transaction=False)
            streams.release(pipe, plan)
            await _quietly(pipe.execute())  # else the lease runs out

    async def _relay(
        self, conn: redis.asyncio.Redis, pubsub: Any, plan: streams.StreamPlan, send: Send
    ) -> None:
        """Relay messages, keep-alives and renewals until Redis fails (the browser then
        reconnects, and is told to wait while Redis is down)."""
        schedule = streams.Schedule(plan, time.monotonic())
        try:
            while True:
                message = await pubsub.get_message(timeout=schedule.wait(time.monotonic()))
                chunk = streams.relayed(_data(message))
                if chunk is not None:
                    await _send_text(send, chunk)
                    schedule.sent(time.monotonic())
                now = time.monotonic()
                if schedule.renewal_due(now):
                    pipe = conn.pipeline(transaction=False)
                    streams.renew(pipe, plan)
                    await pipe.execute()
                if schedule.keepalive_due(now):
                    await _send_text(send, streams.KEEPALIVE)
        except (redis.RedisError, OSError):
            return

    async def _ask_the_app(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the Flask view on a thread with the hand-over mark; its status, headers, body."""
        environ: dict[str, Any] = dict(build_environ(cast(Any, scope), cast(Any, io.BytesIO())))
        environ[streams.HANDOFF_ENVIRON] = True
        call = functools.partial(_call_wsgi, self.flask_app, environ)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.wsgi.executor, context.run, call)

    def _connection(self) -> redis.asyncio.Redis:
        """One client (and connection pool) per process, made on the server's event loop."""
        if self._redis is None:
            self._redis = redis.asyncio.Redis.from_url(
                get_broker(self.flask_app).url,
                socket_connect_timeout=2,
                socket_timeout=5,
                max_connections=MAX_REDIS_CONNECTIONS,
            )
        return self._redis

    # --- start and stop ---------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._redis is not None:
                    await _quietly(self._redis.aclose())
                self.wsgi.executor.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(flask_app: Flask | None = None, *, threads: int = THREADS) -> LiveApp:
    """The ASGI application around ``flask_app`` (by default the one the environment makes)."""
    return LiveApp(flask_app or create_flask_app(), threads=threads)


# --- helpers ------------------------------------------------------------------------------------


def _call_wsgi(app: Flask, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One WSGI request, answered whole (a hand-over or a refusal is a few bytes)."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.update(status=int(status.split(" ", 1)[0]), headers=headers)
        return lambda _chunk: None

    chunks: Iterable[bytes] = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started["headers"]]
    return started["status"], headers, body


def _header(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in headers:
        if key == wanted:
            return value.decode("latin-1")
    return None


def _data(message: dict[str, Any] | None) -> bytes | None:
    if message is None or message.get("type") != "message":
        return None
    data: bytes = message["data"]
    return data


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _unavailable(send: Send) -> None:
    error = streams.LiveUnavailable("live.unavailable", field="stream")
    body = json.dumps({"error": error.to_dict()}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(streams.RETRY_AFTER_UNAVAILABLE).encode()),
        (b"cache-control", b"no-store"),
    ]
    await _answer(send, error.status_code, headers, body)


async def _send_text(send: Send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})


async def _disconnected(receive: Receive) -> None:
    """Returns when the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _until_either(first: Awaitable[None], second: Awaitable[None]) -> None:
    """Run both; when one ends, cancel the other."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _quietly(awaitable: Awaitable[Any]) -> None:
    """Await a clean-up step; Redis being away must not turn a closed stream into an error."""
    with contextlib.suppress(redis.RedisError, OSError):
        await awaitable
