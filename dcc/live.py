"""Live pushes: events for a user's screen (or the wallboard), sent once the data is committed.

Events travel on Redis pub/sub, so whichever web process holds the user's stream delivers
them. Publishing is best effort: what matters is stored first and the screen reloads it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_PENDING = "dcc.live.pending"
_BROKER = "dcc.live.broker"
#: Call events of the whole dealership, for dealer-wide supervisors, managers and admins.
WALLBOARD = "dcc:wallboard"


def user_channel(user_id: int) -> str:
    return f"dcc:user:{user_id}"


def team_channel(team_id: int | None) -> str:
    """Call events of one team, for its supervisor and manager."""
    return f"{WALLBOARD}:team:{team_id}"


def publish(session: Session, channel: str, kind: str, data: dict[str, Any]) -> None:
    """Queue ``kind``/``data`` for ``channel``; it goes out when the transaction commits."""
    session.info.setdefault(_PENDING, []).append((channel, kind, data))
    if has_app_context():
        session.info.setdefault(_BROKER, current_app.extensions["dcc.broker"])


def to_user(session: Session, user_id: int, kind: str, data: dict[str, Any]) -> None:
    publish(session, user_channel(user_id), kind, data)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    pending: list[tuple[str, str, dict[str, Any]]] = session.info.pop(_PENDING, [])
    broker = session.info.get(_BROKER)
    if not pending or broker is None:
        return
    commands = [
        (
            "PUBLISH",
            channel,
            json.dumps({"event": kind, "data": data}, ensure_ascii=False, default=str),
        )
        for channel, kind, data in pending
    ]
    try:
        _send(broker.connection.connection_pool, commands)
    except (redis.RedisError, OSError) as error:
        log.warning("live events not published: %s", error)


def _send(pool: redis.ConnectionPool, commands: list[tuple[str, str, str]]) -> None:
    """Every command in one write on one pooled connection, then their replies: what a
    pipeline does, without building one on every commit (most commits publish something)."""
    connection = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands(commands))
        for _ in commands:
            connection.read_response()
    except BaseException:
        connection.disconnect()  # its replies are not all read: a later user must not get them
        raise
    finally:
        pool.release(connection)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
