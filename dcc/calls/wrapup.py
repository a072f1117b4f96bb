"""What the agent records around a call: the script step reached, the outcome at wrap-up, and
taking a due callback from the worklist.

Kept apart from :mod:`dcc.calls.service` (provider events) because these are the agent's own
actions: each checks that the agent may act on the call, then calls the lead domain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, clock
from dcc.calls import agents, dialer
from dcc.calls.models import Call
from dcc.config import Settings
from dcc.errors import InvalidTransition, ValidationError
from dcc.fields import Integer
from dcc.leads import followups, lifecycle
from dcc.leads.models import Callback, CallbackStatus, FollowUp, Grade, Lead, LostReason
from dcc.sales.models import Appointment
from dcc.users.models import AgentStatus, Role, User
from telephony import Telephony

#: The invitation script has seven steps; a tick beyond that is a client bug.
MAX_STEP = 7
STEP = Integer("step", required=True, minimum=1, maximum=MAX_STEP)


def reach_step(session: Session, call: Call, step: int | str | None, *, actor: User) -> int:
    """Record that the script reached ``step`` on this call; the furthest step is kept."""
    access.check_may_work_call(session, actor, call)
    reached: int = STEP.clean(step)
    call.script_step = max(call.script_step or 0, reached)
    return call.script_step


#: What the wrap-up plans next: a follow-up (the default), a visit, or a lost request.
FOLLOW_UP, APPOINTMENT, LOST = "follow_up", "appointment", "lost"


@dataclass
class Outcome:
    """The wrap-up form: a result always; optionally a regrade and the next follow-up's time;
    and per ``action`` a visit (time and consultant) or a lost request (reason, note)."""

    result: str
    action: str = FOLLOW_UP
    grade: Grade | None = None
    next_due_at: dt.datetime | None = None
    appointment_at: dt.datetime | None = None
    consultant: User | None = None
    lost_reason: LostReason | None = None
    lost_note: str | None = None

    def check(self) -> None:
        """Everything the chosen action needs, and nothing another action would."""
        if self.action not in (FOLLOW_UP, APPOINTMENT, LOST):
            raise ValidationError(
                "field.bad_choice", field="action", choices="follow_up, appointment, lost"
            )
        if self.action == APPOINTMENT:
            if self.appointment_at is None:
                raise ValidationError("outcome.no_visit_time", field="appointment_at")
            if self.consultant is None or self.consultant.role != Role.CONSULTANT:
                raise ValidationError("outcome.no_consultant", field="consultant")
        elif self.appointment_at is not None:
            raise ValidationError("outcome.visit_and_lost", field="action")
        if self.action == LOST and self.lost_reason is None:
            raise ValidationError("outcome.no_lost_reason", field="lost_reason")
        if self.action != LOST and self.lost_reason is not None:
            raise ValidationError("outcome.visit_and_lost", field="lost_reason")


@dataclass
class WrapUp:
    follow_up: FollowUp
    next_follow_up: FollowUp | None
    appointment: Appointment | None


def save_outcome(
    session: Session, lead: Lead, outcome: Outcome, *, actor: User, call: Call | None = None
) -> WrapUp:
    """Close the lead's current follow-up with its result and act on the rest of the form.

    The follow-up counts as done only with a result (:func:`followups.complete` refuses an
    empty one). An appointment books the visit (and its SMS confirmation); a lost reason files
    a lost request for the manager. Saving ends the agent's wrap-up. ``call``, when given, is
    the lead's call whose outcome this is.
    """
    access.check_may_work_lead_on(session, actor, lead, call)
    outcome.check()
    if not lead.is_open:
        raise InvalidTransition("lead.closed", field="lead_id", lead=lead.id, status=lead.status)
    open_ones = followups.open_follow_ups(session, lead)
    if open_ones:
        current = open_ones[0]
    else:
        # A contact nobody planned (an inbound call) is recorded as a follow-up all the same.
        planned = followups.schedule(session, lead, due_at=clock.now())
        assert planned is not None  # a given due_at always plans one
        current = planned
    next_one = followups.complete(
        session,
        current,
        result=outcome.result,
        actor=actor,
        grade=outcome.grade,
        next_due_at=outcome.next_due_at,
    )
    appointment = None
    if outcome.appointment_at is not None:
        appointment = lifecycle.book_appointment(
            session, lead, at=outcome.appointment_at, consultant=outcome.consultant, actor=actor
        )
    elif outcome.lost_reason is not None:
        lifecycle.request_lost(
            session, lead, reason=outcome.lost_reason, actor=actor, note=outcome.lost_note
        )
    if call is not None:
        call.outcome = outcome.result.strip()[:200]
    if actor.agent_status == AgentStatus.WRAP_UP:
        agents.set_status(session, actor, AgentStatus.AVAILABLE)  # wrap-up ends with the outcome
    session.flush()
    return WrapUp(current, next_one, appointment)


def take_callback(
    session: Session,
    callback: Callback,
    *,
    agent: User,
    settings: Settings,
    telephony: Telephony,
) -> Call:
    """The agent accepts a due callback from the worklist: the bridged call is placed now.

    The callback row is locked, so two agents of a team cannot both take a released one; see
    :func:`dcc.calls.dialer.call_back` for what a provider's refusal undoes.
    """
    access.check_may_take_callback(session, agent, callback)
    locked = session.scalar(select(Callback).where(Callback.id == callback.id).with_for_update())
    if locked is None or locked.status != CallbackStatus.PENDING:
        raise InvalidTransition("callback.taken", field="callback_id")
    return dialer.call_back(session, locked, agent=agent, settings=settings, telephony=telephony)
