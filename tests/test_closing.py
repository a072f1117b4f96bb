"""A closed lead owes nothing; visits that pass without an arrival; dormant leads and waking.

Every test freezes the clock: visit times, grace minutes and dormant days are all relative.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import LEAD_SECRET, deliver, run_due

from dcc import clock
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.customers import service as customers
from dcc.jobs import policy
from dcc.jobs.models import OutboxJob
from dcc.leads import callbacks, followups, intake, lifecycle, sources
from dcc.leads.models import (
    Callback,
    Channel,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadStatus,
)
from dcc.loop import dormancy
from dcc.notifications import Notification
from dcc.queues import QUEUE_NAMES
from dcc.reports import arrivals
from dcc.reports.period import Period
from dcc.sales import orders
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import AgentStatus

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
TZ = "Asia/Shanghai"


@pytest.fixture()
def people(staff):
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    agent.agent_status = AgentStatus.AVAILABLE
    staff.session.commit()
    return {
        "agent": agent,
        "consultant": staff.user("liu", "consultant", name="刘强"),
        "manager": staff.user("boss", "manager"),
        "clerk": staff.user("clerk", "clerk"),
    }


def new_lead(session: Session, phone: str = "13800138000") -> Lead:
    lead = intake.receive(
        session, intake.LeadInput(phone=phone, channel=Channel.PORTAL, name="王先生")
    ).lead
    session.commit()
    return lead


def invited_lead(
    session: Session, people, *, visit: dt.datetime | None
) -> tuple[Lead, Appointment | None]:
    """A lead with a visit booked (unless ``visit`` is None), a callback promised and its
    follow-ups, all committed."""
    lead = new_lead(session)
    appointment = None
    if visit is not None:
        appointment = lifecycle.book_appointment(
            session, lead, at=visit, consultant=people["consultant"], actor=people["agent"]
        )
    callbacks.schedule(
        session, lead, due_at=clock.now() + dt.timedelta(hours=1), actor=people["agent"]
    )
    followups.schedule(session, lead, due_at=clock.now() + dt.timedelta(days=1))
    session.commit()
    return lead, appointment


def pending(session: Session, lead: Lead) -> dict[str, int]:
    """What is still owed for ``lead``: rows and outbox jobs (every job here is about it)."""
    session.expire_all()

    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "follow_ups": count(FollowUp, FollowUp.lead_id == lead.id, FollowUp.status == "open"),
        "callbacks": count(Callback, Callback.lead_id == lead.id, Callback.status == "pending"),
        "appointments": count(
            Appointment, Appointment.lead_id == lead.id, Appointment.status == "booked"
        ),
        "jobs": count(OutboxJob, OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None)),
    }


NOTHING = {"follow_ups": 0, "callbacks": 0, "appointments": 0, "jobs": 0}


def confirm_lost(session: Session, lead: Lead, people) -> None:
    request = lifecycle.request_lost(session, lead, reason="competitor", actor=people["agent"])
    lifecycle.decide_lost(session, request, approve=True, manager=people["manager"])
    session.commit()


def test_lost_confirmed_owes_nothing_and_no_sms_goes_out_though_queued(
    session, people, phone, redis
) -> None:
    with clock.frozen(T0):
        lead, appointment = invited_lead(session, people, visit=T0 + dt.timedelta(days=3))
        assert pending(session, lead)["jobs"] >= 5  # first contact, SLA, SMS, callback, reminders
        # The confirmation SMS is in RQ's queue already when the manager confirms the loss.
        queues = [Queue(name, connection=redis) for name in QUEUE_NAMES]
        assert sum(q.count for q in queues) >= 1
        confirm_lost(session, lead, people)
        assert pending(session, lead) == NOTHING
        SimpleWorker(queues, connection=redis).work(burst=True)
    assert phone.messages == [] and phone.calls == []
    session.expire_all()
    assert appointment.status == AppointmentStatus.CANCELED
    assert appointment.canceled_reason == "lost"
    reasons = {f.canceled_reason for f in session.scalars(select(FollowUp))}
    assert reasons == {"lost"}
    assert lead.next_action_at is None and lead.close_reason == "lost"

    # Work planned in a way the close could not know of still finds the lead closed when it
    # runs: revive every canceled job and run them all when due.
    for row in session.scalars(select(OutboxJob)):
        row.canceled_at = None
    session.execute(Appointment.__table__.update().values(status="booked"))
    session.execute(Callback.__table__.update().values(status="pending"))
    session.execute(FollowUp.__table__.update().values(status="open"))
    session.commit()
    with clock.frozen(T0 + dt.timedelta(days=4)):
        results = run_due(session)
    acting = [r for r in results if not r.startswith("appointment.no_show")]
    assert acting and all("lead closed" in r or "already" in r or "in time" in r for r in acting)
    assert phone.messages == [] and phone.calls == []
    # The missed visit is recorded as one, but nobody is asked to invite a lost customer again.
    assert "appointment.no_show: no-show" in results
    re_invites = select(FollowUp).where(FollowUp.purpose == "re_invite")
    assert session.scalars(re_invites).all() == []


@pytest.mark.parametrize("how", ["invalid", "merged", "delivered", "dormant"])
def test_every_way_of_closing_releases_the_work(session, people, how) -> None:
    with clock.frozen(T0):
        # A number found wrong was never reached, so never invited.
        visit = None if how == "invalid" else T0 + dt.timedelta(days=3)
        lead, _ = invited_lead(session, people, visit=visit)
        if how == "invalid":
            lifecycle.mark_invalid(session, lead, actor=people["manager"], reason="空号")
        elif how == "merged":
            other = new_lead(session, "13900139000")
            lifecycle.register_arrival(session, other, clerk=people["clerk"])  # the keeper
            customers.merge(session, other.customer, [lead.customer], actor=people["manager"])
            session.refresh(lead)
            assert lead.status == LeadStatus.DUPLICATE
        elif how == "delivered":
            lifecycle.register_arrival(session, lead, clerk=people["clerk"])
            order = orders.place(
                session,
                lead,
                orders.OrderInput(vin="1HGCM82633A004352"),
                actor=people["consultant"],
                timezone=TZ,
            )
            orders.deliver(session, order, actor=people["consultant"])
        else:
            lifecycle.make_dormant(session, lead)
        session.commit()
        left = pending(session, lead)
    if how == "merged":  # the survivor's own lead keeps its first-contact jobs
        left["jobs"] = session.scalar(
            select(func.count())
            .select_from(OutboxJob)
            .where(OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None))
            .where(OutboxJob.dedupe_key.not_like(f"%-{other.id}"))
        )
    assert left == NOTHING
    assert lead.close_reason == how


def test_a_visit_that_passes_without_arrival_is_a_no_show_with_a_re_invite(
    session, people, phone
) -> None:
    policy.save(session, no_show_grace_minutes=45)
    visit = T0 + dt.timedelta(days=1)
    with clock.frozen(T0):
        lead, appointment = invited_lead(session, people, visit=visit)
        run_due(session)
    with clock.frozen(visit + dt.timedelta(minutes=44)):
        run_due(session)
        session.expire_all()
        assert appointment.status == AppointmentStatus.BOOKED  # still within the grace
    with clock.frozen(visit + dt.timedelta(minutes=45)):
        assert "appointment.no_show: no-show" in run_due(session)
        session.expire_all()
        assert appointment.status == AppointmentStatus.NO_SHOW
        re_invite = session.scalars(
            select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.purpose == "re_invite")
        ).one()
        assert re_invite.status == FollowUpStatus.OPEN and re_invite.owner_id == people["agent"].id
        assert re_invite.due_at == clock.now() and lead.next_action == "再次邀约"
        assert lead.status == LeadStatus.INVITED  # still invited: the 30-day rule goes on
        notes = session.scalars(
            select(Notification.kind).where(Notification.user_id == people["agent"].id)
        ).all()
        assert "no_show" in notes
        # The show rate counts it: due 1, arrived 0.
        day = clock.local(visit, TZ).date()
        report = arrivals.report(session, reader=people["manager"], period=Period(day, day, TZ))
        assert (report.totals.no_show, report.totals.due, report.totals.show_rate) == (1, 1, 0.0)
    # A second run of the check does nothing more.
    with clock.frozen(visit + dt.timedelta(hours=3)):
        job = session.scalars(
            select(OutboxJob).where(OutboxJob.task == "appointment.no_show")
        ).one()
        job.done_at = None
        session.commit()
        assert run_due(session) == ["appointment.no_show: resolved"]


def test_dormant_after_n_days_and_woken_by_a_portal_lead(client, session, people) -> None:
    policy.save(session, dormant_after_days=30)
    sources.create(session, slug="autohome", name="汽车之家", channel="portal", secret=LEAD_SECRET)
    with clock.frozen(T0):
        lead = new_lead(session)
    with clock.frozen(T0 + dt.timedelta(days=29)):
        assert dormancy.stale(session, days=30) == []
    with clock.frozen(T0 + dt.timedelta(days=31)):
        job = OutboxJob(task="leads.dormant", queue="dcc-low", args={"day": "2026-12-28"})
        session.add(job)
        session.commit()
        assert "leads.dormant: 1 lead(s) dormant" in run_due(session)
    session.expire_all()
    assert lead.status == LeadStatus.DORMANT and lead.close_reason == "dormant"
    assert pending(session, lead) == NOTHING

    with clock.frozen(T0 + dt.timedelta(days=40)):
        answer = deliver(client, {"phone": "+86 138-0013-8000", "series": "汉兰达"})
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["lead_id"] == lead.id and not answer.get_json()["new_lead"]
    session.expire_all()
    assert lead.status == LeadStatus.CONTACTING and lead.owner_id == people["agent"].id
    assert [f.due_at for f in followups.open_follow_ups(session, lead)] == [
        T0 + dt.timedelta(days=40)
    ]
    notes = session.scalars(
        select(Notification.kind).where(Notification.user_id == people["agent"].id)
    ).all()
    assert "lead_reopened" in notes


def test_a_number_that_never_rings_closes_the_lead_as_invalid(app, session, people) -> None:
    """The attempt policy's last failure: every attempt failed (空号), so the lead is invalid;
    the manager hears of it."""
    policy.save(session, max_attempts=2)
    with clock.frozen(T0):
        lead = new_lead(session)
        calls = []
        for n in range(2):
            call = Call(
                lead_id=lead.id,
                customer_id=lead.customer_id,
                direction=CallDirection.OUTBOUND,
                leg="customer",
                status=CallStatus.FAILED,
                sid=f"CA{n:032d}",
                created_at=T0 + dt.timedelta(minutes=n),
            )
            session.add(call)
            calls.append(call)
        session.flush()
        job = OutboxJob(
            task="call.attempt_result", queue="dcc-calls", args={"call_id": calls[1].id}
        )
        session.add(job)
        session.commit()
        assert run_due(session)[-1] == "call.attempt_result: invalid after 2 failed attempts"
    session.expire_all()
    assert lead.status == LeadStatus.INVALID and lead.close_reason == "invalid"
    manager_notes = session.scalars(
        select(Notification.kind).where(Notification.user_id == people["manager"].id)
    ).all()
    assert "invalid_number" in manager_notes


def test_a_lead_met_already_whose_calls_fail_goes_to_the_manager(app, session, people) -> None:
    """A customer who came to the showroom is not an empty number: when every later call
    fails, the lead goes to the unreachable queue instead of failing the job."""
    policy.save(session, max_attempts=2)
    with clock.frozen(T0):
        lead = new_lead(session)
        lifecycle.register_arrival(session, lead, clerk=None, consultant=None)
        calls = [
            Call(
                lead_id=lead.id,
                customer_id=lead.customer_id,
                direction=CallDirection.OUTBOUND,
                leg="customer",
                status=CallStatus.FAILED,
                sid=f"CB{n:032d}",
                created_at=T0 + dt.timedelta(minutes=n),
            )
            for n in range(2)
        ]
        session.add_all(calls)
        session.flush()
        session.add(
            OutboxJob(task="call.attempt_result", queue="dcc-calls", args={"call_id": calls[1].id})
        )
        session.commit()
        assert run_due(session)[-1] == "call.attempt_result: unreachable after 2 attempts"
    session.expire_all()
    assert lead.status == LeadStatus.ARRIVED and lead.escalation == "unreachable"
