"""One label table: every enumerated value has one Chinese and one English name, and the pages,
the reports, the Excel exports and the API all use that one name."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import enum
import importlib
import io
import pkgutil
import re

from openpyxl import load_workbook
from web_support import PASSWORD, login, post

import dcc
from dcc import clock, labels
from dcc.labels import Label
from dcc.leads import intake
from dcc.leads.models import Channel, Grade, LeadStatus
from dcc.reports.period import Group
from dcc.reports.result import Column
from dcc.users.models import Role

CJK = re.compile(r"[\u3400-\u9fff]")


def _model_enums() -> list[type[enum.Enum]]:
    """Every enum the models define (``dcc.<area>.models``), found by walking the package."""
    found = []
    for info in pkgutil.walk_packages(dcc.__path__, "dcc."):
        if not info.name.endswith(".models"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.Enum)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_enum_member_of_the_models_has_a_name_in_both_languages() -> None:
    enums = _model_enums()
    assert {Channel, Grade, LeadStatus, Role} <= set(enums)
    for kind in enums:
        table = labels.BY_ENUM.get(kind)
        assert table is not None, f"{kind.__name__} has no label table"
        for member in kind:
            name = table.get(member)
            assert isinstance(name, Label), member
            assert CJK.search(name.zh), (member, name.zh)
            assert name.en and not CJK.search(name.en), (member, name.en)
    for group in Group:  # how a report groups: not a column, but a value pages show
        assert labels.REPORT_GROUP[group].en


def test_every_label_of_every_table_has_both_names_and_one_name_per_value() -> None:
    for table_name, table in labels.TABLES.items():
        for code, name in table.items():
            assert isinstance(name, Label), (table_name, code)
            assert CJK.search(name.zh) and name.en and not CJK.search(name.en), (table_name, code)
        # two values of one table never share a name: a reader could not tell them apart
        assert len({n.zh for n in table.values()}) == len(table), table_name
        assert len({n.en for n in table.values()}) == len(table), table_name


def test_a_label_is_its_chinese_and_keeps_its_english_through_copies() -> None:
    name = labels.CHANNEL[Channel.HOTLINE]
    assert name == "400热线" and f"{name}" == "400热线" and name.en == "400 hotline"
    assert labels.in_language(name, "en") == "400 hotline"
    assert labels.in_language(name, "zh_Hans") == "400热线"
    assert labels.in_language("凯美瑞", "en") == "凯美瑞"  # the dealer's data stays as written
    column = dataclasses.asdict(Column("x", name))  # the report's JSON copies its columns
    assert column["title"].en == "400 hotline" and copy.deepcopy(name).en == "400 hotline"
    assert labels.label(Channel.HOTLINE, "channel") is name
    assert labels.label("hotline_400", "channel") is name
    assert labels.label("nonsense", "channel") == "nonsense"


def _lead(session, owner, **kw):
    lead = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", name="王先生", owner_id=owner.id, **kw),
    ).lead
    lead.grade = Grade.H
    lead.status = LeadStatus.CONTACTING
    session.commit()
    return lead


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def test_pages_reports_exports_and_the_api_use_the_one_name(client, session, staff) -> None:
    boss = staff.user("boss", "manager", password=PASSWORD, name="赵经理")
    alice = staff.user("alice", "dcc_agent", name="Alice", phone="13900000001")
    with clock.frozen(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)):  # 10:00 in Shanghai
        lead = _lead(session, alice, channel=Channel.PORTAL)
    names = [labels.CHANNEL[Channel.PORTAL], labels.GRADE[Grade.H]]
    names.append(labels.LEAD_STATUS[LeadStatus.CONTACTING])

    login(client, "boss")
    page = _text(client.get(f"/leads/{lead.id}"))
    assert all(n.zh in page for n in names)
    customers = _text(client.get("/manager/customers"))
    assert labels.CHANNEL[Channel.PORTAL].zh in customers
    assert labels.LEAD_STATUS[LeadStatus.CONTACTING].zh in customers

    token = staff.token(boss)
    workbook = client.get("/api/v1/customers/export.xlsx", headers=token)
    rows = list(load_workbook(io.BytesIO(workbook.data)).worksheets[0].iter_rows(values_only=True))
    assert all(n.zh in rows[1] for n in names)

    day = "from=2026-03-10&to=2026-03-10"
    report = client.get(f"/api/v1/reports/sources?{day}", headers=token)
    assert report.status_code == 200
    assert labels.CHANNEL[Channel.PORTAL].zh in [r["label"] for r in report.get_json()["rows"]]

    shown = client.get("/api/v1/labels", headers=token).get_json()
    assert shown["channel"]["portal"] == {"zh": "汽车网站", "en": "Car portal"}
    assert shown["lead_status"]["contacting"]["zh"] == labels.LEAD_STATUS[LeadStatus.CONTACTING]

    post(client, "/locale/en")
    page = _text(client.get(f"/leads/{lead.id}"))
    assert all(n.en in page for n in names) and not any(n.zh in page for n in names)


def test_the_customer_list_filters_name_their_options_in_the_readers_language(
    client, session, staff
) -> None:
    staff.user("boss", "manager", password=PASSWORD)
    login(client, "boss")
    chinese = _text(client.get("/manager/customers"))
    for name in (labels.GRADE[Grade.N], labels.LEAD_STATUS[LeadStatus.CONTACTING]):
        assert f">{name.zh}</option>" in chinese and f">{name.en}</option>" not in chinese
    assert f">{labels.CHANNEL[Channel.WALK_IN].zh}</option>" in chinese
    post(client, "/locale/en")
    english = _text(client.get("/manager/customers"))
    assert f">{labels.GRADE[Grade.N].en}</option>" in english
    assert f">{labels.CHANNEL[Channel.WALK_IN].en}</option>" in english
