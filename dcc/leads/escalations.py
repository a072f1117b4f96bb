"""The manager's escalation queues and the reassignment that takes a lead out of them.

Two queues wait for a sales manager (``Lead.escalation``):

- ``no_show_30d``: invited more than 30 days ago and never came (多余30天邀约未到), flagged by
  the nightly job; :func:`dcc.leads.manager.invited_without_arrival` also finds the ones the
  job has not flagged yet, so the queue is right before the first night too.
- ``unreachable``: the attempt policy gave up calling (多次未接通).

The manager's answer to both is to hand the lead to another agent:
:func:`dcc.leads.reassignment.reassign`, which takes it out of the queue.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc.access import visible_leads
from dcc.leads import manager
from dcc.leads.models import OPEN_STATUSES, Lead
from dcc.users.models import User

NO_SHOW = "no_show_30d"
UNREACHABLE = "unreachable"
KINDS = (NO_SHOW, UNREACHABLE)


def no_show_queue(
    session: Session, reader: User, *, days: int = 30, now: dt.datetime | None = None
) -> list[Lead]:
    """Open leads flagged ``no_show_30d``, and those invited ``days`` ago that never came."""
    unflagged = [lead.id for lead in manager.invited_without_arrival(session, days=days, now=now)]
    flagged = Lead.escalation == NO_SHOW
    wanted = flagged | Lead.id.in_(unflagged) if unflagged else flagged
    return list(
        session.scalars(
            select(Lead)
            .where(wanted, Lead.status.in_(OPEN_STATUSES), visible_leads(reader))
            .order_by(Lead.invited_at, Lead.id)
        )
    )


def unreachable_queue(session: Session, reader: User) -> list[Lead]:
    """Open leads the attempt policy gave up on, longest waiting first."""
    return list(
        session.scalars(
            select(Lead)
            .where(
                Lead.escalation == UNREACHABLE,
                Lead.status.in_(OPEN_STATUSES),
                visible_leads(reader),
            )
            .order_by(Lead.escalated_at, Lead.id)
        )
    )
