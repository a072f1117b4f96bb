"""Live streams: what every open server-sent-events stream does, whichever server holds it.

A stream is opened by the web app (which checks who may receive what) and then relayed either
by the same request (:mod:`dcc.web.stream`, one thread per stream) or by the asynchronous
stream server (:mod:`dcc.asgi`, no thread per stream). Both follow one :class:`StreamPlan`
and share the pieces here: the wire format, the schedule of keep-alives and renewals, and the
per-user cap on open streams.

The cap is kept in Redis, so it holds across processes and nodes: each open stream holds a
lease in a sorted set per user, renews it while it lives and drops it when it closes; a stream
whose process died frees its place when the lease runs out.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis

from dcc.errors import DCCError

#: How long a stream's place is held without renewal (a crashed process frees it then).
LEASE_SECONDS = 60
#: How often an open stream renews its place (and any presence keys of its plan).
RENEW_SECONDS = 15.0
#: A comment line after this much silence keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0
#: What the browser waits before reconnecting a dropped stream, in milliseconds.
RECONNECT_MS = 3000
#: The response header in which the web app hands a stream over to the stream server.
HANDOFF_HEADER = "X-DCC-Stream-Plan"
#: The WSGI environ key by which the stream server asks the web app for a hand-over.
HANDOFF_ENVIRON = "dcc.stream.handoff"
#: Seconds a refused client should wait before trying again.
RETRY_AFTER_UNAVAILABLE = 5
RETRY_AFTER_LIMIT = 30

# KEYS[1]: the user's open streams (stream id -> lease end, epoch ms).
# ARGV: now, lease end, stream id, limit, the key's lifetime in seconds.
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class StreamLimitReached(DCCError):
    """The user already holds as many open streams as one user may."""

    status_code = 429


class LiveUnavailable(DCCError):
    """Redis cannot be reached: no stream can be opened until it is back."""

    status_code = 503


@dataclass(frozen=True)
class StreamPlan:
    """What one open stream relays, and what it keeps alive while it is open.

    ``presence`` keys are set (to ``1``, with their lifetime in seconds) at every renewal:
    someone watches. ``replay`` names a key holding a message envelope sent right after
    ``ready`` (the wallboard's last snapshot).
    """

    channels: tuple[str, ...]
    user_id: int | None = None
    stream_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    presence: tuple[tuple[str, int], ...] = ()
    replay: str | None = None
    renew_every: float = RENEW_SECONDS
    keepalive: float = KEEPALIVE_SECONDS

    def to_header(self) -> str:
        return json.dumps(
            {
                "channels": self.channels,
                "user_id": self.user_id,
                "stream_id": self.stream_id,
                "presence": self.presence,
                "replay": self.replay,
                "renew_every": self.renew_every,
                "keepalive": self.keepalive,
            }
        )

    @classmethod
    def from_header(cls, value: str) -> StreamPlan:
        raw = json.loads(value)
        return cls(
            channels=tuple(raw["channels"]),
            user_id=raw["user_id"],
            stream_id=raw["stream_id"],
            presence=tuple((str(key), int(ttl)) for key, ttl in raw["presence"]),
            replay=raw["replay"],
            renew_every=float(raw["renew_every"]),
            keepalive=float(raw["keepalive"]),
        )


# --- the wire format ----------------------------------------------------------------------------


def format_event(kind: str, data: object) -> str:
    """One server-sent event; JSON never holds a raw newline, so one ``data:`` line is enough."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def opening(plan: StreamPlan) -> str:
    """The first chunk: the reconnect delay and ``ready`` (the subscription is in place)."""
    return f"retry: {RECONNECT_MS}\n" + format_event("ready", {"channels": len(plan.channels)})


def relayed(envelope: bytes | str | None) -> str | None:
    """A published envelope (``{"event": …, "data": …}``) as an event; None if not one of ours."""
    if envelope is None:
        return None
    try:
        payload = json.loads(envelope)
        return format_event(str(payload["event"]), payload.get("data"))
    except (ValueError, KeyError, TypeError):
        return None


KEEPALIVE = ": keep-alive\n\n"


class Schedule:
    """When a stream owes a keep-alive or a renewal; both transports loop on it."""

    def __init__(self, plan: StreamPlan, now: float) -> None:
        self.plan = plan
        self.last_sent = now
        self.last_renewed = now

    def wait(self, now: float) -> float:
        """Seconds until the next duty (what a wait for a message may last)."""
        keepalive_at = self.last_sent + self.plan.keepalive
        renew_at = self.last_renewed + self.plan.renew_every
        return max(0.0, min(keepalive_at, renew_at) - now)

    def sent(self, now: float) -> None:
        self.last_sent = now

    def renewal_due(self, now: float) -> bool:
        if now - self.last_renewed >= self.plan.renew_every:
            self.last_renewed = now
            return True
        return False

    def keepalive_due(self, now: float) -> bool:
        if now - self.last_sent >= self.plan.keepalive:
            self.last_sent = now
            return True
        return False


# --- the per-user cap ---------------------------------------------------------------------------


def streams_key(user_id: int) -> str:
    return f"dcc:streams:{user_id}"


def reserve(conn: redis.Redis, plan: StreamPlan, limit: int) -> None:
    """Take a place for ``plan`` among its user's open streams, and mark its presence.

    Raises :class:`StreamLimitReached` when the user holds ``limit`` live streams already and
    :class:`LiveUnavailable` when Redis cannot be reached.
    """
    try:
        if plan.user_id is not None:
            now = time.time()
            taken = conn.eval(
                _RESERVE,
                1,
                streams_key(plan.user_id),
                int(now * 1000),
                int((now + LEASE_SECONDS) * 1000),
                plan.stream_id,
                limit,
                LEASE_SECONDS * 2,
            )
            if not taken:
                raise StreamLimitReached(
                    "live.too_many_streams",
                    field="stream",
                    limit=limit,
                )
        for key, ttl in plan.presence:
            conn.set(key, "1", ex=ttl)
    except (redis.RedisError, OSError) as error:
        raise LiveUnavailable("live.unavailable", field="stream") from error


def renew(pipe: Any, plan: StreamPlan) -> None:
    """Queue the commands that renew the stream's place and presence on ``pipe``.

    ``pipe`` is a pipeline of either redis client (blocking or asyncio): both queue the same
    commands, and the caller executes them in its own way.
    """
    if plan.user_id is not None:
        key = streams_key(plan.user_id)
        pipe.zadd(key, {plan.stream_id: int((time.time() + LEASE_SECONDS) * 1000)})
        pipe.expire(key, LEASE_SECONDS * 2)
    for key, ttl in plan.presence:
        pipe.set(key, "1", ex=ttl)


def release(pipe: Any, plan: StreamPlan) -> None:
    """Queue the command that gives the stream's place back on ``pipe``."""
    if plan.user_id is not None:
        pipe.zrem(streams_key(plan.user_id), plan.stream_id)


def open_count(conn: redis.Redis, user_id: int) -> int:
    """How many live streams ``user_id`` holds now (leases not yet run out)."""
    return int(conn.zcount(streams_key(user_id), int(time.time() * 1000), "+inf"))
