"""``/wallboard``: the DCC's live figures for a wall screen or a supervisor's PC.

The page only relays: its stream sends the last snapshot (``dcc:wallboard:last``) on connect,
then every snapshot the one publishing process puts on ``dcc:wallboard:snapshot``
(:mod:`dcc.wallboard`). An open stream says every few seconds that someone watches, which
keeps the publisher going; no stream ever queries the database, so the cost does not grow
with the number of open tabs. The user's own events (notifications) come on the same stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator
from typing import Any, cast

import redis
from flask import Blueprint, Response, current_app, render_template, stream_with_context, url_for

from dcc import access, live, wallboard
from dcc.broker import get_redis
from dcc.config import get_settings
from dcc.web.common import me, roles
from dcc.web.stream import format_event, sse_events

bp = Blueprint("web_wallboard", __name__)
#: How often an open stream renews the viewers key (which lives 10 s).
WATCH_SECONDS = 3.0


@bp.get("/wallboard")
@roles(*access.OVERSEEING)
def page() -> str:
    """The board; the page's stream (below) fills it in."""
    return render_template(
        "web/wallboard.html",
        stream_url=url_for("web_wallboard.stream"),
        sla_minutes=int(wallboard.SLA.total_seconds() // 60),
        timezone=get_settings().timezone,
    )


@bp.get("/wallboard/stream")
@roles(*access.OVERSEEING)
def stream() -> Response:
    """The wallboard's server-sent events: the snapshots of the board the user oversees (its
    team's, or the dealership's), and the user's own notifications."""
    conn, user = get_redis(), me()
    team = access.overseen_team(user)
    wallboard.watching(conn, team)  # before the publisher looks, so it starts at once
    current_app.extensions["dcc.wallboard"].ensure_running()
    channels = [live.user_channel(user.id), wallboard.snapshot_channel(team)]
    events = wallboard_events(conn, channels, team_id=team)
    return Response(
        stream_with_context(events),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def wallboard_events(
    conn: redis.Redis,
    channels: list[str],
    *,
    team_id: int | None = None,
    watch_every: float = WATCH_SECONDS,
) -> Iterator[str]:
    """``ready``, the last snapshot, then every message of ``channels``.

    The last snapshot follows the subscription, so no snapshot published in between is lost
    (one may come twice). The keep-alive interval is the renewal interval, so the viewers key
    is renewed while the channel is quiet too.
    """
    # A generator (typed as an iterator): closing it closes its pubsub.
    events = cast(Generator[str, None, None], sse_events(conn, channels, keepalive=watch_every))
    try:
        yield next(events)
        last = _last_snapshot(conn, team_id)
        if last is not None:
            yield format_event("wallboard", last)
        watched = time.monotonic()
        for chunk in events:
            if time.monotonic() - watched >= watch_every:
                wallboard.watching(conn, team_id)
                watched = time.monotonic()
            yield chunk
    finally:
        events.close()  # unsubscribes: sse_events closes its pubsub


def _last_snapshot(conn: redis.Redis, team_id: int | None) -> Any:
    raw = conn.get(wallboard.last_key(team_id))
    if raw is None:
        return None
    try:
        return json.loads(raw)["data"]
    except (ValueError, KeyError, TypeError):
        return None
