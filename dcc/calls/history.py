"""A lead's calls as people read them: one line per conversation, whichever legs it took."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc.calls.models import TERMINAL_CALL_STATUSES, Call, CallDirection


@dataclass
class CallSummary:
    """One conversation as a lead's history shows it, whichever legs it took."""

    id: int
    sid: str | None
    direction: str
    agent_id: int | None
    status: str
    started_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration: int | None
    recording_url: str | None
    recording_duration: int | None
    script_step: int | None
    outcome: str | None


def lead_history(session: Session, lead_id: int) -> list[CallSummary]:
    """Every call of the lead, newest last.

    An outbound call is the agent leg (placed first) plus the customer leg it dialled: the
    customer leg says whether the customer answered and for how long, the parent holds the
    recording of the bridge. An inbound call is the caller's leg, answered by an agent or not.
    """
    legs = session.scalars(
        select(Call).where(Call.lead_id == lead_id).order_by(Call.created_at, Call.id)
    ).all()
    # The leg that carried the conversation: for an outbound call the customer leg it
    # dialled, for an inbound call the agent leg that answered.
    children: dict[str, Call] = {}
    for leg in legs:
        talked = leg.leg == "customer" or leg.answered_at is not None
        if leg.parent_sid and talked:
            children.setdefault(leg.parent_sid, leg)
    summaries = []
    for call in legs:
        if call.parent_sid:
            continue  # shown through its parent
        talk = children.get(call.sid or "", call)
        status = talk.status.value
        if talk is call and call.direction == CallDirection.INBOUND and call.agent_id is None:
            # The notice answered the caller, but no person did.
            status = "no-answer" if call.status in TERMINAL_CALL_STATUSES else status
        summaries.append(
            CallSummary(
                id=call.id,
                sid=call.sid,
                direction=call.direction.value,
                agent_id=call.agent_id,
                status=status,
                started_at=call.started_at,
                answered_at=talk.answered_at,
                ended_at=talk.ended_at or call.ended_at,
                duration=talk.duration,
                recording_url=call.recording_url or talk.recording_url,
                recording_duration=call.recording_duration or talk.recording_duration,
                script_step=call.script_step,
                outcome=call.outcome,
            )
        )
    return summaries
