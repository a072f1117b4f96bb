"""Whose data a reader's reports count, and the lead dimensions rows are grouped by.

Lead reports reuse :func:`dcc.leads.access.visible_leads`, so a report never counts a lead the
reader could not open: admins and dealer-wide managers see all, team managers and
supervisors their team's. Work reports (calls per agent) count the agents of the reader's team.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from dcc.leads.access import TEAM_ROLES, visible_leads
from dcc.leads.models import Channel, Lead, LeadSource
from dcc.reports import labels
from dcc.reports.period import Group
from dcc.sales.models import ShowroomVisit
from dcc.users.models import Role, User


def leads(reader: User) -> ColumnElement[bool]:
    """The leads ``reader`` may count (a WHERE clause on ``leads``)."""
    return visible_leads(reader)


def dealer_wide(reader: User) -> bool:
    return reader.role == Role.ADMIN or (reader.role in TEAM_ROLES and reader.team_id is None)


def agents(reader: User, agent_column: Any) -> ColumnElement[bool]:
    """The agents whose work ``reader`` may count: everyone, the team, or only themselves."""
    if dealer_wide(reader):
        return true()
    if reader.role in TEAM_ROLES:
        return agent_column.in_(select(User.id).where(User.team_id == reader.team_id))
    if reader.role in {Role.DCC_AGENT, Role.CONSULTANT}:
        return agent_column == reader.id
    return false()


def visits(reader: User) -> ColumnElement[bool]:
    """Showroom visits ``reader`` may count; the query must outer-join ``leads`` (see below).

    A visit of a known lead follows the lead's visibility. Anonymous traffic (no lead) belongs
    to the showroom: dealer-wide readers count it, a team counts it when its consultant served.
    """
    if dealer_wide(reader):
        return true()
    known = and_(ShowroomVisit.lead_id.is_not(None), leads(reader))
    anonymous = and_(ShowroomVisit.lead_id.is_(None), agents(reader, ShowroomVisit.consultant_id))
    return or_(known, anonymous)


def with_visit_leads(stmt: Select[Any], reader: User) -> Select[Any]:
    """Outer-join the visits' leads when :func:`visits` needs them (not for dealer-wide readers:
    the join would cost a year's worth of lookups for nothing).

    A join rather than ``lead_id IN (visible leads)``: that IN sits under an OR, so PostgreSQL
    could not turn it into a semi-join and re-ran the subquery per visit.
    """
    if dealer_wide(reader):
        return stmt
    return stmt.outerjoin(Lead, Lead.id == ShowroomVisit.lead_id)


def lead_dimension(group: Group) -> ColumnElement[Any] | QueryableAttribute[Any]:
    """The lead column a report groups by."""
    if group == Group.AGENT:
        return Lead.owner_id
    if group == Group.SOURCE:
        return Lead.channel
    return func.coalesce(Lead.series, Lead.model)


def label_for(session: Session, group: Group | None, keys: Iterable[Any]) -> dict[Any, str]:
    """Display names of group keys: user names, Chinese channel names, the model as written."""
    keys = set(keys)
    if group is None:
        return dict.fromkeys(keys, labels.ALL)
    if group == Group.AGENT:
        return user_names(session, keys)
    if group == Group.SOURCE:
        return {k: labels.CHANNEL.get(Channel(k), str(k)) if k else labels.ALL for k in keys}
    return {k: k or labels.UNKNOWN_MODEL for k in keys}


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    names: dict[int | None, str] = {None: labels.UNASSIGNED}
    if wanted:
        rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
        names.update((user_id, name) for user_id, name in rows)
    return names


def source_names(session: Session) -> dict[int, str]:
    return {
        source_id: name
        for source_id, name in session.execute(select(LeadSource.id, LeadSource.name))
    }
