"""Report pages (table, inline SVG chart, period and grouping), the charts themselves, and the
"Export Excel" link followed with the browser's session."""

from __future__ import annotations

import html
import io
import math
import re
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from report_data import build
from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc import labels, reports
from dcc.audit import AuditEntry
from dcc.labels import in_language
from dcc.reports.export import value
from dcc.reports.period import Group, Period
from dcc.reports.result import Chart, Series
from dcc.users import service as users
from dcc.web import charts

MARCH = "from=2026-03-01&to=2026-03-31"
SVG = "{http://www.w3.org/2000/svg}"
CJK = re.compile(r"[\u3400-\u9fff]")
#: The test world's data written in Chinese (car models): it stays as written in English too.
DATA = re.compile("凯美瑞|汉兰达")


@pytest.fixture()
def world(session, staff):
    world = build(session, staff)
    for user in (world.boss, world.sup, world.alice):
        users.set_password(user, PASSWORD)
    session.commit()
    return world


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _svg(page: str) -> ET.Element:
    start = page.index("<svg")
    return ET.fromstring(page[start : page.index("</svg>", start) + 6])


def _headers(page: str) -> list[str]:
    head = page.split("<thead>")[1].split("</thead>")[0]
    return re.findall(r"<th[^>]*>(.*?)</th>", head)


def _legend(page: str) -> list[str]:
    if "<svg" not in page:
        return []
    return [t.text or "" for t in _svg(page).iter(f"{SVG}text") if t.get("class") == "legend"]


def _cells(page: str) -> list[str]:
    """The table's text cells, rows and totals line, as the reader sees them."""
    body = page.split("<tbody>")[1].split("</tfoot>")[0]
    return [html.unescape(c) for c in re.findall(r'<td class="text">(.*?)</td>', body)]


def _axis(page: str) -> list[str]:
    """The chart's categories, as the x-axis labels them."""
    if "<svg" not in page:
        return []
    return [t.text or "" for t in _svg(page).iter(f"{SVG}text") if "x-label" in t.get("class", "")]


def _tips(page: str) -> list[str]:
    """The chart's tooltips: a category, a series and a value each."""
    return [t.text or "" for t in _svg(page).iter(f"{SVG}title")] if "<svg" in page else []


def _every_page(client) -> dict[str, str]:
    """Every report page for March, ungrouped and in each grouping it offers."""
    pages = {}
    for name, spec in reports.REPORTS.items():
        for group in ("", *sorted(g.value for g in spec.groups)):
            answer = client.get(f"/reports/{name}?{MARCH}&group={group}")
            assert answer.status_code == 200, (name, group)
            pages[f"{name}?group={group}"] = _text(answer)
    return pages


def _pages_with_their_reports(client, session, reader):
    """Every report page for March (see :func:`_every_page`) with the report it shows."""
    march = Period.parse("2026-03-01", "2026-03-31", "Asia/Shanghai")
    for page_name, page in _every_page(client).items():
        name, group = page_name.split("?group=")
        grouping = Group(group) if group else None
        report = reports.run(session, name, reader=reader, period=march, group=grouping)
        yield page_name, page, report


def _exports(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("export.%"))))


def test_every_report_has_a_page_with_its_table(client, world) -> None:
    login(client, "boss")
    index = _text(client.get("/reports"))
    for name in reports.REPORTS:
        assert f'href="/reports/{name}"' in index
        answer = client.get(f"/reports/{name}?{MARCH}")
        assert answer.status_code == 200, name
        page = _text(answer)
        assert 'id="report-table"' in page and 'class="total"' in page, name
        assert f"/api/v1/reports/{name}.xlsx?from=2026-03-01&amp;to=2026-03-31" in page, name


def test_the_daily_work_page_shows_the_figures_and_a_bar_chart(client, world) -> None:
    login(client, "boss")
    page = _text(client.get(f"/reports/daily_work?{MARCH}&group=agent"))
    assert "工作日报表" in page and "按坐席" in page
    assert 'value="agent" selected' in page
    # alice: 3 dialled + 1 answered inbound, 2 outbound connects: 66.7% connect rate
    row = page.split('<td class="text">Alice</td>')[1].split("</tr>")[0]
    assert '<td class="int">4</td>' in row and '<td class="rate">66.7%</td>' in row
    svg = _svg(page)
    assert "chart-bar" in svg.get("class", "")
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert "Alice · 通话量: 4" in titles
    assert "group=agent" in page.split('id="export-report"')[1].split(">")[0]
    assert page.split("<tfoot>")[1].count("合计") == 1  # the report's own "total" label


