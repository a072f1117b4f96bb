"""The jobs keep the promise that no lead is forgotten (tests on a real Redis)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from support import run_due

from dcc import clock
from dcc.calls import service as calls
from dcc.config import get_settings
from dcc.jobs import outbox, policy
from dcc.jobs.models import OutboxJob
from dcc.leads import callbacks, intake, lifecycle, reassignment
from dcc.leads.models import Callback, CallbackStatus, Channel, Lead
from dcc.notifications import Notification
from dcc.queues import QUEUE_NAMES
from dcc.users.models import AgentStatus

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.fixture()
def always_open(app):
    settings = app.extensions["dcc.settings"]
    app.extensions["dcc.settings"] = dataclasses.replace(
        settings, calling_hours="00:00-24:00", opening_hours="00:00-24:00"
    )


def ready_agent(staff, login: str, number: str, team: str = "DCC"):
    agent = staff.user(login, "dcc_agent", phone=number, team=team)
    agent.agent_status = AgentStatus.AVAILABLE
    staff.session.commit()
    return agent


def new_lead(session, owner) -> Lead:
    lead = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=owner.id),
    ).lead
    session.commit()
    return lead


def workers(redis) -> tuple[list[Queue], SimpleWorker]:
    queues = [Queue(name, connection=redis) for name in QUEUE_NAMES]
    return queues, SimpleWorker(queues, connection=redis)


def test_scheduled_callback_waits_in_the_outbox_and_the_sweep_enqueues_it_when_due(
    session, staff, redis, phone, always_open
):
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        lead = new_lead(session, agent)
        session.execute(
            OutboxJob.__table__.update().values(done_at=clock.now())  # speed-to-lead not under test
        )
        due = T0 + dt.timedelta(seconds=30)
        callback = callbacks.schedule(session, lead, due_at=due, actor=agent)
        session.commit()
    row = session.scalar(select(OutboxJob).where(OutboxJob.task == "callback.fire"))
    queues, worker = workers(redis)
    job_id = outbox.rq_job_id(row.id)
    # No RQ scheduler is involved: before its time the work is in the outbox only.
    assert all(job_id not in ScheduledJobRegistry(queue=q).get_job_ids() for q in queues)
    with clock.frozen(due - dt.timedelta(seconds=1)):
        assert outbox.sweep(session, redis) == 0
        session.commit()
        worker.work(burst=True)
    assert phone.calls == []

    with clock.frozen(due + dt.timedelta(seconds=1)):
        assert outbox.sweep(session, redis) == 1
        session.commit()
        assert job_id in Queue("dcc-calls", connection=redis).job_ids
        assert outbox.sweep(session, redis) == 0  # a second sweeper finds it in RQ's hands
        session.commit()
        workers(redis)[1].work(burst=True)

    assert [c["agent"] for c in phone.calls] == ["+8613900000001"]
    assert phone.calls[0]["customer"] == "+8613800138000"
    session.expire_all()
    assert session.get(Callback, callback.id).status == CallbackStatus.DONE


def test_agent_only_callback_becomes_the_teams_after_the_configured_time(
    session, staff, phone, always_open
):
    owner = ready_agent(staff, "owner", "+8613900000001")
    colleague = ready_agent(staff, "colleague", "+8613900000002")
    policy.save(session, agent_only_minutes=30)
    with clock.frozen(T0):
        lead = new_lead(session, owner)
        run_due(session)
        owner.agent_status = AgentStatus.AWAY  # the owner is away when the callback falls due
        callback = callbacks.schedule(
            session, lead, due_at=T0 + dt.timedelta(minutes=5), actor=owner
        )
        session.commit()
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        run_due(session)
    session.expire_all()
    assert session.get(Callback, callback.id).released_at is None
    assert phone.calls == []
    notes = session.scalars(select(Notification).where(Notification.user_id == owner.id)).all()
    assert "callback_due" in {n.kind for n in notes}

    with clock.frozen(T0 + dt.timedelta(minutes=34)):
        run_due(session)
    session.expire_all()
    assert session.get(Callback, callback.id).released_at is None  # 29 minutes after due

    with clock.frozen(T0 + dt.timedelta(minutes=35)):
        run_due(session)
    session.expire_all()
    released = session.get(Callback, callback.id)
    assert released.released_at == T0 + dt.timedelta(minutes=35)
    assert [c["agent"] for c in phone.calls] == [colleague.phone]
    assert released.status == CallbackStatus.DONE


def _no_answer(session, call_id: int, at: dt.datetime) -> None:
    """The provider reports that the customer leg of ``call_id`` rang out."""
    parent = session.get(calls.Call, call_id)
    calls.record_status(
        session,
        {
            "CallSid": parent.sid,
            "CallStatus": "completed",
            "Direction": "outbound-api",
            "Timestamp": _rfc(at),
        },
        call_id=call_id,
    )
    child_sid = "CA" + "c" * 24 + f"{call_id:08d}"
    calls.record_status(
        session,
        {
            "CallSid": child_sid,
            "ParentCallSid": parent.sid,
            "CallStatus": "no-answer",
            "Direction": "outbound-dial",
            "To": "+8613800138000",
            "Timestamp": _rfc(at),
            "CallDuration": "0",
        },
        parent_call_id=call_id,
        leg="customer",
    )
    session.commit()


def _rfc(at: dt.datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S +0000")


def test_three_unanswered_attempts_go_to_the_manager_with_the_configured_delays(
    session, staff, phone, always_open
):
    agent = ready_agent(staff, "agent", "+8613900000001")
    staff.user("boss", "manager")
    policy.save(session, retry_delays_minutes=(10, 120), max_attempts=3)
    session.commit()
    with clock.frozen(T0):
        lead = new_lead(session, agent)
        call = calls.start_click_to_dial(session, lead, actor=agent, settings=get_settings())
        call.sid = "CA" + "1" * 32
        session.commit()
        run_due(session)  # speed-to-lead: already contacted, nothing to do
        _no_answer(session, call.id, T0)
        run_due(session)
    retries = session.scalars(select(Callback).order_by(Callback.id)).all()
    assert [r.due_at - T0 for r in retries] == [dt.timedelta(minutes=10)]

    moments = [T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=130)]
    for at in moments:
        with clock.frozen(at):
            run_due(session)
            placed = phone.calls[-1]
            second = session.scalar(select(calls.Call).where(calls.Call.sid == placed["sid"]))
            _no_answer(session, second.id, at)
            run_due(session)
    session.expire_all()
    retries = session.scalars(select(Callback).order_by(Callback.id)).all()
    assert [r.due_at for r in retries] == moments
    assert len(phone.calls) == 2
    lead = session.get(Lead, lead.id)
    assert lead.escalation == "unreachable"
    kinds = {n.kind for n in session.scalars(select(Notification))}
    assert "unreachable" in kinds


def test_reassigning_gives_callbacks_to_the_new_owner_and_closing_cancels_them(
    session, staff, phone, always_open
):
    old = ready_agent(staff, "old", "+8613900000001")
    new = ready_agent(staff, "new", "+8613900000002")
    boss = staff.user("boss", "manager")
    with clock.frozen(T0):
        lead = new_lead(session, old)
        run_due(session)
        callback = callbacks.schedule(
            session, lead, due_at=T0 + dt.timedelta(minutes=30), actor=old
        )
        session.commit()
        reassignment.reassign(session, lead, new, actor=boss)
        session.commit()
    assert session.get(Callback, callback.id).owner_id == new.id
    with clock.frozen(T0 + dt.timedelta(minutes=30)):
        run_due(session)
    assert [c["agent"] for c in phone.calls] == [new.phone]  # never the old owner

    with clock.frozen(T0 + dt.timedelta(hours=1)):
        second = callbacks.schedule(session, lead, due_at=T0 + dt.timedelta(hours=2), actor=new)
        session.commit()
        lifecycle.mark_invalid(session, lead, actor=boss, reason="空号")
        session.commit()
    with clock.frozen(T0 + dt.timedelta(hours=2)):
        run_due(session)
    session.expire_all()
    assert session.get(Callback, second.id).status == CallbackStatus.CANCELED
    assert len(phone.calls) == 1  # the closed lead was not called


def test_a_provider_outage_loses_no_call(session, staff, phone, always_open):
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        lead = new_lead(session, agent)
        run_due(session)  # speed-to-lead without auto-dial: the owner is alerted
        callback = callbacks.schedule(
            session, lead, due_at=T0 + dt.timedelta(minutes=5), actor=agent
        )
        session.commit()
    phone.outages = 1
    fire = session.scalar(select(OutboxJob).where(OutboxJob.task == "callback.fire"))
    with clock.frozen(T0 + dt.timedelta(minutes=5)), pytest.raises(Exception, match="refused"):
        from dcc.jobs import runner

        runner.run(fire.id)  # as RQ runs it: the failure is raised so that RQ retries
    session.expire_all()
    owed = session.get(Callback, callback.id)
    assert owed.status == CallbackStatus.PENDING and owed.placed_call_id is None
    lead = session.get(Lead, lead.id)
    assert lead.attempt_count == 0 and lead.first_response_at is None
    assert "unreachable" in session.get(OutboxJob, fire.id).last_error

    with clock.frozen(T0 + dt.timedelta(minutes=6)):
        from dcc.jobs import runner

        runner.run(fire.id)  # RQ's retry, once the provider is back
    session.expire_all()
    assert [c["agent"] for c in phone.calls] == ["+8613900000001"]
    assert session.get(Callback, callback.id).status == CallbackStatus.DONE
    assert session.get(Lead, lead.id).attempt_count == 1


def test_a_reassigned_unreachable_lead_gets_fresh_attempts(session, staff, phone, always_open):

    agent = ready_agent(staff, "agent", "+8613900000001")
    fresh = ready_agent(staff, "fresh", "+8613900000002")
    boss = staff.user("boss", "manager")
    policy.save(session, retry_delays_minutes=(10,), max_attempts=2)
    session.commit()

    def miss(by, sid: str, at: dt.datetime) -> None:
        with clock.frozen(at):
            call = calls.start_click_to_dial(
                session, session.get(Lead, lead.id), actor=by, settings=get_settings()
            )
            call.sid = sid
            session.commit()
            _no_answer(session, call.id, at)
            run_due(session)
        session.expire_all()

    with clock.frozen(T0):
        lead = new_lead(session, agent)
        run_due(session)
    miss(agent, "CA" + "2" * 32, T0)
    miss(agent, "CA" + "3" * 32, T0 + dt.timedelta(minutes=5))
    assert session.get(Lead, lead.id).escalation == "unreachable"

    with clock.frozen(T0 + dt.timedelta(hours=1)):
        reassignment.reassign(session, session.get(Lead, lead.id), fresh, actor=boss)
        session.commit()
    miss(fresh, "CA" + "4" * 32, T0 + dt.timedelta(hours=2))
    # The new owner's first unanswered call starts a fresh round: a retry, not the queue again.
    assert session.get(Lead, lead.id).escalation is None
    retry = session.scalars(
        select(Callback).where(Callback.owner_id == fresh.id, Callback.reason == "retry")
    ).one()
    assert retry.due_at == T0 + dt.timedelta(hours=2, minutes=10)


def test_a_due_sla_check_is_served_before_a_backlog_of_first_contact_jobs(
    session, staff, redis, phone, always_open
):
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        for n in range(12):  # a burst of portal leads: a first-contact job each, queued at once
            intake.receive(
                session,
                intake.LeadInput(
                    phone=f"1380013{n:04d}", channel=Channel.PORTAL, owner_id=agent.id
                ),
            )
        session.commit()
    late = T0 + dt.timedelta(minutes=5, seconds=1)
    with clock.frozen(late):  # every lead's SLA check falls due while the calls queue is full
        assert outbox.sweep(session, redis) == 12
        session.commit()
        queues = [Queue(name, connection=redis) for name in QUEUE_NAMES]
        assert queues[0].name == "dcc-alerts" and queues[0].count == 12
        SimpleWorker(queues, connection=redis).work(burst=True, max_jobs=12)
    session.expire_all()
    sla = session.scalars(select(OutboxJob).where(OutboxJob.task == "lead.first_response_sla"))
    assert all(row.done_at is not None for row in sla)  # the twelve served first …
    first = session.scalars(select(OutboxJob).where(OutboxJob.task == "lead.first_contact"))
    assert all(row.done_at is None for row in first)  # … before any first-contact job


def _dialled(session, agent) -> calls.Call:
    """A new lead of ``agent``'s, called by click-to-dial, the call's first jobs run."""
    lead = new_lead(session, agent)
    call = calls.start_click_to_dial(session, lead, actor=agent, settings=get_settings())
    call.sid = "CA" + "1" * 32
    session.commit()
    run_due(session)
    return call


def _customer_leg_event(session, call_id: int, status: str, at: dt.datetime, **extra: str):
    parent = session.get(calls.Call, call_id)
    calls.record_status(
        session,
        {
            "CallSid": "CA" + "d" * 24 + f"{call_id:08d}",
            "ParentCallSid": parent.sid,
            "CallStatus": status,
            "Direction": "outbound-dial",
            "To": "+8613800138000",
            "Timestamp": _rfc(at),
            **extra,
        },
        parent_call_id=call_id,
        leg="customer",
    )
    session.commit()


@pytest.mark.parametrize("job_runs_between", [False, True])
def test_completed_with_talk_time_before_in_progress_owes_no_retry(
    session, staff, phone, always_open, job_runs_between
):
    """Twilio does not promise the order of status callbacks: a ``completed`` leg with talk
    time that arrives before its ``in-progress`` is an answered call, not a missed one."""
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        call = _dialled(session, agent)
        _customer_leg_event(
            session, call.id, "completed", T0 + dt.timedelta(seconds=70), CallDuration="55"
        )
        if job_runs_between:
            run_due(session)
        _customer_leg_event(session, call.id, "in-progress", T0 + dt.timedelta(seconds=15))
        run_due(session)
    session.expire_all()
    assert (
        session.scalars(select(Callback).where(Callback.status == CallbackStatus.PENDING)).all()
        == []
    )
    leg = session.scalar(select(calls.Call).where(calls.Call.leg == "customer"))
    assert leg.answered_at == T0 + dt.timedelta(seconds=15)
    assert session.get(Lead, call.lead_id).first_response_at is not None


def test_a_late_in_progress_withdraws_a_retry_already_owed(session, staff, phone, always_open):
    """A leg reported as no-answer at first and answered later: the retry callback is withdrawn."""
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        call = _dialled(session, agent)
        _customer_leg_event(session, call.id, "canceled", T0 + dt.timedelta(seconds=30))
        run_due(session)
        owed = session.scalars(select(Callback).where(Callback.reason == "retry")).all()
        assert len(owed) == 1
        _customer_leg_event(session, call.id, "in-progress", T0 + dt.timedelta(seconds=12))
        run_due(session)
    session.expire_all()
    retry = session.scalar(select(Callback).where(Callback.reason == "retry"))
    assert (retry.status, retry.canceled_reason) == (CallbackStatus.CANCELED, "answered")


def test_the_dial_result_proves_the_customer_leg_answered(session, staff, phone, always_open):
    """``DialCallStatus=completed`` with talk time on the agent leg's ``<Dial>`` action marks the
    customer leg answered even when the leg's own ``in-progress`` never arrives."""
    agent = ready_agent(staff, "agent", "+8613900000001")
    with clock.frozen(T0):
        call = _dialled(session, agent)
        _customer_leg_event(session, call.id, "ringing", T0 + dt.timedelta(seconds=5))
        leg_sid = "CA" + "d" * 24 + f"{call.id:08d}"
        calls.record_dial_result(
            session,
            {
                "CallSid": call.sid,
                "DialCallSid": leg_sid,
                "DialCallStatus": "completed",
                "DialCallDuration": "40",
                "Timestamp": _rfc(T0 + dt.timedelta(seconds=60)),
            },
            call_id=call.id,
        )
        session.commit()
        _customer_leg_event(
            session, call.id, "completed", T0 + dt.timedelta(seconds=61), CallDuration="0"
        )
        run_due(session)
    session.expire_all()
    leg = session.scalar(select(calls.Call).where(calls.Call.sid == leg_sid))
    assert leg.answered_at == T0 + dt.timedelta(seconds=20)
    assert session.scalars(select(Callback)).all() == []


def test_a_callback_due_after_calling_hours_rings_at_the_next_opening(session, staff, phone):
    agent = ready_agent(staff, "agent", "+8613900000001")
    night = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai
    opening = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)  # 08:00 the next morning
    with clock.frozen(night - dt.timedelta(minutes=5)):
        lead = new_lead(session, agent)
        session.execute(OutboxJob.__table__.update().values(done_at=clock.now()))
        callback = callbacks.schedule(session, lead, due_at=night, actor=agent)
        session.commit()
    with clock.frozen(night):
        assert run_due(session) == [f"callback.fire: moved to {opening.isoformat()}"]
    assert phone.calls == []
    with clock.frozen(opening):
        (result,) = run_due(session)
        assert result.startswith("callback.fire: dialled")
    assert [c["agent"] for c in phone.calls] == ["+8613900000001"]
    session.expire_all()
    assert session.get(Callback, callback.id).status == CallbackStatus.DONE
