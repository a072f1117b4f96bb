"""The shape every report returns: typed rows and totals, the columns, and the chart series.

One result feeds the JSON endpoint, the chart and the Excel export, so the three always agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from dcc.reports.period import Group, Period

Kind = Literal["text", "int", "rate", "seconds", "float", "date"]
RowT = TypeVar("RowT")
TotalsT = TypeVar("TotalsT")


@dataclass(frozen=True)
class Column:
    """A table column: the row attribute, its Chinese header, and how to show the value."""

    key: str
    title: str
    kind: Kind = "int"


#: What a grouped report's row is, when it is not an agent (each report names its agents).
_GROUP_TITLES = {Group.SOURCE: "来源", Group.MODEL: "车型"}


def label_column(
    group: Group | None, *, ungrouped: str, agent: str = "坐席", key: str = "label"
) -> Column:
    """The first column, titled by what a row is as the report is grouped: a day or the whole
    (``ungrouped``), an agent (``agent``: 跟进人, 销售顾问 …), a source or a model."""
    if group is None:
        title = ungrouped
    elif group == Group.AGENT:
        title = agent
    else:
        title = _GROUP_TITLES[group]
    return Column(key, title, "text")


@dataclass
class Row:
    """The head of a report's row: what it groups by (a day, an agent's id, a channel …) and
    how that is shown; each report's row adds its measures after these two."""

    key: Any = None
    label: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    data: list[float | int | None]


@dataclass(frozen=True)
class Chart:
    labels: list[str]
    series: list[Series]


@dataclass(frozen=True)
class Report(Generic[RowT, TotalsT]):
    """A report's answer. ``rows`` and ``totals`` are dataclasses of the report's own types."""

    name: str
    title: str
    period: Period
    group: Group | None
    columns: tuple[Column, ...]
    rows: list[RowT]
    totals: TotalsT
    chart: Chart

    def to_dict(self) -> dict[str, Any]:
        """The JSON body: ``rows``, ``totals`` and ``chart``, plus what was asked."""
        return {
            "report": self.name,
            "title": self.title,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "timezone": self.period.timezone,
            "group": self.group.value if self.group else None,
            "columns": [dataclasses.asdict(c) for c in self.columns],
            "rows": [plain(row) for row in self.rows],
            "totals": plain(self.totals),
            "chart": plain(self.chart),
        }


def plain(value: Any) -> Any:
    """Dataclasses, dates and enums as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def chart(rows: Sequence[Any], label: Callable[[Any], str], series: dict[str, str]) -> Chart:
    """A chart with one label per row and one series per ``{name: row attribute}``."""
    return Chart(
        labels=[label(row) for row in rows],
        series=[Series(name, [getattr(row, key) for row in rows]) for name, key in series.items()],
    )
