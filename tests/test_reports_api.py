"""``/api/v1/reports``: roles, the JSON shape, and 422 naming the field for bad parameters."""

from __future__ import annotations

import pytest
from report_data import build

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture()
def world(session, staff):
    return build(session, staff)


def test_manager_gets_rows_totals_and_chart(client, staff, world) -> None:
    answer = client.get(
        f"/api/v1/reports/funnel?{MARCH}&group=agent", headers=staff.token(world.boss)
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) >= {"rows", "totals", "chart"}
    assert body["totals"]["leads"] == 10
    assert body["totals"]["invitation_rate"] == pytest.approx(6 / 9)
    assert {r["label"] for r in body["rows"]} == {"Alice", "Bob"}
    assert body["chart"]["labels"] == [r["label"] for r in body["rows"]]
    assert [s["name"] for s in body["chart"]["series"]][:2] == ["线索量", "有效线索"]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_read_reports(client, staff, world, role) -> None:
    auth = staff.token(staff.user(f"r-{role}", role))
    assert client.get(f"/api/v1/reports/daily_work?{MARCH}", headers=auth).status_code == 200
    assert client.get("/api/v1/reports", headers=auth).get_json()["reports"][0]["name"]


@pytest.mark.parametrize("role", ["dcc_agent", "consultant", "clerk"])
def test_other_roles_get_403(client, staff, world, role) -> None:
    auth = staff.token(staff.user(f"r-{role}", role))
    assert client.get(f"/api/v1/reports/funnel?{MARCH}", headers=auth).status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-31&to=2026-03-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("group=colour", "group"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, staff, world, query, field) -> None:
    answer = client.get(f"/api/v1/reports/funnel?{query}", headers=staff.token(world.boss))
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == field


def test_a_grouping_the_report_does_not_have_is_422(client, staff, world) -> None:
    answer = client.get(
        f"/api/v1/reports/daily_work?{MARCH}&group=model", headers=staff.token(world.boss)
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "group"


def test_unknown_report_is_404(client, staff, world) -> None:
    assert client.get("/api/v1/reports/nope", headers=staff.token(world.boss)).status_code == 404
