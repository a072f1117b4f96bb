"""One reassignment, whichever door a manager uses: the API, the customer list, the
escalation queue. Each leaves the lead in the same state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc import clock
from dcc.audit import AuditEntry
from dcc.leads import callbacks, escalations, followups, intake
from dcc.leads.models import Callback, CallbackStatus, Channel, FollowUp, FollowUpStatus, Lead


def _escalated_lead(session, phone: str, owner) -> Lead:
    """A lead the attempt policy gave up on: unreachable, nothing planned, a callback owed."""
    lead = intake.receive(
        session, intake.LeadInput(phone=phone, channel=Channel.PORTAL, owner_id=owner.id)
    ).lead
    followups.cancel_open_work(session, lead)
    lead.escalation, lead.escalated_at = escalations.UNREACHABLE, clock.now()
    callbacks.owe(session, lead, reason="retry", due_at=clock.now() + dt.timedelta(hours=1))
    session.commit()
    return lead


def _state(session, lead: Lead) -> dict[str, Any]:
    """Everything a reassignment decides about a lead, without its ids."""
    session.expire_all()
    lead = session.get_one(Lead, lead.id)
    open_work = session.scalars(
        select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.status == FollowUpStatus.OPEN)
    ).all()
    owed = session.scalars(
        select(Callback).where(
            Callback.lead_id == lead.id, Callback.status == CallbackStatus.PENDING
        )
    ).all()
    audits = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity == "lead", AuditEntry.entity_id == lead.id
        )
    ).all()
    return {
        "owner": lead.owner_id,
        "team": lead.team_id,
        "customer owner": lead.customer.owner_id,
        "escalation": lead.escalation,
        "left the queue at": lead.escalated_at,
        "open follow-ups": [(f.owner_id, f.due_at) for f in open_work],
        "pending callbacks": [(c.owner_id, c.due_at) for c in owed],
        "audited": sorted(audits),
    }


def test_the_api_and_the_pages_reassign_alike(client, session, staff) -> None:
    boss = staff.user("boss", "manager", password=PASSWORD, team="North")
    alice = staff.user("alice", "dcc_agent", team="North")
    bob = staff.user("bob", "dcc_agent", team="North")
    by_api, by_list, by_queue = (
        _escalated_lead(session, phone, alice)
        for phone in ("13800138000", "13800138001", "13800138002")
    )

    moved = client.post(
        f"/api/v1/leads/{by_api.id}/reassign", json={"owner_id": bob.id}, headers=staff.token(boss)
    )
    assert moved.status_code == 200, moved.get_json()
    login(client, "boss")
    form = {"customer_ids": by_list.customer_id, "owner_id": bob.id}
    assert post(client, "/manager/customers/reassign", form).status_code == 302
    form = {"owner_id": bob.id}
    assert post(client, f"/manager/leads/{by_queue.id}/reassign", form).status_code == 302

    expected = {
        "owner": bob.id,
        "team": bob.team_id,
        "customer owner": bob.id,
        "escalation": None,
        "left the queue at": clock.now(),
        "open follow-ups": [(bob.id, clock.now())],  # on bob's worklist at once
        "pending callbacks": [(bob.id, clock.now() + dt.timedelta(hours=1))],
        "audited": ["lead.escalation.clear", "lead.reassign"],
    }
    assert _state(session, by_api) == expected
    assert _state(session, by_list) == expected
    assert _state(session, by_queue) == expected


def test_only_managers_reassign_through_any_door(client, session, staff) -> None:
    alice = staff.user("alice", "dcc_agent", password=PASSWORD)
    bob = staff.user("bob", "dcc_agent")
    lead = _escalated_lead(session, "13800138000", alice)
    before = _state(session, lead)
    answer = client.post(
        f"/api/v1/leads/{lead.id}/reassign", json={"owner_id": bob.id}, headers=staff.token(alice)
    )
    assert answer.status_code == 403
    login(client, "alice")
    form = {"customer_ids": lead.customer_id, "owner_id": bob.id}
    assert post(client, "/manager/customers/reassign", form).status_code == 403
    assert (
        post(client, f"/manager/leads/{lead.id}/reassign", {"owner_id": bob.id}).status_code == 403
    )
    assert _state(session, lead) == before
