"""``/stream``: the user's live events as server-sent events (calls, screen pops, notifications).

Events come through Redis pub/sub (:mod:`dcc.live`), so whichever web process holds the stream
delivers them. Each open stream holds one server thread: run the app under gunicorn gthread
with threads to spare for the webhooks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, stream_with_context
from flask_login import login_required

from dcc import access
from dcc.broker import get_redis
from dcc.web.common import me

bp = Blueprint("web_stream", __name__)

KEEPALIVE_SECONDS = 15.0
#: How long one wait for a message lasts; also how soon a closed subscription is noticed.
POLL_SECONDS = 1.0


@bp.get("/stream")
@login_required
def stream() -> Response:
    # The user's own events, and (supervisors, managers) the calls of the team it oversees.
    channels = access.stream_channels(me())
    # Read everything from the request now: the generator runs after the response started.
    events = sse_events(get_redis(), channels)
    return Response(
        stream_with_context(events),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def format_event(kind: str, data: object) -> str:
    """One server-sent event; JSON never holds a raw newline, so one ``data:`` line is enough."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def sse_events(
    connection: redis.Redis, channels: list[str], *, keepalive: float = KEEPALIVE_SECONDS
) -> Iterator[str]:
    """Subscribe, say ``ready``, then relay every message; a comment line keeps proxies open."""
    pubsub = connection.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(*channels)
        # The browser reconnects after 3 s if the stream drops; "ready" tells it (and tests)
        # that the subscription is in place, so no event published from now on is missed.
        yield "retry: 3000\n" + format_event("ready", {"channels": len(channels)})
        last_sent = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=POLL_SECONDS)
            if message is not None and message.get("type") == "message":
                try:
                    payload = json.loads(message["data"])
                    kind, data = str(payload["event"]), payload.get("data")
                except (ValueError, KeyError, TypeError):
                    continue  # not one of ours
                yield format_event(kind, data)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
    finally:
        pubsub.close()
