"""A week heat-map as inline SVG: weekdays down, half hours across, one number per cell.

Drawn on the server like the report charts (:mod:`dcc.web.charts`): no JavaScript, nothing
fetched. The darker a cell, the more agents; a cell can be marked ``under`` (red frame and
tint: fewer agents than needed) or ``over`` (amber frame: more than needed). Every cell has a
``<title>`` tooltip with its day, time and value.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from markupsafe import Markup

from dcc.staffing.rota import SLOT_MINUTES, clock_text

CELL_W, CELL_H = 22, 22
LEFT, TOP = 44, 22
COLOURS = {"under": "#c62828", "over": "#ef6c00"}


def visible_slots(*grids: Sequence[Sequence[int]], opening: tuple[int, int]) -> range:
    """The half hours worth drawing: opening hours, widened to any cell with a value."""
    first, last = opening[0] // SLOT_MINUTES, -(-opening[1] // SLOT_MINUTES)
    for grid in grids:
        for day in grid:
            busy = [n for n, value in enumerate(day) if value]
            if busy:
                first, last = min(first, busy[0]), max(last, busy[-1] + 1)
    return range(first, last)


def _shade(value: int, top: int) -> tuple[str, str]:
    """A blue from pale to dark by ``value / top``, and a text colour readable on it."""
    if not value:
        return "#f4f6f8", "#9aa4ae"
    share = value / max(top, 1)
    light = (232, 240, 251)
    dark = (11, 92, 173)
    rgb = [round(a + (b - a) * share) for a, b in zip(light, dark, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#ffffff" if share > 0.5 else "#102a43"


def render(
    grid: Sequence[Sequence[int]],
    *,
    slots: range,
    days: Sequence[str],
    title: str,
    marks: Sequence[Sequence[str | None]] | None = None,
    mark_names: dict[str, str] | None = None,
    element_id: str = "",
) -> Markup:
    """The grid's ``slots`` of each day as a heat-map ``<svg>``."""
    top = max((v for day in grid for v in day), default=0)
    width = LEFT + CELL_W * len(slots) + 4
    height = TOP + CELL_H * len(days) + 4
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {height}",
            "class": "heatmap",
            "role": "img",
            "aria-label": title,
            **({"id": element_id} if element_id else {}),
        },
    )
    for column, slot in enumerate(slots):
        if slot % 2 == 0:  # the hours across the top
            label = ET.SubElement(
                svg,
                "text",
                {
                    "x": str(LEFT + CELL_W * column),
                    "y": str(TOP - 8),
                    "class": "hm-hour",
                    "font-size": "10",
                },
            )
            label.text = clock_text(slot * SLOT_MINUTES)[:2]
    for row, day_name in enumerate(days):
        y = TOP + CELL_H * row
        label = ET.SubElement(
            svg,
            "text",
            {
                "x": str(LEFT - 6),
                "y": str(y + 15),
                "class": "hm-day",
                "text-anchor": "end",
                "font-size": "11",
            },
        )
        label.text = day_name
        for column, slot in enumerate(slots):
            value = grid[row][slot]
            mark = marks[row][slot] if marks else None
            fill, ink = _shade(value, top)
            x = LEFT + CELL_W * column
            attrs = {
                "x": str(x + 1),
                "y": str(y + 1),
                "width": str(CELL_W - 2),
                "height": str(CELL_H - 2),
                "fill": fill,
                "class": f"hm-cell{' ' + mark if mark else ''}",
                "data-day": str(row),
                "data-slot": str(slot),
                "data-value": str(value),
            }
            if mark:
                attrs.update({"stroke": COLOURS[mark], "stroke-width": "2"})
            cell = ET.SubElement(svg, "rect", attrs)
            tip = ET.SubElement(cell, "title")
            start = clock_text(slot * SLOT_MINUTES)
            note = f" · {(mark_names or {}).get(mark, mark)}" if mark else ""
            tip.text = f"{day_name} {start} · {title}: {value}{note}"
            if value or mark == "under":
                text = ET.SubElement(
                    svg,
                    "text",
                    {
                        "x": str(x + CELL_W / 2),
                        "y": str(y + 15),
                        "class": "hm-value",
                        "text-anchor": "middle",
                        "font-size": "11",
                        "fill": COLOURS["under"] if mark == "under" and not value else ink,
                    },
                )
                text.text = str(value)
    return Markup(ET.tostring(svg, encoding="unicode"))
