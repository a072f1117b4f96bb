"""The staffing planner's page, its JSON and Excel, the targets form and the rota editor, for
each role that may see them (403 for the others), in both languages.

The data is tests/staffing_data.py; the clock is frozen at its NOW (Monday 06:00 Shanghai).
"""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from staffing_data import NOW, SATURDAY, build
from web_support import PASSWORD, login, post

from dcc import clock
from dcc.audit import AuditEntry
from dcc.staffing import rota
from dcc.staffing.targets import Targets, save
from dcc.staffing.targets import load as load_targets
from dcc.users import service as users

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture()
def world(session, staff):
    world = build(session, staff)
    for user in (world.sup, world.boss, world.admin, world.alice):
        users.set_password(user, PASSWORD)
    clerk = staff.user("clerk", "clerk")
    consultant = staff.user("gu", "consultant", team="北区")
    for user in (clerk, consultant):
        users.set_password(user, PASSWORD)
    save(session, min_samples=5)
    session.commit()
    with clock.frozen(NOW):
        yield world


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _map(page: str, element_id: str) -> ET.Element:
    start = page.index(f'id="{element_id}"')
    start = page.rindex("<svg", 0, start)
    return ET.fromstring(page[start : page.index("</svg>", start) + 6])


def _cell(svg: ET.Element, day: int, slot: int) -> ET.Element:
    for rect in svg.iter(f"{SVG}rect"):
        if rect.get("data-day") == str(day) and rect.get("data-slot") == str(slot):
            return rect
    raise AssertionError(f"no cell {day}/{slot}")


