"""What waits for a manager's review: lost requests to decide, follow-up records to comment on.

The decisions themselves are :func:`dcc.leads.lifecycle.decide_lost` and :func:`comment`
(批复), which adds the audit entry and the role check to
:func:`dcc.leads.followups.comment`.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from dcc import access, audit
from dcc.errors import NotFound
from dcc.leads import followups
from dcc.leads.models import FollowUp, FollowUpStatus, Lead, LostRequest, LostRequestStatus
from dcc.reports.period import Period
from dcc.users.models import User

LIMIT = 200
_Row = TypeVar("_Row", LostRequest, FollowUp)


def pending_lost_requests(session: Session, reader: User) -> list[LostRequest]:
    """Lost requests (战败申请) on leads the reader may see, oldest first."""
    return list(
        session.scalars(
            select(LostRequest)
            .join(Lead, Lead.id == LostRequest.lead_id)
            .where(LostRequest.status == LostRequestStatus.PENDING, access.visible_leads(reader))
            .options(joinedload(LostRequest.lead))
            .order_by(LostRequest.created_at, LostRequest.id)
        )
    )


def get_lost_request(session: Session, reader: User, request_id: int) -> LostRequest:
    """The request, or NotFound when it does not exist or its lead is not the reader's."""
    found = _visible(session, reader, LostRequest, request_id)
    if found is None:
        raise NotFound("lost.request_not_found", field="request_id", request=request_id)
    return found


def follow_ups_done(
    session: Session,
    reader: User,
    *,
    period: Period,
    owner_id: int | None = None,
    uncommented_only: bool = False,
    limit: int = LIMIT,
) -> list[FollowUp]:
    """Follow-ups done in ``period`` (with their result) on leads the reader may see, newest
    first; at most ``limit``."""
    conditions = [
        FollowUp.status == FollowUpStatus.DONE,
        FollowUp.done_at >= period.utc_start,
        FollowUp.done_at < period.utc_end,
        access.visible_leads(reader),
    ]
    if owner_id is not None:
        conditions.append(FollowUp.owner_id == owner_id)
    if uncommented_only:
        conditions.append(FollowUp.manager_comment.is_(None))
    return list(
        session.scalars(
            select(FollowUp)
            .join(Lead, Lead.id == FollowUp.lead_id)
            .where(*conditions)
            .options(joinedload(FollowUp.lead).joinedload(Lead.customer))
            .order_by(FollowUp.done_at.desc(), FollowUp.id.desc())
            .limit(limit)
        ).unique()
    )


def get_follow_up(session: Session, reader: User, follow_up_id: int) -> FollowUp:
    """The follow-up, or NotFound when it does not exist or its lead is not the reader's."""
    found = _visible(session, reader, FollowUp, follow_up_id)
    if found is None:
        raise NotFound("follow_up.not_found", field="follow_up_id", follow_up=follow_up_id)
    return found


def _visible(session: Session, reader: User, model: type[_Row], row_id: int) -> _Row | None:
    """``model``'s row (a lead's lost request, follow-up) when its lead is the reader's."""
    return session.scalar(
        select(model)
        .join(Lead, Lead.id == model.lead_id)
        .where(model.id == row_id, access.visible_leads(reader))
    )


def comment(session: Session, follow_up: FollowUp, *, text: str, manager: User) -> None:
    """A comment (批复) by a manager of the lead's team on a follow-up record, audit-logged."""
    access.check_may_manage_lead(session, manager, follow_up.lead, "follow_up.manager_only")
    followups.comment(session, follow_up, text=text, manager=manager)
    audit.record(
        session,
        actor_id=manager.id,
        action="followup.comment",
        entity="follow_up",
        entity_id=follow_up.id,
        lead_id=follow_up.lead_id,
    )
    session.flush()
