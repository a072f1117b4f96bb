"""Who is ready to be rung, in which order: one definition for the hotline, callbacks,
speed-to-lead and the wallboard."""

from __future__ import annotations

import datetime as dt

from dcc import clock, wallboard
from dcc.calls import routing
from dcc.users.models import AgentStatus

T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def _available_at(session, user, at: dt.datetime) -> None:
    with clock.frozen(at):
        user.agent_status = AgentStatus.AVAILABLE
    session.flush()


def test_ready_agents_are_reachable_and_longest_idle_first(session, staff) -> None:
    first = staff.user("first", "dcc_agent", phone="13900000001")
    second = staff.user("second", "dcc_agent", phone="13900000002")
    browser_only = staff.user("browser", "dcc_agent")  # no phone: reachable in the browser only
    away = staff.user("away", "dcc_agent", phone="13900000004")
    off_shift = staff.user("off", "dcc_agent", phone="13900000005")
    consultant = staff.user("consultant", "consultant", phone="13900000006")
    _available_at(session, second, T0 + dt.timedelta(minutes=1))
    _available_at(session, first, T0)
    _available_at(session, browser_only, T0 + dt.timedelta(minutes=2))
    for user in (off_shift, consultant):
        _available_at(session, user, T0)
    off_shift.on_shift = False
    away.agent_status = AgentStatus.AWAY
    session.flush()

    def logins(*, softphone: bool) -> list[str]:
        return [a.login for a in routing.ready_agents(session, softphone=softphone)]

    assert logins(softphone=False) == ["first", "second"]
    assert logins(softphone=True) == ["first", "second", "browser"]

    # first takes a call and is available again: second has now waited longest.
    with clock.frozen(T0 + dt.timedelta(minutes=3)):
        first.agent_status = AgentStatus.ON_CALL
    _available_at(session, first, T0 + dt.timedelta(minutes=9))
    assert logins(softphone=False) == ["second", "first"]
    assert routing.inbound_endpoints(session, None) == [second.phone, first.phone]
    # A ready owner is rung alone, whatever their role.
    assert routing.inbound_endpoints(session, consultant.id) == [consultant.phone]
    assert routing.ready_user(session, away.id, softphone=False) is None

    board = wallboard.snapshot(session, timezone="Asia/Shanghai")
    assert board["ready"] == [second.id, first.id]
    places = {a["name"]: a["next_in_line"] for a in board["agents"]}
    assert places["second"] == 1 and places["first"] == 2 and places["away"] is None


def test_a_status_change_stamps_when_it_happened(session, staff) -> None:
    agent = staff.user("agent", "dcc_agent")
    with clock.frozen(T0):
        agent.agent_status = AgentStatus.AVAILABLE
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        agent.agent_status = AgentStatus.AVAILABLE  # no change: still idle since T0
    assert agent.status_since == T0
