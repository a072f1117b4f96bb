"""The staffing report (排班需求分析): the planner's need beside the rota's head-count.

One :func:`staffing_view` feeds the page, the JSON API and the Excel export, so the three
agree. Each half hour of the week gets the work measured there, the agents the planner
requires, the agents the rota has, and the hotline's expected service level with each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dcc import clock
from dcc.config import Settings, get_settings
from dcc.reports.period import Period
from dcc.reports.result import Chart, Column, Report, Series, plain
from dcc.staffing import erlang, planner, rota
from dcc.staffing.planner import Slot, StaffingPlan
from dcc.users.models import User

NAME = "staffing"
TITLE = "排班需求分析"
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class Row:
    """One half hour of the week, as the table and the export show it."""

    weekday: int
    start_minute: int
    day: str  # 周一 …
    time: str  # 09:00-09:30
    calls: float
    web_leads: float
    call_handle: float
    web_handle: float
    patience: float
    call_agents: int
    pooled_agents: int
    required: int
    rostered: int
    gap: int  # rostered - required: below zero is understaffed
    service_level: float | None  # the hotline's, with the required agents
    rota_service_level: float | None  # the hotline's, with the rota's agents

    @property
    def under(self) -> bool:
        return self.rostered < self.required

    @property
    def over(self) -> bool:
        return self.rostered > self.required


@dataclass(frozen=True)
class Totals:
    day: str
    calls: float
    web_leads: float
    required_hours: float  # agent-hours a week
    rostered_hours: float
    under_slots: int
    over_slots: int


COLUMNS = (
    Column("day", "星期", "text"),
    Column("time", "时段", "text"),
    Column("calls", "每周来电", "float"),
    Column("web_leads", "每周网络线索", "float"),
    Column("call_handle", "来电处理时长(秒)", "seconds"),
    Column("web_handle", "线索首呼处理时长(秒)", "seconds"),
    Column("patience", "来电平均耐心(秒)", "seconds"),
    Column("call_agents", "来电所需坐席", "int"),
    Column("pooled_agents", "合并所需坐席", "int"),
    Column("required", "所需坐席", "int"),
    Column("rostered", "排班坐席", "int"),
    Column("gap", "差额", "int"),
    Column("service_level", "预计服务水平", "rate"),
    Column("rota_service_level", "按排班服务水平", "rate"),
)


@dataclass(frozen=True)
class StaffingView:
    """The plan, the rota's head-count per half hour, and a row for every half hour."""

    plan: StaffingPlan
    rostered: list[list[int]]  # 7 × 48, Monday first
    rows: list[Row]  # 336, Monday 00:00 first

    @property
    def required(self) -> list[list[int]]:
        return self.plan.required_grid()

    @property
    def busy_rows(self) -> list[Row]:
        """The half hours with work, a need or a shift: what is worth a line of the table."""
        return [r for r in self.rows if r.calls or r.web_leads or r.required or r.rostered]

    @property
    def totals(self) -> Totals:
        return Totals(
            day="合计",
            calls=sum(r.calls for r in self.rows),
            web_leads=sum(r.web_leads for r in self.rows),
            required_hours=sum(r.required for r in self.rows) / 2,
            rostered_hours=sum(r.rostered for r in self.rows) / 2,
            under_slots=sum(r.under for r in self.rows),
            over_slots=sum(r.over for r in self.rows),
        )

    def period(self) -> Period:
        """The local days the plan measured."""
        first = clock.local(self.plan.start, self.plan.timezone).date()
        last = clock.local(self.plan.end - dt.timedelta(microseconds=1), self.plan.timezone)
        return Period(first, last.date(), self.plan.timezone)

    def report(self) -> Report[Row, Totals]:
        """As a :class:`Report`, for the Excel export: the busy half hours and the totals."""
        rows = self.busy_rows
        return Report(
            name=NAME,
            title=TITLE,
            period=self.period(),
            group=None,
            columns=COLUMNS,
            rows=rows,
            totals=self.totals,
            chart=Chart(
                labels=[f"{r.day} {r.time}" for r in rows],
                series=[
                    Series("所需坐席", [r.required for r in rows]),
                    Series("排班坐席", [r.rostered for r in rows]),
                ],
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON body: what was measured, the targets, and every half hour of the week."""
        period = self.period()
        return {
            "report": NAME,
            "title": TITLE,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "timezone": self.plan.timezone,
            "weeks": self.plan.weeks,
            "targets": self.plan.targets.to_dict(),
            "measured": plain(self.plan.measured),
            "required": self.required,
            "rostered": self.rostered,
            "slots": [
                {
                    **{k: v for k, v in plain(row).items() if k not in ("day", "time")},
                    "start": rota.clock_text(row.start_minute),
                    "under": row.under,
                    "over": row.over,
                    "handle_basis": slot.handle_basis,
                    "patience_basis": slot.patience_basis,
                }
                for row, slot in zip(self.rows, self.plan.slots, strict=True)
            ],
            "totals": dataclasses.asdict(self.totals),
        }


def staffing_view(
    session: Session,
    *,
    reader: User,
    now: dt.datetime,
    weeks: int | None = None,
    settings: Settings | None = None,
) -> StaffingView:
    """The planner's recommendation for ``reader``'s scope beside the rota they plan."""
    settings = settings or get_settings()
    plan = planner.recommend(session, now=now, weeks=weeks, reader=reader, settings=settings)
    rostered = rota.head_count(session, reader)
    rows = [
        _row(slot, rostered[slot.weekday][slot.index % rota.SLOTS_PER_DAY], plan)
        for slot in plan.slots
    ]
    return StaffingView(plan, rostered, rows)


def _row(slot: Slot, rostered: int, plan: StaffingPlan) -> Row:
    targets = plan.targets
    rota_level = (
        erlang.service_level(slot.call_traffic, rostered, targets.call_answer_seconds)
        if slot.calls
        else None
    )
    end = slot.start_minute + rota.SLOT_MINUTES
    return Row(
        weekday=slot.weekday,
        start_minute=slot.start_minute,
        day=WEEKDAY_NAMES[slot.weekday],
        time=f"{rota.clock_text(slot.start_minute)}-{rota.clock_text(end)}",
        calls=round(slot.calls, 2),
        web_leads=round(slot.web_leads, 2),
        call_handle=round(slot.call_handle),
        web_handle=round(slot.web_handle),
        patience=round(slot.patience),
        call_agents=slot.call_agents,
        pooled_agents=slot.pooled_agents,
        required=slot.required,
        rostered=rostered,
        gap=rostered - slot.required,
        service_level=slot.service_level,
        rota_service_level=rota_level,
    )
