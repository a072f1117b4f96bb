"""``/wallboard``: the DCC's live figures for a wall screen or a supervisor's PC.

The page only relays: its stream sends the last snapshot (``dcc:wallboard:last``) on connect,
then every snapshot the one publishing process puts on ``dcc:wallboard:snapshot``
(:mod:`dcc.wallboard`); a team's supervisor or manager gets the team's board (the same keys
with ``:team:<id>``). An open stream says every few seconds that someone watches, which
keeps the publisher going; no stream ever queries the database, so the cost does not grow
with the number of open tabs. The user's own events (notifications) come on the same stream.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from flask import Blueprint, Response, current_app, render_template, url_for

from dcc import access, live, streams, wallboard
from dcc.config import get_settings
from dcc.web.common import me, roles
from dcc.web.stream import open_stream, relay

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
    user = me()
    team = access.overseen_team(user)
    # The viewers key is set when the stream's place is taken, before the publisher looks,
    # so it starts at once.
    channels = [live.user_channel(user.id), wallboard.snapshot_channel(team)]
    response = open_stream(wallboard_plan(channels, user_id=user.id, team_id=team))
    if response.status_code == 200:
        current_app.extensions["dcc.wallboard"].ensure_running()
    return response


def wallboard_plan(
    channels: list[str],
    *,
    user_id: int | None = None,
    team_id: int | None = None,
    watch_every: float = WATCH_SECONDS,
) -> streams.StreamPlan:
    """``ready``, the last snapshot of the board of ``team_id`` (None: the dealership's), then
    every message of ``channels``, saying all along that someone watches that board.

    The last snapshot follows the subscription, so no snapshot published in between is lost
    (one may come twice).
    """
    return streams.StreamPlan(
        channels=tuple(channels),
        user_id=user_id,
        presence=((wallboard.viewers_key(team_id), wallboard.VIEWERS_TTL),),
        replay=wallboard.last_key(team_id),
        renew_every=watch_every,
        keepalive=min(watch_every, streams.KEEPALIVE_SECONDS),
    )


def wallboard_events(
    conn: redis.Redis,
    channels: list[str],
    *,
    team_id: int | None = None,
    watch_every: float = WATCH_SECONDS,
) -> Iterator[str]:
    """The wallboard stream of ``channels`` relayed here, held by no user (scripts and tests);
    it watches the board of ``team_id`` (None: the dealership's)."""
    return relay(conn, wallboard_plan(channels, team_id=team_id, watch_every=watch_every))
