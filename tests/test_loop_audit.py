"""The loop audit: a fresh demo is closed at any hour; each kind of broken link is found;
``dcc audit`` (text and JSON, exit 1), the nightly gauge and the managers' alert."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import run_due

from dcc import access, clock, demo
from dcc.jobs import outbox
from dcc.jobs.models import OutboxJob
from dcc.leads import intake, lifecycle
from dcc.leads.models import (
    Callback,
    Channel,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadStatus,
    ValueTier,
)
from dcc.loop import audit
from dcc.notifications import Notification
from dcc.sales import orders
from dcc.sales.models import Appointment
from dcc.users.models import AgentStatus

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.mark.parametrize(
    "seeded_at",
    [
        dt.datetime(2026, 12, 2, 6, 30, tzinfo=dt.UTC),  # 14:30 in Shanghai
        dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC),  # 02:30
        dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC),  # 23:00
    ],
)
@pytest.mark.usefixtures("phone")
def test_a_fresh_demo_is_a_closed_loop_at_any_hour(app, session, seeded_at) -> None:
    with clock.frozen(seeded_at):
        assert demo.seed(session)
        session.commit()
        assert audit.find_violations(session) == []
        result = app.test_cli_runner().invoke(args=["audit"])
        assert result.exit_code == 0, result.output
        assert "the loop is closed" in result.output
        # The demo's visit is tomorrow inside opening hours, and every reminder is ahead.
        visit = session.scalars(select(Appointment)).one()
        local = clock.local(visit.scheduled_at, "Asia/Shanghai")
        assert local.date() == clock.local(seeded_at, "Asia/Shanghai").date() + dt.timedelta(1)
        assert dt.time(8, 30) <= local.time() < dt.time(20, 0)
        reminders = session.scalars(
            select(OutboxJob).where(
                OutboxJob.task == "appointment.sms", OutboxJob.args["kind"].as_string() != "confirm"
            )
        ).all()
        assert reminders and all(r.run_at > seeded_at for r in reminders)
    with clock.frozen(seeded_at + dt.timedelta(minutes=1)):
        run_due(session)  # the confirmation and the first-contact alerts
        assert audit.find_violations(session) == []


def lead_for(session: Session, phone: str, **kw) -> Lead:
    return intake.receive(session, intake.LeadInput(phone=phone, channel=Channel.PORTAL, **kw)).lead


def test_each_kind_of_broken_link_is_reported(app, session, staff) -> None:
    agent = staff.user("agent", "dcc_agent")
    agent.agent_status = AgentStatus.AVAILABLE
    consultant = staff.user("liu", "consultant")
    with clock.frozen(T0 - dt.timedelta(hours=5)):
        unowned = lead_for(session, "13800000001")
        unowned.owner_id = None
        idle = lead_for(session, "13800000002")
        stale_callback = Callback(
            lead_id=idle.id, owner_id=agent.id, reason="scheduled", due_at=clock.now()
        )
        session.add(stale_callback)
        missed = lead_for(session, "13800000003")
        visit = Appointment(
            lead_id=missed.id, scheduled_at=T0 - dt.timedelta(hours=3), booked_by_id=agent.id
        )
        session.add(visit)
        buyer = lead_for(session, "13800000004")
        lifecycle.register_arrival(session, buyer, clerk=None, consultant=consultant)
        order = orders.place(
            session,
            buyer,
            orders.OrderInput(vin="1HGCM82633A004352"),
            actor=consultant,
            timezone="Asia/Shanghai",
        )
        closed = lead_for(session, "13800000005")
        closed.status = LeadStatus.LOST  # closed behind the closing function's back
        job = outbox.schedule(session, "lead.first_contact", lead_id=closed.id)
        twice = lead_for(session, "13800000006")
        second = Lead(
            customer_id=twice.customer_id,
            channel=Channel.WEB,
            value_tier=ValueTier.VALUE,
            owner_id=agent.id,
        )
        session.add(second)
        session.flush()
        session.add(FollowUp(lead_id=second.id, owner_id=agent.id, due_at=clock.now()))
        session.commit()
    # Nothing planned for ``idle`` but the overdue callback: take its follow-up away too.
    nothing = lead_for(session, "13800000007")
    session.execute(
        FollowUp.__table__.update()
        .where(FollowUp.lead_id == nothing.id)
        .values(status=FollowUpStatus.CANCELED)
    )
    session.commit()

    with clock.frozen(T0):
        found = audit.find_violations(session)
    assert {v["kind"] for v in found} == set(audit.KINDS)
    expected = [
        {"kind": "lead_without_owner", "lead_id": unowned.id},
        {"kind": "lead_without_next_action", "lead_id": nothing.id},
        {"kind": "callback_overdue", "lead_id": idle.id, "callback_id": stale_callback.id},
        {"kind": "appointment_unresolved", "lead_id": missed.id, "appointment_id": visit.id},
        {"kind": "order_without_delivery_date", "lead_id": buyer.id, "order_id": order.id},
        {
            "kind": "job_for_closed_lead",
            "lead_id": closed.id,
            "outbox_id": job.id,
            "task": "lead.first_contact",
        },
        {
            "kind": "customer_with_two_open_leads",
            "customer_id": twice.customer_id,
            "lead_ids": [twice.id, second.id],
        },
    ]
    for violation in expected:
        assert violation in found, violation
    # The closed lead's open follow-up is owed work for a closed lead too.
    assert any(v["kind"] == "job_for_closed_lead" and v.get("follow_up_id") for v in found)

    runner = app.test_cli_runner()
    with clock.frozen(T0):
        as_json = runner.invoke(args=["audit", "--json"])
        as_text = runner.invoke(args=["audit"])
    assert as_json.exit_code == 1 and json.loads(as_json.output) == found
    assert as_text.exit_code == 1
    assert f"lead_without_owner: 1\n  lead_id {unowned.id}" in as_text.output
    assert f"{len(found)} violation(s)" in as_text.output


def test_the_nightly_audit_feeds_the_gauge_and_alerts_the_managers(
    app, client, session, staff
) -> None:
    manager = staff.user("boss", "manager")
    with clock.frozen(T0):
        lead_for(session, "13800000001")  # nobody on shift: no owner
        session.add(OutboxJob(task="loop.audit", queue="dcc-low", args={"day": "2026-11-27"}))
        session.commit()
        assert run_due(session)[-1] == "loop.audit: 1 violation(s)"
    notes = session.scalars(select(Notification).where(Notification.user_id == manager.id)).all()
    assert [n.kind for n in notes] == ["unassigned_lead", "loop_violations"]
    assert notes[-1].data["counts"] == {"lead_without_owner": 1}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
        for s in family.samples
    }
    assert samples[("dcc_loop_violations", (("kind", "lead_without_owner"),))] == 1
    assert samples[("dcc_loop_violations", (("kind", "callback_overdue"),))] == 0
    assert samples[("dcc_loop_audit_timestamp_seconds", ())] == T0.timestamp()


def test_a_manager_sees_only_the_broken_links_of_their_team(session, staff) -> None:
    agent = staff.user("agent", "dcc_agent", team="DCC")
    agent.agent_status = AgentStatus.AVAILABLE
    theirs = staff.user("boss", "manager", team="DCC")
    elsewhere = staff.user("other", "manager", team="展厅")
    lead = lead_for(session, "13800000001")
    session.execute(
        FollowUp.__table__.update().where(FollowUp.lead_id == lead.id).values(status="canceled")
    )
    session.commit()
    found = audit.find_violations(session)
    assert [v["lead_id"] for v in access.visible_violations(session, theirs, found)] == [lead.id]
    assert access.visible_violations(session, elsewhere, found) == []
