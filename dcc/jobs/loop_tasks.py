"""The loop's jobs: each appointment's no-show check, and the nightly no-show sweep, dormancy
and loop audit. Like every task they take ids (or the day), reload and re-check."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dcc import access
from dcc.db import load
from dcc.jobs import policy
from dcc.jobs.registry import task
from dcc.loop import audit, dormancy
from dcc.notifications import notify
from dcc.queues import DEFAULT, LOW
from dcc.sales import no_shows
from dcc.sales.models import Appointment
from dcc.users.models import Role


def _grace(session: Session) -> dt.timedelta:
    return dt.timedelta(minutes=policy.load(session).no_show_grace_minutes)


@task("appointment.no_show", queue=DEFAULT)
def appointment_no_show(session: Session, *, appointment_id: int) -> str:
    """At the visit's time plus the grace: still booked means a no-show and a re-invite."""
    appointment = load(session, Appointment, appointment_id)
    if appointment is None:
        return "no appointment"
    return "no-show" if no_shows.mark(session, appointment, grace=_grace(session)) else "resolved"


@task("appointments.no_show_sweep", queue=LOW)
def no_show_sweep(session: Session, *, day: str) -> str:
    """Nightly: any visit a check missed (booked before checks existed, a lost job)."""
    return f"{no_shows.mark_overdue(session, grace=_grace(session))} no-show(s)"


@task("leads.dormant", queue=LOW, timeout=1800)
def dormant(session: Session, *, day: str) -> str:
    """Nightly: leads nobody has been in touch with for the dealer's days go dormant."""
    days = policy.load(session).dormant_after_days
    return f"{len(dormancy.put_to_sleep(session, days=days))} lead(s) dormant"


@task("loop.audit", queue=LOW, timeout=1800)
def loop_audit(session: Session, *, day: str) -> str:
    """Nightly: count every broken link (the gauge reads the run) and alert the managers."""
    violations = audit.find_violations(session)
    run = audit.record_run(session, violations)
    for manager in access.staff_with(session, {Role.MANAGER}) if run.total else []:
        # Each manager hears of the broken links of the leads it sees, and fixes those.
        theirs = access.visible_violations(session, manager, violations)
        if theirs:
            kinds = {kind: n for kind, n in audit.counts(theirs).items() if n}
            notify(
                session,
                manager.id,
                "loop_violations",
                f"闭环检查发现 {len(theirs)} 处断点",
                run_id=run.id,
                counts=kinds,
            )
    return f"{run.total} violation(s)"
