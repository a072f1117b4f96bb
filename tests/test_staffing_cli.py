"""``dcc rota``: show, set and suggest shifts from the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from staffing_data import NOW, SATURDAY, build

from dcc import clock
from dcc.audit import AuditEntry
from dcc.staffing import rota
from dcc.staffing.targets import save


@pytest.fixture()
def world(session, staff):
    return build(session, staff)


def test_set_and_show_a_week(app, session, world) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["rota", "set", "alice", "sat", "08:00-12:00, 13:00-17:00"])
    assert made.exit_code == 0, made.output
    assert "08:00-12:00, 13:00-17:00" in made.output
    assert runner.invoke(args=["rota", "set", "bob", "1", "09:00-18:00"]).exit_code == 0
    assert rota.week(session, [world.alice])[world.alice.id][SATURDAY] == [(480, 720), (780, 1020)]
    shown = runner.invoke(args=["rota", "show", "--team", "北区"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == ["login", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    alice = next(line for line in lines if line.startswith("alice"))
    assert alice.split()[1:7] == ["-", "-", "-", "-", "-", "08:00-12:00,"]
    assert next(line for line in lines if line.startswith("bob (out)")).split()[2] == "09:00-18:00"
    assert "carol" not in shown.output
    cleared = runner.invoke(args=["rota", "set", "alice", "6", "off"])
    assert cleared.exit_code == 0
    assert rota.week(session, [world.alice])[world.alice.id][SATURDAY] == []
    logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "rota.set")).all()
    assert len(logged) == 3


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["rota", "set", "alice", "sat", "08:00-07:00"], "shifts"),
        (["rota", "set", "alice", "someday", "08:00-12:00"], "weekday"),
        (["rota", "set", "sup", "sat", "08:00-12:00"], "login"),
        (["rota", "set", "nobody", "sat", "08:00-12:00"], "login"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(app, session, world, args, field):
    answer = app.test_cli_runner().invoke(args=args)
    assert answer.exit_code == 2
    assert f"({field})" in answer.output
    assert rota.shifts(session, world.admin) == []


def test_suggest_prints_the_need_and_covering_shifts(app, session, world) -> None:
    save(session, min_samples=5)
    session.commit()
    with clock.frozen(NOW):
        answer = app.test_cli_runner().invoke(args=["rota", "suggest"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("4 week(s) to 2026-03-30 06:00 (Asia/Shanghai): 28 calls")
    saturday = next(line for line in answer.output.splitlines() if line.startswith("sat"))
    # 08:00 needs one (the late web lead), 10:00 three, and nobody after 10:30: three shifts
    # from 08:00 (none runs on to 14:00, hours after the week's last need).
    assert saturday.split() == [
        "sat",
        "peak",
        "3",
        "2",
        "agent-hours",
        "08:00-12:00,",
        "08:00-12:00,",
        "08:00-12:00",
    ]
