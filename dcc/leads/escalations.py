"""The manager's escalation queues and the reassignment that takes a lead out of them.

Two queues wait for a sales manager (``Lead.escalation``):

- ``no_show_30d``: invited more than 30 days ago and never came (多余30天邀约未到), flagged by
  the nightly job; :func:`dcc.leads.manager.invited_without_arrival` also finds the ones the
  job has not flagged yet, so the queue is right before the first night too.
- ``unreachable``: the attempt policy gave up calling (多次未接通).

The manager's answer to both is to hand the lead to another agent: :func:`reassign`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import audit, clock
from dcc.errors import DCCError
from dcc.leads import followups, manager
from dcc.leads.access import visible_leads
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


def reassign(session: Session, lead: Lead, new_owner: User, *, actor: User) -> None:
    """A manager hands the lead to ``new_owner``, who takes it out of any escalation queue.

    :func:`dcc.leads.manager.reassign` moves the lead and its open work (and audits it); here
    the escalation is cleared (audited as ``lead.escalation.clear``), and a lead left with
    nothing planned gets a follow-up due now, so it is on the new owner's worklist at once.
    """
    previous = lead.escalation
    manager.reassign(session, lead, new_owner, actor=actor)
    if previous is not None:
        # escalated_at now says when the lead left the queue: the attempt policy counts the
        # new owner's unanswered calls from here, not the old owner's.
        lead.escalation, lead.escalated_at = None, clock.now()
        audit.record(
            session,
            actor_id=actor.id,
            action="lead.escalation.clear",
            entity="lead",
            entity_id=lead.id,
            escalation=previous,
        )
    if not followups.open_follow_ups(session, lead):
        followups.schedule(session, lead, due_at=clock.now())
    session.flush()


@dataclass
class Reassigned:
    """What a bulk reassignment did: the leads moved, and each refusal with its reason."""

    moved: list[Lead] = field(default_factory=list)
    refused: list[tuple[Lead, DCCError]] = field(default_factory=list)


def reassign_many(
    session: Session, leads: Iterable[Lead], new_owner: User, *, actor: User
) -> Reassigned:
    """:func:`reassign` each lead; one that cannot move (closed) is skipped and reported.

    Each lead moves in its own savepoint, so a refusal leaves no half-done change behind.
    """
    result = Reassigned()
    for lead in leads:
        try:
            with session.begin_nested():
                reassign(session, lead, new_owner, actor=actor)
        except DCCError as error:
            if error.field == "owner_id":
                raise  # the new owner is wrong for every lead: refuse the whole request
            result.refused.append((lead, error))
        else:
            result.moved.append(lead)
    return result
