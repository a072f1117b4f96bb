"""Excel exports: who may export, what the workbook holds, masking, the audit log, the cap."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from report_data import build
from sqlalchemy import select

from dcc.audit import AuditEntry
from dcc.reports import export

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture()
def world(session, staff):
    return build(session, staff)


def audits(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("export.%"))))


def sheet_rows(body: bytes, index: int = 0) -> list[tuple]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return list(book.worksheets[index].iter_rows(values_only=True))


def test_manager_exports_a_report_that_reads_back(client, session, staff, world) -> None:
    answer = client.get(f"/api/v1/reports/lost_stats.xlsx?{MARCH}", headers=staff.token(world.boss))
    assert answer.status_code == 200
    assert answer.mimetype == export.XLSX
    rows = sheet_rows(answer.data)
    assert rows[0][:4] == ("坐席", "战败数", "客观战败", "主观战败")
    assert rows[1][:4] == ("Bob", 2, 1, 1)
    assert rows[-1][0] == "合计" and rows[-1][1] == 2
    [entry] = audits(session)
    assert entry.actor_id == world.boss.id and entry.action == "export.report"
    assert entry.details == {
        "report": "lost_stats",
        "filters": {"from": "2026-03-01", "to": "2026-03-31", "group": "agent"},
        "rows": 1,
    }


def test_customer_export_shows_full_phones_to_a_manager(client, session, staff, world) -> None:
    answer = client.get(
        "/api/v1/customers/export.xlsx?status=lost", headers=staff.token(world.boss)
    )
    assert answer.status_code == 200
    rows = sheet_rows(answer.data)
    assert rows[0][:3] == ("客户编号", "客户姓名", "联系电话")
    phones = [r[2] for r in rows[1:]]
    assert len(phones) == 3  # bob's two March losses and his February one; not carol's
    assert all(p.startswith("+86138001") for p in phones)
    assert {r[9] for r in rows[1:]} == {"战败"}
    [entry] = audits(session)
    assert entry.details["rows"] == 3 and entry.details["filters"]["status"] == "lost"


def test_phones_are_masked_for_a_role_without_the_right(session, staff, world) -> None:
    consultant = staff.user("viewer", "consultant")
    world.leads[0].owner_id = consultant.id
    session.commit()
    body, count = export.customer_workbook(
        session, consultant, export.CustomerFilters(), timezone="Asia/Shanghai", max_rows=10
    )
    rows = sheet_rows(body)
    assert count == 1
    assert rows[1][2].startswith("138") and "****" in rows[1][2]


def test_an_agent_gets_403_and_nothing_is_logged(client, session, staff, world) -> None:
    for url in (f"/api/v1/reports/funnel.xlsx?{MARCH}", "/api/v1/customers/export.xlsx"):
        answer = client.get(url, headers=world.agent_token)
        assert answer.status_code == 403
        assert answer.mimetype == "application/json"
    assert audits(session) == []


def test_supervisors_export_reports_but_not_customers(client, session, staff, world) -> None:
    auth = staff.token(world.sup)
    assert client.get(f"/api/v1/reports/funnel.xlsx?{MARCH}", headers=auth).status_code == 200
    assert client.get("/api/v1/customers/export.xlsx", headers=auth).status_code == 403
    assert [e.details["report"] for e in audits(session)] == ["funnel"]


def test_exports_over_the_cap_are_refused_with_413(app, client, session, staff, world) -> None:
    from dataclasses import replace

    settings = app.extensions["dcc.settings"]
    app.extensions["dcc.settings"] = replace(settings, export_max_rows=2)
    answer = client.get("/api/v1/customers/export.xlsx", headers=staff.token(world.boss))
    assert answer.status_code == 413
    assert "at most 2" in answer.get_json()["error"]["message"]
    assert audits(session) == []


def test_every_report_exports(client, staff, world) -> None:
    from dcc import reports

    auth = staff.token(world.admin)
    for name in reports.REPORTS:
        answer = client.get(f"/api/v1/reports/{name}.xlsx?{MARCH}", headers=auth)
        assert answer.status_code == 200, name
        assert sheet_rows(answer.data)[0][0]
