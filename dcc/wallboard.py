"""The supervisor's wallboard: live figures of the DCC, computed once for every viewer.

One web process at a time (whichever holds a short Redis lock) computes the snapshot from
the database about once a second — and at once after a call event — while anybody watches,
and publishes it on :data:`SNAPSHOTS`. Every open wallboard stream only relays that channel,
so the cost does not grow with the number of open tabs: no per-tab database polling.

A team's supervisor and manager watch the team's board (:func:`dcc.access.overseen_team`):
its agents and their work, and the speed to lead of its leads. Each watched team gets its own
snapshot, key and channel (``…:team:<id>``); the dealership's board keeps the plain names.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

import redis
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import access, clock, live
from dcc.broker import get_broker
from dcc.calls import queue, routing
from dcc.calls.models import CUSTOMER_FIRST, Call, CallDirection
from dcc.db import get_database
from dcc.leads.models import Lead
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.users.models import Role, User

log = logging.getLogger(__name__)

SNAPSHOTS = "dcc:wallboard:snapshot"
LAST = "dcc:wallboard:last"
VIEWERS = "dcc:wallboard:viewers"  # refreshed by open streams; expires when nobody watches
VIEWERS_TTL = 10  # seconds the viewers key lives after its last renewal
LEADER = "dcc:wallboard:leader"
INTERVAL = 1.0
SLA = dt.timedelta(minutes=5)
SPEED_BUCKETS = (("<1m", 60), ("1-5m", 300), ("5-30m", 1800), (">30m", None))
LIVE_STATUSES = ("queued", "initiated", "ringing", "in-progress")


def _scoped(key: str, team_id: int | None) -> str:
    return key if team_id is None else f"{key}:team:{team_id}"


def snapshot_channel(team_id: int | None = None) -> str:
    """Where the board of ``team_id`` (None: the dealership's) is published."""
    return _scoped(SNAPSHOTS, team_id)


def last_key(team_id: int | None = None) -> str:
    return _scoped(LAST, team_id)


def viewers_key(team_id: int | None = None) -> str:
    return _scoped(VIEWERS, team_id)


def snapshot(
    session: Session,
    *,
    timezone: str,
    softphone: bool = False,
    now: dt.datetime | None = None,
    team_id: int | None = None,
) -> dict[str, Any]:
    """Every figure the wallboard shows, for the dealer's current local day: the dealership's,
    or (``team_id``) one team's.

    ``ready`` lists the agents the hotline would ring now, in the order it rings them
    (:func:`dcc.calls.routing.ready_agents`); each agent's ``next_in_line`` is its place there.
    The caller queue is the hotline's, whichever team's board shows it.
    """
    now = now or clock.now()
    local = clock.local(now, timezone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    members = [User.team_id == team_id] if team_id is not None else []
    agents = session.scalars(
        select(User)
        .where(User.role.in_([Role.DCC_AGENT, Role.CONSULTANT]), User.is_active.is_(True), *members)
        .order_by(User.role, User.id)
    ).all()
    shown = {a.id for a in agents}
    work = _work_today(session, day_start)
    live_calls = session.scalars(
        select(Call).where(Call.status.in_(LIVE_STATUSES), Call.created_at >= day_start - SLA)
    ).all()
    on_call = {c.agent_id: c.id for c in live_calls if c.agent_id and c.leg == "agent"}
    # The hotline queue as it is served (dcc.calls.queue): callers queued and not yet taken.
    waiting = [c for c in live_calls if c.queued_at is not None and c.agent_id is None]
    ready = [a.id for a in routing.ready_agents(session, softphone=softphone, inbound=True)]
    in_progress = [
        c
        for c in live_calls
        if c.parent_sid is None and (team_id is None or c.agent_id in shown or c in waiting)
    ]
    return {
        "generated_at": now.isoformat(),
        "ready": [agent_id for agent_id in ready if agent_id in shown],
        "agents": [
            {
                "id": a.id,
                "name": a.name,
                "role": a.role.value,
                "status": a.agent_status.value,
                "on_shift": a.on_shift,
                "call_id": on_call.get(a.id),
                "next_in_line": ready.index(a.id) + 1 if a.id in ready else None,
                **work[a.id],
            }
            for a in agents
        ],
        "calls_in_progress": len(in_progress),
        "queue": {
            "length": len(waiting),
            "longest_wait_seconds": queue.longest_wait_seconds(waiting, now),
        },
        **_speed_to_lead(session, day_start, now, team_id),
    }


def _work_today(session: Session, day_start: dt.datetime) -> dict[int, dict[str, int]]:
    """Per agent: calls (placed, or answered inbound), connects, talk time, bookings, arrivals."""
    work: dict[int, dict[str, int]] = defaultdict(
        lambda: {"calls": 0, "connects": 0, "talk_seconds": 0, "appointments": 0, "arrivals": 0}
    )
    legs = session.execute(
        select(
            Call.agent_id,
            Call.direction,
            Call.leg,
            Call.parent_sid,
            Call.answered_at,
            Call.duration,
            Call.kind,
        ).where(Call.created_at >= day_start, Call.agent_id.is_not(None))
    ).all()
    for agent_id, direction, leg, parent_sid, answered_at, duration, kind in legs:
        if agent_id is None:  # excluded by the query; narrows the type
            continue
        row = work[agent_id]
        if direction == CallDirection.OUTBOUND and parent_sid is None:
            # The agent leg of a click-to-dial call; a customer rung first counts once, as the
            # inbound pickup the agent answered (below).
            row["calls"] += kind != CUSTOMER_FIRST
        elif direction == CallDirection.OUTBOUND and leg == "customer" and answered_at:
            row["connects"] += 1
            row["talk_seconds"] += duration or 0
        elif direction == CallDirection.INBOUND and leg == "agent" and answered_at:
            row["calls"] += 1
            row["connects"] += 1
            row["talk_seconds"] += duration or 0
    for agent_id, count in session.execute(
        select(Appointment.booked_by_id, func.count())
        .where(Appointment.created_at >= day_start, Appointment.booked_by_id.is_not(None))
        .group_by(Appointment.booked_by_id)
    ):
        if agent_id is not None:  # excluded by the query; narrows the type
            work[agent_id]["appointments"] = count
    for agent_id, count in session.execute(
        select(Appointment.booked_by_id, func.count())
        .join(ShowroomVisit, ShowroomVisit.appointment_id == Appointment.id)
        .where(ShowroomVisit.arrived_at >= day_start, Appointment.booked_by_id.is_not(None))
        .group_by(Appointment.booked_by_id)
    ):
        if agent_id is not None:  # excluded by the query; narrows the type
            work[agent_id]["arrivals"] = count
    return work


def _speed_to_lead(
    session: Session, day_start: dt.datetime, now: dt.datetime, team_id: int | None
) -> dict[str, Any]:
    """Today's leads (the team's) by time to first response, and those past the SLA."""
    scope = [access.team_leads(team_id)] if team_id is not None else []
    leads = session.execute(
        select(Lead.created_at, Lead.first_response_at).where(Lead.created_at >= day_start, *scope)
    ).all()
    buckets = {name: 0 for name, _ in SPEED_BUCKETS} | {"waiting": 0}
    breaches = 0
    for created, first in leads:
        if first is None:
            buckets["waiting"] += 1
            breaches += now - created > SLA
            continue
        seconds = (first - created).total_seconds()
        breaches += seconds > SLA.total_seconds()
        name = next(n for n, limit in SPEED_BUCKETS if limit is None or seconds < limit)
        buckets[name] += 1
    return {"speed_to_lead": buckets, "sla_breaches": breaches, "leads_today": len(leads)}


# --- publishing ----------------------------------------------------------------------------


class Publisher:
    """The per-process thread that publishes snapshots while it holds the leader lock."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.token = uuid.uuid4().hex.encode()
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_running(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="wallboard", daemon=True).start()

    def _run(self) -> None:
        broker, database = get_broker(self.app), get_database(self.app)
        settings = self.app.extensions["dcc.settings"]
        while not self._stop.is_set():
            try:
                conn = broker.connection
                teams = watched(conn)
                if teams and self._lead(conn):
                    for team_id in teams:
                        self._publish(conn, database, settings, team_id)
                    self._wait_for_call_event(conn)
                else:
                    self._stop.wait(INTERVAL)
            except (redis.RedisError, OSError) as error:
                log.warning("wallboard: %s", error)
                self._stop.wait(INTERVAL * 3)
            except Exception:  # a bad snapshot must not stop the wallboard for good
                log.exception("wallboard snapshot failed")
                self._stop.wait(INTERVAL * 3)

    def stop(self) -> None:
        self._stop.set()

    def _lead(self, conn: redis.Redis) -> bool:
        """Take or keep the leader lock; it lapses within seconds if this process dies."""
        ttl = int(INTERVAL * 3000)
        if conn.set(LEADER, self.token, nx=True, px=ttl):
            return True
        if conn.get(LEADER) == self.token:
            conn.pexpire(LEADER, ttl)
            return True
        return False

    def _publish(
        self, conn: redis.Redis, database: Any, settings: Any, team_id: int | None
    ) -> None:
        with database.sessionmaker() as session:
            board = snapshot(
                session,
                timezone=settings.timezone,
                softphone=settings.softphone,
                team_id=team_id,
            )
            # The same envelope as dcc.live, so a stream relays it like any other event.
            data = json.dumps({"event": "wallboard", "data": board}, ensure_ascii=False)
        conn.set(last_key(team_id), data, ex=60)
        conn.publish(snapshot_channel(team_id), data)

    def _wait_for_call_event(self, conn: redis.Redis) -> None:
        """Sleep until the next tick, or less if a call starts or ends meanwhile."""
        pubsub = conn.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(live.WALLBOARD)
            deadline = time.monotonic() + INTERVAL
            while (left := deadline - time.monotonic()) > 0:
                if pubsub.get_message(timeout=left) is not None:
                    time.sleep(0.1)  # a call's events come in bursts: take them together
                    return
        finally:
            pubsub.close()


def watching(conn: redis.Redis, team_id: int | None = None) -> None:
    """An open wallboard stream says it is there (every few seconds)."""
    conn.set(viewers_key(team_id), "1", ex=VIEWERS_TTL)


def watched(conn: redis.Redis) -> list[int | None]:
    """The boards somebody watches now: None for the dealership's, else team ids."""
    teams: list[int | None] = []
    for key in conn.scan_iter(match=f"{VIEWERS}*", count=100):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name == VIEWERS:
            teams.append(None)
        elif name.startswith(f"{VIEWERS}:team:") and name.rsplit(":", 1)[-1].isdigit():
            teams.append(int(name.rsplit(":", 1)[-1]))
    return sorted(teams, key=lambda t: -1 if t is None else t)


def init_app(app: Flask) -> None:
    app.extensions["dcc.wallboard"] = Publisher(app)
