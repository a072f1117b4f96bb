"""The loop audit (闭环检查): every broken link of the closed loop, by kind, with the ids.

:func:`find_violations` is the one place that says what a broken link is; ``dcc audit``, the
manager's page, the nightly job (a Prometheus gauge and the manager's alert) and simulations
all call it. The kinds:

- ``lead_without_owner``: an open lead nobody owns
- ``lead_without_next_action``: a worked lead (open, not dormant) with no open follow-up and
  no pending callback: nothing says when it is contacted next
- ``callback_overdue``: a callback pending longer than the dealer's tolerance past its time
- ``appointment_unresolved``: a booked visit whose time and grace have passed, neither
  arrived nor marked no-show
- ``order_without_delivery_date``: an open order without its expected delivery date
- ``job_for_closed_lead``: work still pending for a lead that is closed or dormant: an outbox
  job (reminder, SMS, callback ringing…), an open follow-up, a pending callback or a booked
  visit
- ``customer_with_two_open_leads``: a customer with more than one open lead

Each violation is a plain dict for scripts: ``{"kind": ..., "lead_id": ..., ...}``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls.models import Call
from dcc.jobs import policy as job_policy
from dcc.jobs.models import OutboxJob
from dcc.leads.closing import WORKED_STATUSES, owed
from dcc.leads.models import (
    OPEN_STATUSES,
    Callback,
    FollowUp,
    Lead,
)
from dcc.loop.models import LoopAuditRun
from dcc.sales.models import Appointment, Order, OrderStatus

Violation = dict[str, Any]

KINDS = (
    "lead_without_owner",
    "lead_without_next_action",
    "callback_overdue",
    "appointment_unresolved",
    "order_without_delivery_date",
    "job_for_closed_lead",
    "customer_with_two_open_leads",
)

#: The argument of an outbox job that names what it works on, and that row's lead.
_SUBJECTS: dict[str, Any] = {
    "callback_id": (Callback.id, Callback.lead_id),
    "follow_up_id": (FollowUp.id, FollowUp.lead_id),
    "appointment_id": (Appointment.id, Appointment.lead_id),
    "call_id": (Call.id, Call.lead_id),
    "order_id": (Order.id, Order.lead_id),
}


def find_violations(session: Session, *, now: dt.datetime | None = None) -> list[Violation]:
    """Every broken link at ``now`` (default: the clock's now), kinds in :data:`KINDS` order.

    A reader sees those about the leads it may see: :func:`dcc.access.visible_violations`.
    """
    now = now or clock.now()
    rules = job_policy.load(session)
    found: list[Violation] = [
        *_without_owner(session),
        *_without_next_action(session),
        *_callbacks_overdue(session, now - dt.timedelta(minutes=rules.callback_overdue_minutes)),
        *_appointments_unresolved(session, now - dt.timedelta(minutes=rules.no_show_grace_minutes)),
        *_orders_without_date(session),
        *_work_for_closed_leads(session),
        *_customers_with_two_open_leads(session),
    ]
    return found


def counts(violations: Iterable[Violation]) -> dict[str, int]:
    """Violations per kind, every kind present."""
    tally = dict.fromkeys(KINDS, 0)
    for violation in violations:
        tally[violation["kind"]] += 1
    return tally


def _without_owner(session: Session) -> list[Violation]:
    rows = session.scalars(
        select(Lead.id).where(Lead.status.in_(OPEN_STATUSES), Lead.owner_id.is_(None))
    )
    return [{"kind": "lead_without_owner", "lead_id": lead_id} for lead_id in rows]


def _without_next_action(session: Session) -> list[Violation]:
    planned = exists().where(FollowUp.lead_id == Lead.id, owed(FollowUp))
    called = exists().where(Callback.lead_id == Lead.id, owed(Callback))
    rows = session.scalars(
        select(Lead.id).where(Lead.status.in_(WORKED_STATUSES), ~planned, ~called).order_by(Lead.id)
    )
    return [{"kind": "lead_without_next_action", "lead_id": lead_id} for lead_id in rows]


def _callbacks_overdue(session: Session, due_before: dt.datetime) -> list[Violation]:
    late = (owed(Callback), Callback.due_at < due_before)
    by_due = (Callback.due_at, Callback.id)
    return _each(session, "callback_overdue", "callback_id", Callback, late, by_due)


def _appointments_unresolved(session: Session, scheduled_before: dt.datetime) -> list[Violation]:
    passed = (owed(Appointment), Appointment.scheduled_at < scheduled_before)
    by_time = (Appointment.scheduled_at, Appointment.id)
    return _each(session, "appointment_unresolved", "appointment_id", Appointment, passed, by_time)


def _orders_without_date(session: Session) -> list[Violation]:
    undated = (Order.status == OrderStatus.ORDERED, Order.delivery_due.is_(None))
    return _each(session, "order_without_delivery_date", "order_id", Order, undated, (Order.id,))


def _each(
    session: Session,
    kind: str,
    name: str,
    model: Any,
    where: Iterable[Any],
    order_by: Iterable[Any],
) -> list[Violation]:
    """A violation of ``kind`` for each ``model`` row (a lead's callback, visit, order) that
    matches ``where``, with the row's id as ``name``."""
    rows = session.execute(select(model.id, model.lead_id).where(*where).order_by(*order_by))
    return [{"kind": kind, "lead_id": lead_id, name: row_id} for row_id, lead_id in rows]


def _work_for_closed_leads(session: Session) -> list[Violation]:
    """Pending outbox jobs, open follow-ups, pending callbacks and booked visits of leads that
    are closed or dormant."""
    closed = ~Lead.status.in_(WORKED_STATUSES)
    found: list[Violation] = []
    kinds = (("follow_up_id", FollowUp), ("callback_id", Callback), ("appointment_id", Appointment))
    for name, model in kinds:
        rows = session.execute(
            select(model.id, model.lead_id)
            .join(Lead, Lead.id == model.lead_id)
            .where(owed(model), closed)
        )
        found += [
            {"kind": "job_for_closed_lead", "lead_id": lead, name: row_id} for row_id, lead in rows
        ]
    found += _jobs_for_closed_leads(session)
    return found


def _jobs_for_closed_leads(session: Session) -> list[Violation]:
    """Pending outbox jobs whose subject (named by their arguments) belongs to a closed lead."""
    jobs = session.execute(
        select(OutboxJob.id, OutboxJob.task, OutboxJob.args)
        .where(OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None))
        .order_by(OutboxJob.id)
    ).all()
    wanted: dict[str, set[int]] = defaultdict(set)
    for _id, _task, args in jobs:
        for name in ("lead_id", *_SUBJECTS):
            if isinstance(args.get(name), int):
                wanted[name].add(args[name])
    lead_of: dict[str, dict[int, int | None]] = {}
    for name, ids in wanted.items():
        if name == "lead_id":
            lead_of[name] = {i: i for i in ids}
            continue
        ident, lead_id = _SUBJECTS[name]
        lead_of[name] = dict(session.execute(select(ident, lead_id).where(ident.in_(ids))).all())
    all_leads = {lead for mapping in lead_of.values() for lead in mapping.values() if lead}
    status = dict(session.execute(select(Lead.id, Lead.status).where(Lead.id.in_(all_leads))).all())
    found: list[Violation] = []
    for outbox_id, task, args in jobs:
        for name in ("lead_id", *_SUBJECTS):
            lead = lead_of.get(name, {}).get(args.get(name)) if name in args else None
            if lead is not None and lead in status and status[lead] not in WORKED_STATUSES:
                found.append(
                    {
                        "kind": "job_for_closed_lead",
                        "lead_id": lead,
                        "outbox_id": outbox_id,
                        "task": task,
                    }
                )
                break
    return found


def _customers_with_two_open_leads(session: Session) -> list[Violation]:
    customers = (
        select(Lead.customer_id)
        .where(Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.customer_id)
        .having(func.count() > 1)
    )
    rows = session.execute(
        select(Lead.customer_id, Lead.id)
        .where(Lead.status.in_(OPEN_STATUSES), Lead.customer_id.in_(customers))
        .order_by(Lead.customer_id, Lead.id)
    )
    grouped: dict[int, list[int]] = defaultdict(list)
    for customer_id, lead_id in rows:
        grouped[customer_id].append(lead_id)
    return [
        {"kind": "customer_with_two_open_leads", "customer_id": c, "lead_ids": ids}
        for c, ids in grouped.items()
    ]


def record_run(session: Session, violations: list[Violation]) -> LoopAuditRun:
    """Keep what a run found: the gauge and the manager's page read the latest run."""
    tally = counts(violations)
    run = LoopAuditRun(ran_at=clock.now(), total=sum(tally.values()), counts=tally)
    session.add(run)
    session.flush()
    return run


def latest_run(session: Session) -> LoopAuditRun | None:
    return session.scalar(
        select(LoopAuditRun).order_by(LoopAuditRun.ran_at.desc(), LoopAuditRun.id.desc()).limit(1)
    )
