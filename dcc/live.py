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
    try:
        pipe = broker.connection.pipeline(transaction=False)
        for channel, kind, data in pending:
            pipe.publish(
                channel, json.dumps({"event": kind, "data": data}, ensure_ascii=False, default=str)
            )
        pipe.execute()
    except (redis.RedisError, OSError) as error:
        log.warning("live events not published: %s", error)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