@pytest.mark.parametrize("who", ["sup", "boss", "root"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_plan_page_shows_the_need_beside_the_rota(client, session, world, who, language):
    rota.set_days(session, None, {(world.alice.id, SATURDAY): rota.parse_day("10:00-10:30")})
    session.commit()
    login(client, who)
    if language == "en":
        post(client, "/locale/en")
    answer = client.get("/reports/staffing")
    assert answer.status_code == 200
    page = _text(answer)
    if language == "en":
        assert "Staffing plan" in page and "Required agents" in page
        assert "Agents on the rota" in page and "understaffed" in page
    else:
        assert "排班需求" in page and "所需坐席" in page and "人手不足" in page
    required = _map(page, "required-map")
    rostered = _map(page, "rota-map")
    # Saturday 10:00 needs three agents; the rota has alice alone: understaffed by two.
    assert _cell(required, SATURDAY, 20).get("data-value") == "3"
    saturday = _cell(rostered, SATURDAY, 20)
    assert saturday.get("data-value") == "1" and "under" in saturday.get("class", "")
    assert _cell(rostered, 0, 24).get("class") == "hm-cell"  # Monday noon: nothing, no one
    assert "under" in (_cell(rostered, 0, 18).get("class") or "")  # Monday 09:00: one call
    tips = [t.text or "" for t in required.iter(f"{SVG}title")]
    assert any("10:00" in tip and ": 3" in tip for tip in tips)
    # The inputs of the half hour are in the table.
    row = page.split('data-day="5" data-start="10:00"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    expected_web = "2" if who in ("sup", "boss") else "3"  # the south team's lead dealer-wide
    assert cells[1:5] == ["10:00-10:30", "6", expected_web, "260"]
    assert '<td class="int required">3</td>' in row and '<td class="int gap">-2</td>' in row
    assert "/api/v1/reports/staffing.xlsx" in page


@pytest.mark.parametrize("who", ["alice", "clerk", "gu"])
def test_other_roles_get_403_on_the_pages_and_the_api(client, staff, world, who) -> None:
    login(client, who)
    for path in ("/reports/staffing", "/reports/staffing/rota"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/reports/staffing/rota", {}).status_code == 403
    assert post(client, "/reports/staffing/targets", {"weeks": "2"}).status_code == 403
    user = users.get_by_login(staff.session, who)
    headers = staff.token(user)
    assert client.get("/api/v1/reports/staffing", headers=headers).status_code == 403
    assert client.get("/api/v1/reports/staffing.xlsx", headers=headers).status_code == 403


def test_the_json_has_every_half_hour_with_its_inputs(client, staff, world) -> None:
    body = client.get("/api/v1/reports/staffing", headers=staff.token(world.sup)).get_json()
    assert body["report"] == "staffing" and body["weeks"] == 4
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-03-02",
        "2026-03-30",
        "Asia/Shanghai",
    )
    assert len(body["slots"]) == 336 and len(body["required"]) == 7
    saturday = body["slots"][SATURDAY * 48 + 20]
    assert saturday["start"] == "10:00" and saturday["weekday"] == SATURDAY
    assert (saturday["calls"], saturday["web_leads"]) == (6.0, 2.0)
    assert (saturday["call_handle"], saturday["patience"]) == (260, 85)
    assert (saturday["required"], saturday["rostered"], saturday["under"]) == (3, 0, True)
    assert body["required"][SATURDAY][20] == 3
    assert body["targets"]["call_answer_share"] == 0.8
    assert body["measured"]["abandoned"] == 8
    one_week = client.get("/api/v1/reports/staffing?weeks=1", headers=staff.token(world.sup))
    assert one_week.get_json()["weeks"] == 1


@pytest.mark.parametrize("weeks", ["0", "13", "many"])
def test_a_bad_weeks_is_refused_naming_the_field(client, staff, world, weeks) -> None:
    answer = client.get(f"/api/v1/reports/staffing?weeks={weeks}", headers=staff.token(world.sup))
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "weeks"
    login(client, "sup")
    page = client.get(f"/reports/staffing?weeks={weeks}")
    assert page.status_code == 422 and "1 到 12" in _text(page)


def test_the_excel_export_holds_the_busy_half_hours_and_is_audited(client, staff, world) -> None:
    answer = client.get("/api/v1/reports/staffing.xlsx", headers=staff.token(world.sup))
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.data))
    sheet = book["排班需求分析"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("星期", "时段", "每周来电", "每周网络线索")
    saturday = next(r for r in rows if r[0] == "周六" and r[1] == "10:00-10:30")
    assert saturday[2:4] == (6, 2) and saturday[9] == 3
    assert rows[-1][0] == "合计"
    (entry,) = staff.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export.report")
    ).all()
    assert entry.details["report"] == "staffing" and entry.actor_id == world.sup.id


def test_a_supervisor_sets_the_targets_and_a_bad_one_changes_nothing(client, session, world):
    login(client, "sup")
    form = {
        "call_answer_share": "90",
        "call_answer_seconds": "15",
        "web_lead_share": "95",
        "web_lead_seconds": "60",
        "weeks": "2",
    }
    answer = post(client, "/reports/staffing/targets", form)
    assert answer.status_code == 302
    stored = load_targets(session)
    assert (stored.call_answer_share, stored.call_answer_seconds, stored.weeks) == (0.9, 15, 2)
    assert stored.web_lead_share == pytest.approx(0.95)
    page = _text(client.get("/reports/staffing"))
    assert 'name="call_answer_share" value="90"' in page
    post(client, "/locale/en")
    refused = post(client, "/reports/staffing/targets", {**form, "call_answer_share": "150"})
    assert refused.status_code == 422
    assert "Calls answered (%): a percent from 1 to 99.9." in html.unescape(_text(refused))
    assert load_targets(session).call_answer_share == 0.9
    assert load_targets(session) != Targets()


def test_the_rota_page_saves_the_week_and_refuses_a_bad_day(client, session, world) -> None:
    login(client, "sup")
    page = _text(client.get("/reports/staffing/rota"))
    assert 'data-agent="alice"' in page and 'data-agent="bob"' in page
    assert 'data-agent="carol"' not in page  # the south team is not the supervisor's
    assert 'id="suggested-shifts"' in page
    alice, bob = world.alice.id, world.bob.id
    form = {f"shift-{alice}-5": "08:00-12:00, 13:00-17:00", f"shift-{bob}-0": "09:00-18:00"}
    assert post(client, "/reports/staffing/rota", form).status_code == 302
    assert rota.week(session, [world.alice])[alice][SATURDAY] == [(480, 720), (780, 1020)]
    page = _text(client.get("/reports/staffing/rota"))
    assert f'name="shift-{alice}-5" value="08:00-12:00, 13:00-17:00"' in page
    # A bad day: nothing of the week is saved, and the message names the agent and the day.
    post(client, "/locale/en")
    bad = {**form, f"shift-{alice}-5": "08:00-12:00, 11:00-17:00", f"shift-{bob}-0": ""}
    refused = post(client, "/reports/staffing/rota", bad)
    assert refused.status_code == 422
    assert "Alice · Sat: two shifts of one day overlap" in html.unescape(_text(refused))
    assert rota.week(session, [world.bob])[bob][0] == [(540, 1080)]
    # The plan page now counts alice (inbound) on Saturday, not bob (outbound only) on Monday.
    body = _text(client.get("/reports/staffing"))
    assert _cell(_map(body, "rota-map"), SATURDAY, 20).get("data-value") == "1"
    assert _cell(_map(body, "rota-map"), 0, 18).get("data-value") == "0"


def test_a_posted_day_of_another_teams_agent_is_ignored(client, session, world) -> None:
    login(client, "sup")
    carol = world.carol.id
    answer = post(client, "/reports/staffing/rota", {f"shift-{carol}-0": "09:00-18:00"})
    assert answer.status_code == 302
    assert rota.week(session, [world.carol])[carol][0] == []
