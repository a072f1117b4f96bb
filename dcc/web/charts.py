"""Report charts as inline SVG, drawn on the server from a report's chart series.

No JavaScript and nothing fetched from elsewhere (the dealers' PCs have no internet): grouped
bars, or lines when the labels are a run of days. Rates (0..1) get a percent axis. Every mark
carries a ``<title>`` so hovering shows the exact value. Built with ElementTree, so names
(agents, models) are escaped like any other text.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dcc.reports.result import Chart

PALETTE = ("#0b5cad", "#ef6c00", "#1a7f37", "#8e24aa", "#c62828", "#00838f", "#6d4c41")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: More points than this, on a run of days, reads better as lines.
LINE_AFTER = 12
MAX_BAR = 40
#: A legend row's height; a legend too wide for one row wraps, and the plot moves down.
LEGEND_ROW = 16


@dataclass(frozen=True)
class Frame:
    """The drawing's size and the plot area inside it (SVG user units)."""

    width: int = 760
    height: int = 280
    left: int = 52
    right: int = 12
    top: int = 34
    bottom: int = 62

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def base(self) -> float:
        return self.top + self.plot_height


def is_empty(chart: Chart) -> bool:
    """Nothing to draw: no labels, or no value above zero."""
    return not chart.labels or not any(v for s in chart.series for v in s.data if v)


def is_rate(chart: Chart) -> bool:
    """Every value is a fraction (a rate): the axis shows percents."""
    values = [v for s in chart.series for v in s.data if v is not None]
    return bool(values) and all(isinstance(v, float) and 0 <= v <= 1 for v in values)


def kind_of(chart: Chart) -> str:
    """``line`` for a long run of days, else ``bar``."""
    days = all(_DAY.match(label) for label in chart.labels)
    return "line" if days and len(chart.labels) > LINE_AFTER else "bar"


def ticks(top: float, *, integers: bool = False, count: int = 4) -> list[float]:
    """Round axis values from 0 to at least ``top``; whole steps for counts."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integers else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if integers:
        step = max(1, step)
    steps = math.ceil(top / step - 1e-9)
    return [round(step * n, 10) for n in range(steps + 1)]


def number(value: float | None, *, percent: bool = False) -> str:
    """A value as the chart's tooltips and axis show it."""
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.1f}%".replace(".0%", "%")
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


DEFAULT = Frame()


def render(chart: Chart, *, title: str = "", frame: Frame = DEFAULT) -> Markup:
    """The chart as an ``<svg>`` element ready to inline; empty markup when nothing to draw."""
    if is_empty(chart):
        return Markup("")
    percent = is_rate(chart)
    values = [v for s in chart.series for v in s.data if v is not None]
    axis = ticks(max(values), integers=all(isinstance(v, int) for v in values))
    spots = legend_spots(frame, [s.name for s in chart.series])
    frame = dataclasses.replace(frame, top=frame.top + spots[-1][1] - spots[0][1])  # wrapped rows
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {frame.width} {frame.height}",
            "class": f"chart chart-{kind_of(chart)}",
            "role": "img",
            "aria-label": title,
        },
    )
    _axis(svg, frame, axis, percent)
    _x_labels(svg, frame, chart.labels)
    if kind_of(chart) == "line":
        _lines(svg, frame, chart, axis[-1], percent)
    else:
        _bars(svg, frame, chart, axis[-1], percent)
    _legend(svg, [s.name for s in chart.series], spots)
    return Markup(ET.tostring(svg, encoding="unicode"))


def _y(frame: Frame, value: float, top: float) -> float:
    return frame.base - (value / top) * frame.plot_height if top else frame.base


def _axis(svg: ET.Element, frame: Frame, axis: list[float], percent: bool) -> None:
    for value in axis:
        y = round(_y(frame, value, axis[-1]), 1)
        ET.SubElement(
            svg,
            "line",
            {
                "x1": str(frame.left),
                "x2": str(frame.width - frame.right),
                "y1": str(y),
                "y2": str(y),
                "class": "grid" if value else "axis",
            },
        )
        label = ET.SubElement(
            svg, "text", {"x": str(frame.left - 6), "y": str(y + 4), "class": "y-label"}
        )
        label.text = number(value, percent=percent)


