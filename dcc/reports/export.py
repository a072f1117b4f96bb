"""Excel exports (EXCEL导出): any report, and the customer list, as an .xlsx workbook.

Exports are permission-controlled by the API (who may export what) and audit-logged there;
this module only builds workbooks. Phone numbers are masked unless the reader may see them
(:func:`dcc.access.phone_for`, the one rule of the pages, the API and the streams). Every text
cell is written as text: a value that Excel would read as a formula or a command (a lead named
``=HYPERLINK(...)``) is neutralised by :func:`as_text`. Workbooks are built in memory with
openpyxl's write-only mode (rows are streamed into the file, not kept as cell objects), which
stays small up to the configured row cap (``DCC_EXPORT_MAX_ROWS``, 100,000 by default).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from dcc import clock, labels
from dcc.access import phone_for
from dcc.customers.listing import CustomerSearch, latest_leads
from dcc.customers.models import Customer
from dcc.errors import DCCError
from dcc.leads.models import Lead
from dcc.reports.result import Column, Report
from dcc.users.models import User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"rate": "0.0%", "seconds": "0", "float": "0.00", "date": "yyyy-mm-dd", "int": "0"}
#: What makes a spreadsheet read a cell as a formula or a DDE command (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ExportTooLarge(DCCError):
    """More rows than an export may hold; narrow the filters (413)."""

    status_code = 413


def value(row: Any, key: str) -> Any:
    """``row.key``, following dots into dicts (``by_status.new``); None when absent."""
    current = row
    for part in key.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        else:
            current = getattr(current, part, None)
    return current


def as_text(value: Any) -> Any:
    """A cell value as Excel must show it: text that could start a formula is prefixed with a
    single quote (OWASP's advice), so it stays visible text in Excel, LibreOffice and any CSV
    saved from the workbook. Numbers, dates and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def report_workbook(report: Report[Any, Any], *, max_rows: int) -> bytes:
    """The report's table with Chinese headers and a totals line, and a sheet saying what it is."""
    if len(report.rows) > max_rows:
        raise ExportTooLarge("export.too_large", rows=len(report.rows), max=max_rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(report.title[:31])
    _header(sheet, report.columns)
    for row in report.rows:
        sheet.append(_cells(sheet, report.columns, row))
    totals = _cells(sheet, report.columns, report.totals)
    totals[0] = _bold(sheet, labels.TOTAL)
    sheet.append(totals)
    about = book.create_sheet("说明")
    about.append(["报表", as_text(report.title)])
    about.append(["期间", f"{report.period.start.isoformat()} 至 {report.period.end.isoformat()}"])
    about.append(["时区", report.period.timezone])
    about.append(["分组", labels.REPORT_GROUP[report.group] if report.group else labels.ALL])
    about.append(["导出时间", _local(clock.now(), report.period.timezone)])
    return _save(book)


def _header(sheet: WriteOnlyWorksheet, columns: Iterable[Column]) -> None:
    sheet.append([_bold(sheet, c.title) for c in columns])


def _bold(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=as_text(text))
    cell.font = Font(bold=True)
    return cell


def _cells(sheet: WriteOnlyWorksheet, columns: Iterable[Column], row: Any) -> list[Any]:
    cells: list[Any] = []
    for column in columns:
        raw = value(row, column.key)
        if column.kind == "text" or raw is None:
            cells.append(as_text(raw))
            continue
        cell = WriteOnlyCell(sheet, value=raw)
        cell.number_format = FORMATS[column.kind]
        cells.append(cell)
    return cells


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _local(moment: dt.datetime | None, timezone: str) -> dt.datetime | None:
    """Excel has no time zones: write the dealer's local wall time, without an offset."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


# --- the customer list (客户信息列表) ---------------------------------------------------------


CUSTOMER_HEADERS = [
    "客户编号",
    "客户姓名",
    "联系电话",
    "客户类型",
    "城市",
    "线索编号",
    "来源渠道",
    "意向车型",
    "意向级别",
    "线索状态",
    "负责人",
    "战败原因",
    "线索创建时间",
    "下次跟进",
]


def count_customers(
    session: Session, reader: User, criteria: CustomerSearch, *, region: str = "CN"
) -> int:
    latest = latest_leads(reader, criteria, region)
    return session.scalar(select(func.count()).select_from(latest)) or 0


def customer_workbook(
    session: Session,
    reader: User,
    criteria: CustomerSearch,
    *,
    timezone: str,
    max_rows: int,
    region: str = "CN",
) -> tuple[bytes, int]:
    """The customer list as a workbook, and how many customers it holds.

    Refuses with :class:`ExportTooLarge` before building anything when over ``max_rows``.
    """
    total = count_customers(session, reader, criteria, region=region)
    if total > max_rows:
        raise ExportTooLarge("export.too_large", rows=total, max=max_rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户信息列表")
    sheet.append([_bold(sheet, h) for h in CUSTOMER_HEADERS])
    for record in _customer_rows(session, latest_leads(reader, criteria, region), reader, timezone):
        sheet.append(record)
    return _save(book), total


def _customer_rows(
    session: Session, latest: Any, reader: User, timezone: str
) -> Iterator[list[Any]]:
    owner = aliased(User)
    stmt = (
        select(Customer, Lead, owner.name)
        .join(latest, latest.c.lead_id == Lead.id)
        .join(Customer, Customer.id == Lead.customer_id)
        .outerjoin(owner, owner.id == Lead.owner_id)
        .order_by(Customer.id)
        .execution_options(yield_per=1000)
    )
    for customer, lead, owner_name in session.execute(stmt):
        yield [
            customer.id,
            as_text(customer.name),
            # Normalised by the service (E.164 or masked): digits, never a formula.
            phone_for(reader, customer.phone, owner_id=lead.owner_id),
            labels.of(customer.kind),
            as_text(customer.city),
            lead.id,
            labels.of(lead.channel),
            as_text(lead.series or lead.model),
            labels.of(lead.grade),
            labels.of(lead.status),
            as_text(owner_name) or labels.UNASSIGNED,
            labels.of(lead.lost_reason) if lead.lost_reason else None,
            _local(lead.created_at, timezone),
            _local(lead.next_action_at, timezone),
        ]
