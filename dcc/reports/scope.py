"""Whose data a reader's reports count, and the lead dimensions rows are grouped by.

Lead reports reuse :func:`dcc.access.visible_leads`, so a report never counts a lead the
reader could not open: admins and dealer-wide managers see all, team managers and
supervisors their team's. Work reports (calls per agent) count the agents whose work the
reader sees (:func:`dcc.access.visible_work`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import visitors

from dcc import labels
from dcc.access import dealer_wide, visible_leads, visible_work
from dcc.leads.models import Channel, Lead, LeadSource
from dcc.reports.period import Group
from dcc.sales.models import ShowroomVisit
from dcc.users.models import User


def leads(reader: User) -> ColumnElement[bool]:
    """The leads ``reader`` may count (a WHERE clause on ``leads``)."""
    return visible_leads(reader)


def lead_rows(reader: User, team_column: Any, owner_column: Any) -> ColumnElement[bool]:
    """:func:`leads` for a roll-up's rows that keep each lead's team and owner as columns.

    The clause is :func:`visible_leads` itself with its lead columns swapped, so the two can't
    drift apart; a rule that needs another lead column fails here instead of counting wrong.
    """
    columns = {"team_id": team_column, "owner_id": owner_column}

    def swap(element: Any, **_kw: Any) -> Any:
        if getattr(element, "table", None) is not Lead.__table__:
            return None
        if element.name not in columns:
            raise LookupError(f"lead visibility uses leads.{element.name}, not in the roll-up")
        return columns[element.name]

    options: dict[str, Any] = {}
    return visitors.replacement_traverse(leads(reader), options, swap)


def agents(reader: User, agent_column: Any) -> ColumnElement[bool]:
    """The agents whose work ``reader`` may count: everyone, the team, or only themselves."""
    return visible_work(reader, agent_column)


def visit_queries(stmt: Select[Any], reader: User) -> list[Select[Any]]:
    """``stmt`` (over ``showroom_visits``) for the visits ``reader`` may count, as one query,
    or as two whose rows add up: the known leads' visits, and anonymous traffic.

    A visit of a known lead follows the lead's visibility. Anonymous traffic (no lead) belongs
    to the showroom: dealer-wide readers count it, a team counts it when its consultant served.
    Two queries rather than one outer join under an OR: the outer join had to hash every lead
    before the visibility test could run, while the inner join tests the leads as it reads
    them (and dealer-wide readers need no join at all).
    """
    if dealer_wide(reader):
        return [stmt]
    known = stmt.join(Lead, Lead.id == ShowroomVisit.lead_id).where(leads(reader))
    anonymous = stmt.where(
        ShowroomVisit.lead_id.is_(None), agents(reader, ShowroomVisit.consultant_id)
    )
    return [known, anonymous]


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
    return {k: k or labels.NOT_GIVEN for k in keys}


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