def _slot(frame: Frame, count: int) -> float:
    return frame.plot_width / max(count, 1)


def _x_labels(svg: ET.Element, frame: Frame, labels: Sequence[str]) -> None:
    slot = _slot(frame, len(labels))
    every = max(1, math.ceil(len(labels) / 16))  # at most ~16 labels under the axis
    slanted = len(labels) > 6 or any(len(label) > 8 for label in labels)
    for n, text in enumerate(labels):
        if n % every:
            continue
        x = round(frame.left + slot * (n + 0.5), 1)
        y = frame.base + 14
        attrs = {"x": str(x), "y": str(y), "class": "x-label"}
        if slanted:
            attrs.update({"transform": f"rotate(-35 {x} {y})", "class": "x-label slanted"})
        label = ET.SubElement(svg, "text", attrs)
        label.text = text if len(text) <= 14 else text[:13] + "…"


def _tip(mark: ET.Element, label: str, series: str, value: float | None, percent: bool) -> None:
    tip = ET.SubElement(mark, "title")
    tip.text = f"{label} · {series}: {number(value, percent=percent)}"


def _bars(svg: ET.Element, frame: Frame, chart: Chart, top: float, percent: bool) -> None:
    slot = _slot(frame, len(chart.labels))
    width = min(slot * 0.8 / max(len(chart.series), 1), MAX_BAR)
    offset = (slot - width * len(chart.series)) / 2  # the group centred on its label
    for s_index, series in enumerate(chart.series):
        colour = PALETTE[s_index % len(PALETTE)]
        for n, value in enumerate(series.data):
            if not value:
                continue
            y = _y(frame, value, top)
            bar = ET.SubElement(
                svg,
                "rect",
                {
                    "x": str(round(frame.left + slot * n + offset + width * s_index, 1)),
                    "y": str(round(y, 1)),
                    "width": str(round(max(width - 1, 1), 1)),
                    "height": str(round(frame.base - y, 1)),
                    "fill": colour,
                    "class": "bar",
                },
            )
            _tip(bar, chart.labels[n], series.name, value, percent)


def _lines(svg: ET.Element, frame: Frame, chart: Chart, top: float, percent: bool) -> None:
    slot = _slot(frame, len(chart.labels))
    for s_index, series in enumerate(chart.series):
        colour = PALETTE[s_index % len(PALETTE)]
        points = [
            (round(frame.left + slot * (n + 0.5), 1), round(_y(frame, value or 0, top), 1))
            for n, value in enumerate(series.data)
        ]
        ET.SubElement(
            svg,
            "polyline",
            {
                "points": " ".join(f"{x},{y}" for x, y in points),
                "fill": "none",
                "stroke": colour,
                "class": "line",
            },
        )
        for (x, y), label, value in zip(points, chart.labels, series.data, strict=True):
            dot = ET.SubElement(
                svg, "circle", {"cx": str(x), "cy": str(y), "r": "2.5", "fill": colour}
            )
            _tip(dot, label, series.name, value, percent)


def text_width(text: str) -> int:
    """Roughly how wide ``text`` is at the legend's size: CJK glyphs about 13 units, others 7."""
    return sum(13 if unicodedata.east_asian_width(ch) in "WF" else 7 for ch in text)


def legend_spots(frame: Frame, names: Sequence[str]) -> list[tuple[int, int]]:
    """Where each legend entry goes (its swatch's x, y): in a row, wrapping at the right edge."""
    x, y = frame.left, 8
    spots: list[tuple[int, int]] = []
    for name in names:
        width = 16 + text_width(name)  # the swatch, a gap, the name
        if spots and x + width > frame.width - frame.right:
            x, y = frame.left, y + LEGEND_ROW
        spots.append((x, y))
        x += width + 12
    return spots


def _legend(svg: ET.Element, names: Sequence[str], spots: list[tuple[int, int]]) -> None:
    for s_index, (name, (x, y)) in enumerate(zip(names, spots, strict=True)):
        colour = PALETTE[s_index % len(PALETTE)]
        ET.SubElement(
            svg,
            "rect",
            {"x": str(x), "y": str(y), "width": "12", "height": "12", "fill": colour},
        )
        text = ET.SubElement(svg, "text", {"x": str(x + 16), "y": str(y + 10), "class": "legend"})
        text.text = name
