"""``dcc rota``: show and set the DCC agents' weekly shifts, and the shifts the plan suggests.

The operator's view of what supervisors edit on the rota page (``/reports/staffing/rota``):
the same parser and the same write, for every team.
"""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.config import get_settings
from dcc.db import get_database
from dcc.errors import DCCError, NotFound
from dcc.staffing import planner, rota
from dcc.staffing.shifts import rota_from_plan
from dcc.users.models import Role, Team, User


class Refused(click.ClickException):
    """A domain refusal, naming its field; exit status 2 like the other ``dcc`` commands."""

    exit_code = 2

    def __init__(self, error: DCCError) -> None:
        where = f" ({error.field})" if error.field else ""
        super().__init__(f"{error.message}{where}")


@click.group("rota", help="The rota (排班): each DCC agent's planned shifts in the week.")
def rota_group() -> None:
    pass


def _agents(session: Session, team: str | None) -> list[User]:
    query = select(User).where(User.role == Role.DCC_AGENT, User.is_active.is_(True))
    if team is not None:
        query = query.join(Team, Team.id == User.team_id).where(Team.name == team)
    return list(session.scalars(query.order_by(User.login)))


def _echo_week(agents: list[User], plan: dict[int, dict[int, list[rota.Interval]]]) -> None:
    header = ["login", *rota.WEEKDAYS]
    rows = [
        [a.login + ("" if a.takes_inbound else " (out)")]
        + [rota.format_day(plan[a.id][d]) or "-" for d in range(7)]
        for a in agents
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@rota_group.command("show", help="Every active DCC agent's shifts, Monday to Sunday.")
@click.option("--team", default=None, help="Only this team's agents.")
def rota_show(team: str | None) -> None:
    with get_database().session_scope() as session:
        agents = _agents(session, team)
        if not agents:
            click.echo("no DCC agents to plan")
            return
        _echo_week(agents, rota.week(session, agents))


@rota_group.command(
    "set",
    help="Set LOGIN's shifts on WEEKDAY (mon … sun, or 1 … 7), e.g. "
    "dcc rota set zhang sat '09:00-12:00, 13:00-18:00'; 'off' clears the day.",
)
@click.argument("login")
@click.argument("weekday")
@click.argument("shifts")
def rota_set(login: str, weekday: str, shifts: str) -> None:
    try:
        with get_database().session_scope() as session:
            agent = session.scalar(select(User).where(User.login == login))
            if agent is None or agent.role != Role.DCC_AGENT:
                raise NotFound("rota.no_agent", field="login", agent=login)
            day = rota.parse_weekday(weekday)
            rota.set_days(session, None, {(agent.id, day): rota.parse_day(shifts, field="shifts")})
            _echo_week([agent], rota.week(session, [agent]))
    except DCCError as error:
        raise Refused(error) from error


@rota_group.command(
    "suggest", help="The agents the last weeks' work needs, and shifts of 4-9 h that cover it."
)
@click.option("--weeks", type=click.IntRange(1, 12), default=None, help="Weeks to measure.")
def rota_suggest(weeks: int | None) -> None:
    settings = get_settings()
    with get_database().session_scope() as session:
        plan = planner.recommend(session, now=clock.now(), weeks=weeks, settings=settings)
    shifts = rota_from_plan(plan)
    click.echo(
        f"{plan.weeks} week(s) to {clock.local(plan.end, plan.timezone):%Y-%m-%d %H:%M} "
        f"({plan.timezone}): {plan.measured.calls} calls, {plan.measured.web_leads} web leads"
    )
    for day, name in enumerate(rota.WEEKDAYS):
        need = plan.required_grid()[day]
        texts = [rota.format_day([(s.start, s.end)]) for s in shifts if s.weekday == day]
        hours = sum(need) / 2
        click.echo(f"{name}  peak {max(need)}  {hours:g} agent-hours  {', '.join(texts) or '-'}")