def test_bad_period_or_grouping_names_the_field(client, world) -> None:
    login(client, "boss")
    cases = {
        "from=2026-02-30": "开始日期：不是有效日期",
        "from=2026-03-31&to=2026-03-01": "开始日期：不能晚于结束日期",
        "from=2020-01-01&to=2026-03-01": "结束日期：期间最长两年",
        "group=agent": "分组：该报表不支持这种分组",  # lost analysis has no grouping
    }
    for query, message in cases.items():
        answer = client.get(f"/reports/lost_analysis?{query}")
        assert answer.status_code == 422, query
        assert message in _text(answer), query
        assert "export-report" not in _text(answer)
    assert client.get("/reports/nonsense").status_code == 404


def test_the_export_link_follows_the_session_and_the_server_decides(client, session, world) -> None:
    login(client, "sup")
    page = _text(client.get(f"/reports/lost_stats?{MARCH}"))
    assert 'id="export-report"' in page  # supervisors export reports
    workbook = client.get(f"/api/v1/reports/lost_stats.xlsx?{MARCH}")
    assert workbook.status_code == 200
    rows = list(load_workbook(io.BytesIO(workbook.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "坐席" and rows[-1][0] == "合计"  # by agent unless asked otherwise
    assert "export-customers" not in _text(client.get("/manager/customers"))
    assert client.get("/api/v1/customers/export.xlsx").status_code == 403
    assert [e.details["report"] for e in _exports(session)] == ["lost_stats"]
    assert _exports(session)[0].actor_id == world.sup.id

    login(client, "alice")
    for url in (f"/api/v1/reports/funnel.xlsx?{MARCH}", "/api/v1/customers/export.xlsx"):
        refused = client.get(url)
        assert refused.status_code == 403 and refused.mimetype == "application/json"
    assert len(_exports(session)) == 1


def test_the_session_only_reads_the_api(client, world) -> None:
    login(client, "boss")
    assert client.get("/api/v1/reports").status_code == 200
    # Writing needs a bearer token: the API is outside the CSRF check.
    created = post(client, "/api/v1/leads", {"phone": "13800138999", "channel": "web"})
    assert created.status_code == 401
    # A wrong token is wrong even with a session.
    bad = client.get("/api/v1/reports", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    anonymous = client.application.test_client()
    assert anonymous.get("/api/v1/reports").status_code == 401


def test_english_titles(client, world) -> None:
    login(client, "boss")
    post(client, "/locale/en")
    page = _text(client.get(f"/reports/traffic?{MARCH}"))
    assert "Showroom traffic analysis" in page and "Export Excel" in page


def test_english_column_headers_and_chart_legends(client, world) -> None:
    login(client, "boss")
    post(client, "/locale/en")
    pages = _every_page(client)
    for page_name, page in pages.items():
        assert _headers(page), page_name
        chinese = [h for h in _headers(page) + _legend(page) if CJK.search(h)]
        assert not chinese, (page_name, chinese)
        totals = page.split("<tfoot>")[1].split("</tfoot>")[0]
        assert "Total" in totals and "合计" not in totals, page_name
    assert "Invitations" in _headers(pages["arrivals?group="])
    assert "Show rate" in _headers(pages["arrivals?group="])
    assert "Contacting" in _headers(pages["customers?group="])  # a lead status as a column


def test_english_rows_and_chart_categories_leave_only_data_in_chinese(client, world) -> None:
    login(client, "boss")
    post(client, "/locale/en")
    pages = _every_page(client)
    for page_name, page in pages.items():
        shown = _cells(page) + _axis(page) + _tips(page)
        chinese = [t for t in shown if CJK.search(DATA.sub("", t))]
        assert not chinese, (page_name, chinese)
    assert "Car portal" in _cells(pages["sources?group="])  # the channel, no source name
    assert "400 hotline" in _axis(pages["funnel?group=source"])
    assert "N: new lead" in _cells(pages["customers?group="])
    assert "N: new lead" in _axis(pages["customers?group="])
    reasons = _cells(pages["lost_analysis?group="])
    assert {"Budget too low", "Bought a competitor", "Objective", "Subjective"} <= set(reasons)
    assert "凯美瑞" in _cells(pages["customers?group=model"])  # a car model is the dealer's data


def _own_cells(report) -> list:
    """The text cells a report's rows and totals line hold, as the report wrote them."""
    text = [c.key for c in report.columns if c.kind == "text"]
    own = [value(row, key) for row in [*report.rows, report.totals] for key in text]
    if own and own[-len(text)] is None:  # a totals line without a name says "合计"
        own[-len(text)] = labels.TOTAL
    return own


def test_english_rows_and_categories_are_the_label_tables_english(client, session, world) -> None:
    login(client, "boss")
    post(client, "/locale/en")
    for page_name, page, report in _pages_with_their_reports(client, session, world.boss):
        own = _own_cells(report)
        assert _cells(page) == ["—" if v is None else in_language(v, "en") for v in own], page_name
        if not charts.is_empty(report.chart):
            every = math.ceil(len(report.chart.labels) / 16)
            categories = [in_language(c, "en") for c in report.chart.labels[::every]]
            shown = zip(_axis(page), categories, strict=True)  # long names are cut short: …
            assert all(a == c or c.startswith(a.removesuffix("…")) for a, c in shown), page_name


def test_chinese_rows_and_chart_categories_are_the_reports_own(client, session, world) -> None:
    login(client, "boss")
    for page_name, page, report in _pages_with_their_reports(client, session, world.boss):
        own = _own_cells(report)
        assert _cells(page) == ["—" if v is None else str(v) for v in own], page_name
        if not charts.is_empty(report.chart):
            every = math.ceil(len(report.chart.labels) / 16)  # as many as the axis has room for
            assert _axis(page) == report.chart.labels[::every], page_name


def test_chinese_column_headers_are_the_reports_own(client, session, world) -> None:
    login(client, "boss")
    for page_name, page, report in _pages_with_their_reports(client, session, world.boss):
        # A duration reads 4分27秒 on the page: its header needs no unit.
        expected = [
            c.title.removesuffix("(秒)") if c.kind == "seconds" else c.title for c in report.columns
        ]
        assert _headers(page) == expected, page_name
        drawn = [] if charts.is_empty(report.chart) else [s.name for s in report.chart.series]
        assert _legend(page) == drawn, page_name
    assert "邀约数" in _headers(_text(client.get(f"/reports/arrivals?{MARCH}")))


# --- the charts ------------------------------------------------------------------------------


def test_bars_one_per_value_with_escaped_names() -> None:
    chart = Chart(["Alice", "<b>Bob</b>"], [Series("通话量", [3, 5]), Series("接通", [1, None])])
    svg = ET.fromstring(str(charts.render(chart, title="t")))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 3  # None and zero draw nothing
    labels = [t.text for t in svg.iter(f"{SVG}text") if "x-label" in (t.get("class") or "")]
    assert labels == ["Alice", "<b>Bob</b>"]  # text, not markup
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == ["通话量", "接通"]
    heights = {b.find(f"{SVG}title").text: float(b.get("height")) for b in bars}
    assert heights["<b>Bob</b> · 通话量: 5"] > heights["Alice · 通话量: 3"]


def test_rates_get_a_percent_axis_and_a_long_run_of_days_a_line() -> None:
    days = [f"2026-03-{d:02d}" for d in range(1, 31)]
    chart = Chart(days, [Series("信息留存率", [0.5 + d / 100 for d in range(30)])])
    svg = ET.fromstring(str(charts.render(chart)))
    assert "chart-line" in svg.get("class", "")
    assert len(list(svg.iter(f"{SVG}polyline"))) == 1
    axis = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "y-label"]
    assert axis[-1].endswith("%")
    shown = [t for t in svg.iter(f"{SVG}text") if "x-label" in (t.get("class") or "")]
    assert len(shown) <= 16  # every other day is enough under the axis


def test_a_legend_too_wide_for_one_row_wraps_above_the_plot() -> None:
    english = "New,In contact,Invited,Arrived,Ordered,Delivered,Lost,Invalid,Duplicate,Dormant"
    for names, rows in ((english.split(","), 2), (list(labels.LEAD_STATUS.values()), 1)):
        svg = ET.fromstring(str(charts.render(Chart(["a"], [Series(n, [1]) for n in names]))))
        bar = next(r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar")
        swatches = [r for r in svg.iter(f"{SVG}rect") if r.get("class") != "bar"]
        spots = zip(swatches, names, strict=True)
        ends = [float(r.get("x")) + 16 + charts.text_width(n) for r, n in spots]
        assert max(ends) <= charts.DEFAULT.width - charts.DEFAULT.right
        assert len({r.get("y") for r in swatches}) == rows
        # the tallest bar starts right under the legend's last row
        assert float(bar.get("y")) == charts.DEFAULT.top + charts.LEGEND_ROW * (rows - 1)


def test_nothing_to_draw_and_round_ticks() -> None:
    assert str(charts.render(Chart([], []))) == ""
    assert str(charts.render(Chart(["a"], [Series("x", [0])]))) == ""
    assert charts.ticks(3, integers=True) == [0, 1, 2, 3]
    assert charts.ticks(17, integers=True) == [0, 5, 10, 15, 20]
    assert charts.ticks(0.37) == [0, 0.1, 0.2, 0.3, 0.4]
