"""Errors carry a code: every code has an English and a Chinese text, every refusal names one,
the API returns it with its parameters, and the pages translate by the code."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

import dcc
import webhooks
from dcc import clock
from dcc.errors import TEXTS, CallRefused, DCCError, ValidationError
from dcc.leads import intake
from dcc.leads.models import Channel, LeadStatus
from dcc.web import common
from dcc.web.messages import say

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "dcc" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _sources() -> list[Path]:
    return sorted([*(ROOT / "dcc").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")])


def _error_classes() -> set[str]:
    """The names of DCCError and every subclass, after importing every module that may
    define one."""
    for package in (dcc, webhooks):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # gunicorn's settings file switches metrics to multiprocess mode when imported.
            if ".migrations" not in info.name and info.name != "dcc.gunicorn_conf":
                importlib.import_module(info.name)
    found, todo = set(), [DCCError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def test_every_code_has_an_english_and_a_chinese_text_with_the_same_parameters() -> None:
    with open(CATALOG, "rb") as fh:
        chinese = {m.id: m.string for m in read_po(fh, locale="zh_Hans") if m.id}
    for code, english in TEXTS.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", code), code
        assert english and not CJK.search(english), code
        assert CJK.search(chinese.get(english) or ""), f"{code}: no Chinese for {english!r}"
        names = set(PLACEHOLDER.findall(english))
        assert set(PLACEHOLDER.findall(chinese[english])) == names, code
        assert "%" not in PLACEHOLDER.sub("", english), code  # named parameters only


def test_every_refusal_in_the_code_names_a_known_code_with_its_parameters() -> None:
    classes = _error_classes() | {"refuse"}  # refuse: a field rule's refusal (dcc.fields)
    raised: set[str] = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and _callee(node) in classes and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue  # a helper passing a code along (Rule.refuse, the API's schema)
            code, where = first.value, f"{path.relative_to(ROOT)}:{node.lineno}"
            assert code in TEXTS, f"{where}: unknown code {code!r}"
            given = {k.arg for k in node.keywords}
            if None not in given:  # no **params
                missing = set(PLACEHOLDER.findall(TEXTS[code])) - given
                assert not missing, f"{where}: {code} needs {missing}"
            raised.add(code)
    assert len(raised) > 80


def test_every_code_is_used_somewhere() -> None:
    used: set[str] = set()
    for path in _sources():
        if path.name == "errors.py" and path.parent.name == "dcc":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in TEXTS:
                used.add(node.value)
    assert sorted(set(TEXTS) - used) == []


def test_an_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(LookupError):
        DCCError("the lead is closed")


def test_the_error_carries_code_params_and_the_english_message() -> None:
    error = CallRefused("call.lead_closed", field="lead_id", lead=7, status=LeadStatus.LOST)
    assert error.to_dict() == {
        "code": "call.lead_closed",
        "message": "the lead is lost; it cannot be called",
        "field": "lead_id",
        "params": {"lead": 7, "status": "lost"},
    }
    problem = ValidationError("field.too_long", field="brand", max=60)
    assert problem.message == "brand: at most 60 characters" and problem.problem.startswith("at")


def test_pages_translate_by_code_never_by_the_english(app) -> None:
    error = CallRefused("call.lead_closed", field="lead_id", lead=7, status=LeadStatus.LOST)
    error.message = "something else entirely"  # the page does not read it
    hours = CallRefused(
        "call.outside_hours", field="lead_id", hours="08:00-21:00", timezone="Asia/Shanghai"
    )
    year = ValidationError("field.out_of_range", field="model_year", min=1950, max=2100)
    with app.test_request_context():
        with force_locale("zh_Hans"):
            assert say(error) == "线索状态为战败，不能呼叫"  # the status by its label
            assert say(hours) == "不在可外呼时间内（08:00-21:00 Asia/Shanghai）"
            assert say(year) == "年款：必须在 1950 到 2100 之间"  # the field by its name
            assert say(year, fields={"model_year": "车型年款"}).startswith("车型年款：")
        with force_locale("en"):
            assert say(error) == "the lead is Lost; it cannot be called"
            assert say(year) == "Model year: must be from 1950 to 2100"


def test_no_page_reads_an_errors_english_message() -> None:
    for path in (ROOT / "dcc" / "web").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        reads = [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "message"
        ]
        assert reads == [], f"{path.relative_to(ROOT)} reads .message at lines {reads}"
    assert not hasattr(common, "explain")  # the page's old search through the English


def _boss_token(staff) -> dict[str, str]:
    return staff.token(staff.user("boss", "manager"))


def test_the_api_answers_with_the_code_message_field_and_params(client, session, staff) -> None:
    auth = _boss_token(staff)
    long_brand = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "brand": "x" * 61}, headers=auth
    )
    assert long_brand.status_code == 422
    assert long_brand.get_json()["error"] == {
        "code": "field.too_long",
        "message": "brand: at most 60 characters",
        "field": "brand",
        "params": {"max": 60},
        "errors": {"brand": ["at most 60 characters"]},
        "codes": {"brand": "field.too_long"},
    }
    cases = {
        "field.required": {"name": "王先生"},
        "field.unknown": {"phone": "13800138000", "colour": "red"},
        "field.bad_choice": {"phone": "13800138000", "channel": "fax"},
        "field.not_integer": {"phone": "13800138000", "owner_id": "someone"},
        "field.invalid_phone": {"phone": "12345"},
    }
    for code, body in cases.items():
        answer = client.post("/api/v1/leads", json=body, headers=auth).get_json()["error"]
        assert answer["code"] == code, (code, answer)
        assert answer["message"].startswith(f"{answer['field']}: "), answer
    assert client.get("/api/v1/nothing-here", headers=auth).get_json()["error"]["code"] == (
        "request.not_found"
    )


def test_a_refused_call_says_why_by_code_and_parameters(client, session, staff) -> None:
    boss = staff.user("caller", "manager", phone="13900000009")
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.WEB, owner_id=boss.id)
    ).lead
    session.commit()
    with clock.frozen(dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)):  # 23:00 in Shanghai
        answer = client.post("/api/v1/calls", json={"lead_id": lead.id}, headers=staff.token(boss))
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "call.outside_hours" and error["field"] == "lead_id"
    assert error["params"] == {"hours": "08:00-21:00", "timezone": "Asia/Shanghai"}
    assert error["message"] == "outside calling hours (08:00-21:00 Asia/Shanghai)"
