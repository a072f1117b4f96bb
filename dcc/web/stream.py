"""``/stream``: the user's live events as server-sent events (calls, screen pops, notifications).

Events come through Redis pub/sub (:mod:`dcc.live`), so whichever web process holds the stream
delivers them. This view decides who receives what and takes the stream's place in the
user's cap (:mod:`dcc.streams`); then the stream server (:mod:`dcc.asgi`) relays it without
holding a thread, or, when the app runs alone under a WSGI server, this request relays it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, jsonify, request
from flask_login import login_required

from dcc import access, streams
from dcc.broker import get_redis
from dcc.config import get_settings
from dcc.users.models import User
from dcc.web.common import me

bp = Blueprint("web_stream", __name__)

KEEPALIVE_SECONDS = streams.KEEPALIVE_SECONDS
#: How long one wait for a message lasts at most in a request-held stream.
POLL_SECONDS = 1.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# The wire format, for callers that only need it.
format_event = streams.format_event


@bp.get("/stream")
@login_required
def stream() -> Response:
    user = me()
    return open_stream(streams.StreamPlan(channels=user_channels(user), user_id=user.id))


def user_channels(user: User) -> tuple[str, ...]:
    """What a user's stream receives: their own events, and the call events of the board they
    oversee (the team's, or the dealership's): :func:`dcc.access.stream_channels`."""
    return tuple(access.stream_channels(user))


def open_stream(plan: streams.StreamPlan) -> Response:
    """Take the stream's place in its user's cap, then hand it over or relay it here.

    Over the cap: 429; Redis unreachable: 503. Both say when to retry, and neither is an
    event stream, so the browser's EventSource stops and the page retries on its own schedule.
    """
    conn = get_redis()
    try:
        streams.reserve(conn, plan, get_settings().streams_per_user)
    except streams.StreamLimitReached as error:
        return _refusal(error, streams.RETRY_AFTER_LIMIT)
    except streams.LiveUnavailable as error:
        return _refusal(error, streams.RETRY_AFTER_UNAVAILABLE)
    if request.method == "HEAD":  # the answer's headers only: nothing will be relayed
        _release(conn, plan)
        return Response(mimetype="text/event-stream", headers=SSE_HEADERS)
    if request.environ.get(streams.HANDOFF_ENVIRON):
        return Response(status=200, headers={streams.HANDOFF_HEADER: plan.to_header()})
    try:
        pubsub = subscribe(conn, plan)
    except streams.LiveUnavailable as error:
        _release(conn, plan)
        return _refusal(error, streams.RETRY_AFTER_UNAVAILABLE)
    # The generator runs after the request has ended: it needs nothing but its arguments.
    return Response(relay(conn, plan, pubsub), mimetype="text/event-stream", headers=SSE_HEADERS)


def _refusal(error: streams.LiveUnavailable | streams.StreamLimitReached, retry: int) -> Response:
    response = jsonify(error=error.to_dict())
    response.status_code = error.status_code
    response.headers["Retry-After"] = str(retry)
    response.headers["Cache-Control"] = "no-store"
    return response


def subscribe(conn: redis.Redis, plan: streams.StreamPlan) -> redis.client.PubSub:
    """The plan's subscription, in place before anything is sent."""
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(*plan.channels)
    except (redis.RedisError, OSError) as error:
        pubsub.close()
        raise streams.LiveUnavailable("live.unavailable", field="stream") from error
    return pubsub


def relay(
    conn: redis.Redis, plan: streams.StreamPlan, pubsub: redis.client.PubSub | None = None
) -> Iterator[str]:
    """Say ``ready`` (and replay the plan's last message), then relay every message, with
    keep-alives and renewals on the plan's schedule; give the place back when closed."""
    try:
        if pubsub is None:
            pubsub = subscribe(conn, plan)
        # The browser reconnects after a few seconds if the stream drops; "ready" tells it (and
        # tests) that the subscription is in place, so no event published from now on is missed.
        yield streams.opening(plan)
        if plan.replay is not None:
            replayed = streams.relayed(conn.get(plan.replay))
            if replayed is not None:
                yield replayed
        schedule = streams.Schedule(plan, time.monotonic())
        while True:
            timeout = min(POLL_SECONDS, schedule.wait(time.monotonic()))
            chunk = streams.relayed(_data(pubsub.get_message(timeout=timeout)))
            if chunk is not None:
                yield chunk
                schedule.sent(time.monotonic())
            now = time.monotonic()
            if schedule.renewal_due(now):
                pipe = conn.pipeline(transaction=False)
                streams.renew(pipe, plan)
                pipe.execute()
            if schedule.keepalive_due(now):
                yield streams.KEEPALIVE
    finally:
        if pubsub is not None:
            pubsub.close()
        _release(conn, plan)


def _data(message: dict | None) -> bytes | None:
    if message is None or message.get("type") != "message":
        return None
    data: bytes = message["data"]
    return data


def _release(conn: redis.Redis, plan: streams.StreamPlan) -> None:
    """Give the stream's place back; a Redis outage lets the lease run out instead."""
    try:
        pipe = conn.pipeline(transaction=False)
        streams.release(pipe, plan)
        pipe.execute()
    except (redis.RedisError, OSError):
        pass


def sse_events(
    conn: redis.Redis, channels: list[str], *, keepalive: float = KEEPALIVE_SECONDS
) -> Iterator[str]:
    """A stream of ``channels`` held by no user (scripts and tests)."""
    return relay(
        conn,
        streams.StreamPlan(channels=tuple(channels), keepalive=keepalive, renew_every=keepalive),
    )
