"""The language scan: a page's readable text, the dealership's data taken out, and the words
that are not in the page's language. Used by the rendered-page scan and the browser scan."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from typing import Any

from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.leads import callbacks, intake, lifecycle, sources
from dcc.leads.models import Channel, LostReason
from dcc.users import service as users
from dcc.users.models import Team, User

ROLES = ("dcc_agent", "supervisor", "manager", "admin", "clerk", "consultant")
#: The dealership's data the pages show: it is in whatever language it was entered in.
DATA = [
    "王先生",
    "李女士",
    "凯美瑞 2.0G",
    "凯美瑞",
    "汉兰达",
    "张晓婷",
    "刘强",
    "周敏",
    "陈主管",
    "赵经理",
    "管理员",
    "汽车之家",
    "杭州",
    "一个月内",
    "二组",
    "预算不够，再看看",
    "autohome",
    "agent",
    "consultant",
    "clerk",
    "supervisor",
    "manager",
    "admin",
]
#: Words a Chinese page shows as they are: acronyms, units, the switch to English, codes.
ENGLISH_ALLOWED = {
    "DCC",
    "SMS",
    "API",
    "CSV",
    "Excel",
    "ID",
    "URL",
    "HTTP",
    "HTTPS",
    "JSON",
    "SLA",
    "VIN",
    "English",
    "Twilio",
    "RQ",
    "Redis",
    "Token",
    "ADF",
    "HMAC",
    "IP",
    "Bearer",
    "PM",
    "AM",
    "TOP",
    "KPI",
    "NPS",
    "OK",
    "PNG",
    "XLSX",
    "UTC",
    "QR",
    "SDK",
    "min",
    "s",
    "Erlang",
    "RAV",
    "Webhook",
}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
SKIP_TAGS = {"script", "style", "textarea", "code", "datalist"}
VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr"}


class Reader(HTMLParser):
    """The text a person reads on the page, without the parts marked as data."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        skip = tag in SKIP_TAGS or named.get("translate") == "no"
        if not skip and not self._skipping():
            for attribute in ("title", "placeholder", "aria-label", "alt", "data-confirm"):
                if named.get(attribute):
                    self.parts.append(named[attribute] or "")
            if tag == "input" and named.get("type") in ("submit", "button") and named.get("value"):
                self.parts.append(named["value"] or "")
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "script" and data.lstrip().startswith("{"):
            self.parts.extend(_strings(json.loads(data)))  # the labels the page's scripts show
        elif not self._skipping():
            self.parts.append(data)


def _strings(value: Any) -> list[str]:
    """Every string value of a JSON document (its keys are codes)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def readable(html: str, data: list[str]) -> str:
    reader = Reader()
    reader.feed(html)
    return without_data(" ".join(reader.parts), data)


def without_data(text: str, data: list[str]) -> str:
    """The text with the dealership's data taken out (an ASCII value as a whole word)."""
    for value in sorted(data, key=len, reverse=True):
        if value.isascii():
            text = re.sub(rf"\b{re.escape(value)}\b", " ", text)
        else:
            text = text.replace(value, " ")
    return text


def wrong_language(text: str, locale: str) -> list[str]:
    if locale == "en":
        text = text.replace("中文", " ")
        return sorted({m.group(0) for m in re.finditer(r"\S*" + CJK.pattern + r"\S*", text)})
    found = set()
    for match in WORD.finditer(text):
        word = match.group(0)
        if word not in ENGLISH_ALLOWED and not word.isupper() and not word.startswith("X-"):
            found.add(word)
    return sorted(found)


def seed_dealership(session: Session, password: str) -> dict[str, Any]:
    """A dealership with data on every page: users of every role, two leads, a visit booked,
    a lost request, a callback owed, an answered call, a lead source."""

    def user(login: str, role: str, **kw: Any) -> User:
        return users.create_user(session, login=login, role=role, password=password, **kw)

    team = Team(name="二组")
    session.add(team)
    session.flush()
    people = {
        "dcc_agent": user("agent", "dcc_agent", name="张晓婷", phone="13900000001"),
        "consultant": user("consultant", "consultant", name="刘强"),
        "clerk": user("clerk", "clerk", name="周敏"),
        "supervisor": user("supervisor", "supervisor", name="陈主管"),
        "manager": user("manager", "manager", name="赵经理"),
        "admin": user("admin", "admin", name="管理员"),
    }
    agent = people["dcc_agent"]
    agent.team_id = team.id
    sources.create(session, slug="autohome", name="汽车之家", channel="portal", secret="s" * 24)
    first = intake.receive(
        session,
        intake.LeadInput(
            phone="13800138000",
            channel=Channel.PORTAL,
            name="王先生",
            series="凯美瑞",
            model="凯美瑞 2.0G",
            purchase_timeframe="一个月内",
            owner_id=agent.id,
        ),
    ).lead
    second = intake.receive(
        session,
        intake.LeadInput(
            phone="13700137000",
            channel=Channel.HOTLINE,
            name="李女士",
            series="汉兰达",
            owner_id=agent.id,
        ),
    ).lead
    lifecycle.book_appointment(
        session,
        first,
        at=clock.now() + dt.timedelta(hours=3),
        consultant=people["consultant"],
        actor=agent,
    )
    lifecycle.request_lost(
        session, second, reason=LostReason.BUDGET, actor=agent, note="预算不够，再看看"
    )
    callbacks.owe(session, first, reason="missed_call", due_at=clock.now())
    call = Call(
        lead_id=first.id,
        customer_id=first.customer_id,
        agent_id=agent.id,
        direction=CallDirection.INBOUND,
        leg="customer",
        status=CallStatus.COMPLETED,
        from_number="+8613800138000",
        sid="CA" + "1" * 32,
        answered_at=clock.now(),
        ended_at=clock.now(),
        duration=120,
    )
    session.add(call)
    session.commit()
    return {
        "people": people,
        "lead_id": first.id,
        "customer_id": first.customer_id,
        "call_id": call.id,
        "user_id": agent.id,
    }


#: Endpoints that are not pages (streams, files, JSON, redirects only).
NOT_PAGES = ("stream", "recording", "voice_token", "export", "download", "static", "rq_dashboard")


def pages(app: Any, data: dict[str, Any]) -> list[str]:
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith("web_"):
            continue
        if any(word in rule.endpoint or word in rule.rule for word in NOT_PAGES):
            continue
        values = {}
        for argument in rule.arguments:
            if argument == "name":
                values[argument] = "funnel"
            elif argument in data:
                values[argument] = data[argument]
        if set(values) != set(rule.arguments):
            continue
        path = rule.build(values)[1]
        found.append(path)
    return sorted(set(found))
