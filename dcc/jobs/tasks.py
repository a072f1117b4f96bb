"""The work the queues do. Each task takes ids, reloads its rows and checks the database
before acting, so a task that runs twice (or after a reassignment or a close) does the right
thing once: no stale callback ever rings the wrong agent or a closed lead.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, audit, clock, reports
from dcc.calls import agents, dialer, ready, routing
from dcc.calls import policy as call_policy
from dcc.calls.models import (
    CUSTOMER_FIRST,
    TERMINAL_CALL_STATUSES,
    Call,
    CallDirection,
    CallStatus,
)
from dcc.config import get_settings, parse_hours
from dcc.db import load, load_one
from dcc.jobs import hooks, outbox, policy
from dcc.jobs.registry import task
from dcc.leads import callbacks, closing, lifecycle, manager
from dcc.leads.models import (
    Callback,
    CallbackStatus,
    Channel,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadStatus,
)
from dcc.messaging import send_once
from dcc.notifications import notify
from dcc.queues import ALERTS, CALLS, DEFAULT, LOW
from dcc.sales import reminders
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import Role, User
from dcc.voice import get_telephony

SUPERVISORS = {Role.SUPERVISOR, Role.MANAGER}
#: A released callback that finds no ready agent rings again after this long.
RELEASED_RETRY = dt.timedelta(minutes=10)


def _alert(
    session: Session, roles: set[Role], kind: str, title: str, lead_id: int, **data: object
) -> None:
    """Tell the users of ``roles`` who see the lead (its team's, and the dealer-wide ones)."""
    for person, _seen in access.watchers(session, roles, [lead_id]):
        notify(session, person.id, kind, title, lead_id=lead_id, **data)


def who(lead: Lead | None) -> dict[str, str]:
    """Who a notification is about, for the toast to say: the customer's name and model."""
    if lead is None:
        return {}
    return {"name": lead.customer.name, "model": lead.series or lead.model or ""}


# --- speed to lead ---------------------------------------------------------------------------


@task("lead.first_contact", queue=CALLS)
def first_contact(session: Session, *, lead_id: int) -> str:
    """Speed-to-lead: a new lead whose source auto-dials is dialled at once by its owner when
    ready, else by a ready agent who may take it (:func:`dcc.calls.ready.first_call`); when
    nobody is ready it waits for the first agent who becomes ready, and the owner is alerted."""
    lead = load(session, Lead, lead_id)
    if lead is None or not closing.owes_contact(lead) or lead.first_response_at is not None:
        return "already contacted"
    if lead.channel == Channel.WALK_IN or lead.arrived_at is not None:
        return "served in the showroom"  # the consultant is with the customer already
    settings = get_settings()
    call = ready.first_call(session, lead.id, settings=settings, telephony=get_telephony())
    if call is not None:
        return f"dialled (call {call.id})"
    session.refresh(lead)  # the first call's transaction may have moved on
    wait = call_policy.load(session).customer_first_after_seconds
    if wait:
        hooks.customer_first_due(session, lead.id, lead.created_at + dt.timedelta(seconds=wait))
    owner = load(session, User, lead.owner_id) if lead.owner_id else None
    if owner is not None:
        notify(session, owner.id, "new_lead", "新线索：请立即联系", lead_id=lead.id, **who(lead))
        return "owner alerted"
    _alert(session, {Role.MANAGER}, "unassigned_lead", "新线索无人可分配", lead.id)
    return "manager alerted"


@task("lead.customer_first", queue=CALLS)
def customer_first(session: Session, *, lead_id: int) -> str:
    """A new lead still waiting for its first call when the dealer-set time is up: dialled by
    an agent free by now, or its customer rung first to wait in the hotline queue
    (:func:`dcc.calls.ready.customer_first`)."""
    call = ready.customer_first(
        session, lead_id, settings=get_settings(), telephony=get_telephony()
    )
    if call is None:
        return "not placed (no longer waiting, or nobody at work)"
    if call.kind == CUSTOMER_FIRST:
        return f"customer rung first (call {call.id})"
    return f"dialled (call {call.id})"


@task("lead.first_response_sla", queue=ALERTS)
def first_response_sla(session: Session, *, lead_id: int) -> str:
    """A new lead still not called when the SLA runs out alerts the supervisor."""
    lead = load(session, Lead, lead_id)
    if lead is None or not closing.owes_contact(lead) or lead.first_response_at is not None:
        return "in time"
    _alert(
        session, SUPERVISORS, "sla_first_response", "首次响应超时", lead.id, owner_id=lead.owner_id
    )
    return "supervisor alerted"


# --- callbacks and the attempt policy --------------------------------------------------------


@task("callback.fire", queue=CALLS)
def fire_callback(session: Session, *, callback_id: int) -> str:
    """At its due time: ring the owner (or, once released, a ready agent of the team)."""
    callback = load(session, Callback, callback_id)
    if callback is None or callback.status != CallbackStatus.PENDING:
        return "not pending"
    lead = load_one(session, Lead, callback.lead_id)
    if not closing.owes_contact(lead) or lead.escalation == "unreachable":
        callback.status = CallbackStatus.CANCELED
        return "lead closed"
    if callback.placed_call_id is not None:
        return "already placed"
    settings = get_settings()
    now = clock.now()
    hours = parse_hours(settings.calling_hours)
    if not clock.within_hours(now, settings.timezone, hours):
        due = clock.next_opening(now, settings.timezone, hours)
        schedule_callback(session, callback, due)
        return f"moved to {due.isoformat()}"
    agent = _callback_agent(session, callback, softphone=settings.softphone)
    if agent is None:
        if callback.released_at is not None:
            # The team's and still nobody ready: ring again shortly. Once calling hours end
            # that moves it to the next opening (above), so it never waits overdue overnight.
            outbox.schedule(
                session, "callback.fire", run_at=now + RELEASED_RETRY, callback_id=callback.id
            )
        else:
            owner_id = callback.owner_id
            if owner_id is not None:
                notify(
                    session,
                    owner_id,
                    "callback_due",
                    "回电已到期",
                    lead_id=lead.id,
                    callback_id=callback.id,
                    **who(lead),
                )
            release_at = callback.due_at + dt.timedelta(
                minutes=policy.load(session).agent_only_minutes
            )
            callback.agent_only_until = release_at
            outbox.schedule(
                session,
                "callback.release",
                run_at=max(release_at, now),
                key=f"callback-release-{callback.id}",
                callback_id=callback.id,
            )
        return "waiting on the worklist"
    # A refusal leaves the callback owed: RQ retries this job with backoff and it rings then.
    call = dialer.call_back(
        session, callback, agent=agent, settings=settings, telephony=get_telephony()
    )
    return f"dialled (call {call.id})"


def _callback_agent(session: Session, callback: Callback, *, softphone: bool) -> User | None:
    """The owner when ready; once released, the team's longest idle ready agent."""
    ready = routing.ready_user(session, callback.owner_id, softphone=softphone)
    if ready is None and callback.released_at is not None and callback.team_id is not None:
        team = routing.ready_agents(session, softphone=softphone, team_id=callback.team_id)
        ready = team[0] if team else None
    return load(session, User, ready.id) if ready is not None else None


@task("callback.release", queue=DEFAULT)
def release_callback(session: Session, *, callback_id: int) -> str:
    """An agent-only callback nobody handled in time becomes the team's."""
    callback = load(session, Callback, callback_id)
    if callback is None or callback.status != CallbackStatus.PENDING:
        return "not pending"
    if callback.released_at is not None:
        return "already released"
    if not closing.owes_contact(load(session, Lead, callback.lead_id)):
        return "lead closed"
    callback.released_at = clock.now()
    if callback.team_id is not None:
        members = session.scalars(
            select(User.id).where(
                User.team_id == callback.team_id,
                User.role == Role.DCC_AGENT,
                User.is_active.is_(True),
            )
        )
        for user_id in members:
            notify(
                session,
                user_id,
                "callback_open",
                "有回电可以领取",
                lead_id=callback.lead_id,
                callback_id=callback.id,
                **who(load(session, Lead, callback.lead_id)),
            )
    hooks.callback_ring_again(session, callback.id)
    return "released"


def schedule_callback(session: Session, callback: Callback, due_at: dt.datetime) -> None:
    """Ring the callback again at ``due_at`` (called by its own running ``callback.fire``).

    A new round of its own: under the callback's key the running row itself would be moved,
    then marked done, and the callback would never ring at the new time.
    """
    callback.due_at = due_at
    outbox.schedule(session, "callback.fire", run_at=due_at, callback_id=callback.id)


@task("call.attempt_result", queue=CALLS)
def attempt_result(session: Session, *, call_id: int) -> str:
    """After an unanswered outbound call: retry later, or hand the lead to the manager."""
    call = load(session, Call, call_id)
    if call is None or call.lead_id is None:
        return "no lead"
    if call.reached_person:
        return "answered"  # a late event proved the customer picked up
    lead = load_one(session, Lead, call.lead_id)
    if not closing.owes_contact(lead) or lead.escalation == "unreachable":
        return "nothing to do"
    if session.scalar(select(Callback.id).where(Callback.call_id == call.id)) is not None:
        return "already handled"
    rules = policy.load(session)
    misses = _unanswered_since_last_talk(session, lead)
    now = clock.now()
    first_miss = misses[0].created_at if misses else now
    if len(misses) >= rules.max_attempts or now - first_miss >= dt.timedelta(
        days=rules.attempt_window_days
    ):
        if (
            misses
            and all(miss.status == CallStatus.FAILED for miss in misses)
            and lifecycle.may_move(lead, LeadStatus.INVALID)
        ):
            # Not one attempt even rang: the number is empty or wrong (空号), not just unanswered.
            # (A lead invited or met already is not invalid: it goes to the manager below.)
            lifecycle.mark_invalid(session, lead, actor=None, reason="number_failed")
            _alert(
                session,
                {Role.MANAGER},
                "invalid_number",
                "号码无效（空号/错号），线索已关闭",
                lead.id,
                attempts=len(misses),
            )
            return f"invalid after {len(misses)} failed attempts"
        lead.escalation, lead.escalated_at = "unreachable", now
        for pending in session.scalars(
            select(Callback).where(
                Callback.lead_id == lead.id, Callback.status == CallbackStatus.PENDING
            )
        ):
            pending.status = CallbackStatus.CANCELED
        _alert(
            session,
            {Role.MANAGER},
            "unreachable",
            "客户多次未接通，请处理",
            lead.id,
            attempts=len(misses),
        )
        return f"unreachable after {len(misses)} attempts"
    due = now + rules.retry_delay(len(misses))
    callback = callbacks.owe(session, lead, reason="retry", due_at=due, call_id=call.id)
    return f"retry {len(misses) + 1} at {callback.due_at.isoformat()}"


def _unanswered_since_last_talk(session: Session, lead: Lead) -> list[Call]:
    """The lead's unanswered outbound customer legs since anyone last spoke with it, or since
    a manager took it out of the unreachable queue (a new owner gets a fresh round)."""
    query = select(Call).where(Call.lead_id == lead.id, Call.leg == "customer")
    if lead.escalation is None and lead.escalated_at is not None:
        query = query.where(Call.created_at >= lead.escalated_at)
    legs = session.scalars(query.order_by(Call.created_at, Call.id)).all()
    misses: list[Call] = []
    for leg in legs:
        if leg.reached_person:
            misses = []  # a conversation resets the count
        elif leg.direction == CallDirection.OUTBOUND and leg.status in TERMINAL_CALL_STATUSES:
            misses.append(leg)
    return misses


# --- follow-ups, appointments, escalations ---------------------------------------------------


@task(agents.SKIP_OVER_TASK, queue=CALLS)
def skip_over(session: Session, *, user_id: int) -> str:
    """An agent skipped after a ring they let go may be rung again: they are served (the
    queue, then the new leads waiting for their first call) if ready."""
    agent = session.get(User, user_id)
    if agent is None or (agent.skip_until is not None and agent.skip_until > clock.now()):
        return "still skipped"  # skipped again meanwhile: that skip's own job serves them
    served = ready.agent_may_be_ready(session, settings=get_settings(), telephony=get_telephony())
    return (
        f"{len(served.pickups)} queued caller(s) fetched,"
        f" {len(served.first_calls)} new lead(s) dialled"
    )


@task(agents.WRAP_UP_END_TASK, queue=CALLS)
def wrap_up_end(session: Session, *, user_id: int) -> str:
    """The agent's wrap-up time is over: available again, and served (the queue, then the
    new leads waiting for their first call)."""
    served = ready.end_wrap_up(session, user_id, settings=get_settings(), telephony=get_telephony())
    if served is None:
        return "not due"
    return (
        f"available; {len(served.pickups)} queued caller(s) fetched,"
        f" {len(served.first_calls)} new lead(s) dialled"
    )


@task(dialer.RECONCILE_TASK, queue=CALLS)
def reconcile_call(session: Session, *, call_id: int) -> str:
    """An attempt whose REST request timed out: found at the provider, or known never made."""
    return dialer.settle_unknown(session, call_id, telephony=get_telephony())


@task("followup.remind", queue=DEFAULT)
def remind_follow_up(session: Session, *, follow_up_id: int) -> str:
    follow_up = load(session, FollowUp, follow_up_id)
    if follow_up is None or follow_up.status != FollowUpStatus.OPEN:
        return "not open"
    if not closing.owes_contact(load(session, Lead, follow_up.lead_id)):
        return "lead closed"
    if follow_up.owner_id is not None:
        notify(
            session,
            follow_up.owner_id,
            "follow_up_due",
            "跟进提醒：今天需要回访",
            lead_id=follow_up.lead_id,
            follow_up_id=follow_up.id,
            **who(load(session, Lead, follow_up.lead_id)),
        )
    overdue_at = follow_up.due_at + dt.timedelta(hours=policy.load(session).follow_up_overdue_hours)
    outbox.schedule(
        session,
        "followup.overdue",
        run_at=overdue_at,
        key=f"followup-overdue-{follow_up.id}",
        follow_up_id=follow_up.id,
    )
    return "owner reminded"


@task("followup.overdue", queue=ALERTS)
def overdue_follow_up(session: Session, *, follow_up_id: int) -> str:
    follow_up = load(session, FollowUp, follow_up_id)
    if follow_up is None or follow_up.status != FollowUpStatus.OPEN:
        return "done in time"
    if not closing.owes_contact(load(session, Lead, follow_up.lead_id)):
        return "lead closed"
    _alert(
        session,
        SUPERVISORS,
        "follow_up_overdue",
        "跟进逾期",
        follow_up.lead_id,
        follow_up_id=follow_up.id,
        owner_id=follow_up.owner_id,
    )
    return "supervisor told"


@task("escalation.invited_no_show", queue=DEFAULT)
def invited_no_show(session: Session, *, day: str) -> str:
    """The 30-day rule: invited leads that never arrived go back to the manager's queue."""
    found = []
    for lead in manager.invited_without_arrival(session):
        if lead.escalation is None:
            lead.escalation, lead.escalated_at = "no_show_30d", clock.now()
            found.append(lead.id)
    # Each manager hears how many of the leads it sees went back to its queue.
    for person, theirs in access.watchers(session, {Role.MANAGER}, found):
        notify(
            session,
            person.id,
            "no_show_30d",
            f"{len(theirs)} 条邀约超过30天未到店",
            count=len(theirs),
        )
    return f"{len(found)} escalated"


@task("appointment.sms", queue=DEFAULT)
def appointment_sms(session: Session, *, appointment_id: int, kind: str) -> str:
    """The confirmation or a reminder for a booked appointment, sent at most once."""
    appointment = load(session, Appointment, appointment_id)
    if appointment is None or appointment.status != AppointmentStatus.BOOKED:
        return "not booked"
    if not closing.owes_contact(appointment.lead):
        return "lead closed"
    if kind != "confirm" and appointment.scheduled_at <= clock.now():
        return "too late"
    customer = appointment.lead.customer
    if customer.do_not_call:
        return "customer refused contact"
    settings = get_settings()
    message = send_once(
        session,
        get_telephony(),
        key=f"appointment-{appointment.id}-{kind}",
        to=customer.phone,
        body=reminders.text_for(session, appointment, kind, settings),
        from_=settings.hotline_number,
        lead_id=appointment.lead_id,
    )
    return f"sms {message.status}"


@task("system.probe", queue=DEFAULT, retry=(1, 1, 1), timeout=60)
def probe(session: Session, *, token: str, seconds: float = 0.0) -> str:
    """An end-to-end check of the queues for operators: wait, then leave one audit entry.

    ``dcc jobs probe`` uses it to prove that workers take work and finish it exactly once.
    """
    time.sleep(max(0.0, min(seconds, 30.0)))
    audit.record(
        session, actor_id=None, action="jobs.probe", entity="outbox", entity_id=None, token=token
    )
    return token


@task("reports.rollup", queue=LOW, timeout=1800)
def rollup_reports(session: Session, *, day: str) -> str:
    """Nightly: sum the day that just closed (and any missed before it) into the roll-ups,
    and rebuild the older days whose leads have changed since they were summed."""
    settings = get_settings()
    closed = dt.date.fromisoformat(day) - dt.timedelta(days=1)
    days = [closed - dt.timedelta(days=n) for n in range(7)]  # a missed night catches up
    built = reports.build_rollups(session, sorted(days), settings.timezone)
    return ", ".join(f"{kind}: {n} day(s) summed" for kind, n in built.items())
