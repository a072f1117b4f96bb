"""Reminders and alerts: appointment texts, follow-up reminders, SLA and the 30-day rule."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from support import run_due

from dcc import clock
from dcc.jobs import runner
from dcc.jobs.models import OutboxJob
from dcc.leads import followups, intake, lifecycle
from dcc.leads.models import Channel, Lead
from dcc.messaging import SentMessage
from dcc.notifications import Notification

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def kinds(session, user_id: int) -> list[str]:
    session.expire_all()
    return [
        n.kind
        for n in session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    ]


def new_lead(session, **kw) -> Lead:
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, name="王先生", **kw)
    ).lead
    session.commit()
    return lead


def test_appointment_confirmation_and_two_reminders_are_texted_once(session, staff, phone):
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    consultant = staff.user("liu", "consultant", name="刘强")
    visit = T0 + dt.timedelta(days=3)
    with clock.frozen(T0):
        lead = new_lead(session)
        booked = lifecycle.book_appointment(
            session, lead, at=visit, consultant=consultant, actor=agent
        )
        session.commit()
        run_due(session)
    assert len(phone.messages) == 1
    confirm = phone.messages[0]
    assert confirm["to"] == "+8613800138000"
    assert "王先生" in confirm["body"] and "刘强" in confirm["body"]
    assert "11月30日 10:00" in confirm["body"]  # dealer local time

    with clock.frozen(visit - dt.timedelta(days=1)):
        run_due(session)
    with clock.frozen(visit - dt.timedelta(hours=2)):
        run_due(session)
    assert len(phone.messages) == 3
    assert "明天" in phone.messages[1]["body"]
    keys = sorted(m.key for m in session.scalars(select(SentMessage)))
    assert keys == [f"appointment-{booked.id}-{k}" for k in ("confirm", "day_before", "two_hours")]
    # A replayed job finds the message and sends nothing more.
    for row in session.scalars(select(OutboxJob).where(OutboxJob.task == "appointment.sms")):
        row.done_at = None
    session.commit()
    with clock.frozen(visit - dt.timedelta(hours=2)):
        run_due(session)
    assert len(phone.messages) == 3


def test_no_first_call_within_the_sla_alerts_the_supervisor(session, staff, phone):
    agent = staff.user("agent", "dcc_agent", phone="13900000001", team="DCC")
    boss = staff.user("boss", "supervisor", team="DCC")
    with clock.frozen(T0):
        new_lead(session)
        run_due(session)
    assert kinds(session, agent.id) == ["new_lead"]  # speed-to-lead: the owner is told at once
    with clock.frozen(T0 + dt.timedelta(minutes=4)):
        run_due(session)
    assert kinds(session, boss.id) == []
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        run_due(session)
    assert kinds(session, boss.id) == ["sla_first_response"]


def test_called_in_time_means_no_alert(session, staff, phone):
    staff.user("agent", "dcc_agent", phone="13900000001", team="DCC")
    boss = staff.user("boss", "supervisor", team="DCC")
    with clock.frozen(T0):
        lead = new_lead(session)
    with clock.frozen(T0 + dt.timedelta(minutes=2)):
        lead.first_response_at = clock.now()
        session.commit()
    with clock.frozen(T0 + dt.timedelta(minutes=10)):
        run_due(session)
    assert kinds(session, boss.id) == []


def test_follow_up_reminder_then_overdue_report(session, staff, phone):
    agent = staff.user("agent", "dcc_agent", phone="13900000001", team="DCC")
    boss = staff.user("boss", "supervisor", team="DCC")
    with clock.frozen(T0):
        lead = new_lead(session)
        first = followups.open_follow_ups(session, lead)[0]
        planned = followups.complete(session, first, result="意向强", actor=agent, grade="H")
        session.commit()
        run_due(session)
    assert planned is not None and planned.due_at == T0 + dt.timedelta(days=2)
    with clock.frozen(planned.due_at):
        run_due(session)
    assert "follow_up_due" in kinds(session, agent.id)
    assert "follow_up_overdue" not in kinds(session, boss.id)
    with clock.frozen(planned.due_at + dt.timedelta(hours=24)):
        run_due(session)
    assert "follow_up_overdue" in kinds(session, boss.id)


def test_invited_leads_that_never_came_return_to_the_manager(session, staff, phone):
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    manager = staff.user("boss", "manager")
    with clock.frozen(T0):
        lead = new_lead(session)
        lifecycle.book_appointment(
            session, lead, at=T0 + dt.timedelta(days=1), consultant=None, actor=agent
        )
        session.commit()
    with clock.frozen(T0 + dt.timedelta(days=31)):
        from dcc.jobs import outbox

        row = outbox.schedule(session, "escalation.invited_no_show", key="d31", day="2026-12-28")
        session.commit()
        runner.run(row.id)
    session.expire_all()
    assert session.get(Lead, lead.id).escalation == "no_show_30d"
    assert "no_show_30d" in kinds(session, manager.id)


def test_the_sweeper_plans_the_nightly_rollup_and_the_30_day_check(app, session, redis):
    from dcc.jobs import sweeper

    with clock.frozen(T0):
        sweeper.sweep_once(app)
        sweeper.sweep_once(app)  # every sweeper pass agrees on "once a day"
    session.expire_all()
    rows = {r.task: r for r in session.scalars(select(OutboxJob))}
    assert set(rows) == {
        "escalation.invited_no_show",
        "reports.rollup",
        "appointments.no_show_sweep",
        "leads.dormant",
        "loop.audit",
    }
    # 03:00 in Shanghai (19:00 UTC) has passed at T0: the roll-up is due at once.
    assert rows["reports.rollup"].run_at == max(T0, dt.datetime(2026, 11, 26, 19, 0, tzinfo=dt.UTC))
    # The loop's nightly work: no-shows, then dormancy, then the audit (02:00-02:45 local).
    assert rows["loop.audit"].run_at == max(T0, dt.datetime(2026, 11, 26, 18, 45, tzinfo=dt.UTC))
    early = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC)  # 02:00 in Shanghai, the next night
    with clock.frozen(early):
        sweeper.sweep_once(app)
    planned = session.scalar(
        select(OutboxJob.run_at).where(OutboxJob.dedupe_key == "reports-rollup-2026-11-28")
    )
    assert planned == dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)  # waits for 03:00
    with clock.frozen(T0):
        assert runner.run(rows["reports.rollup"].id).startswith("reports.rollup")
